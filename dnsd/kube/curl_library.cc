#include "dnsd/kube/curl_library.h"

#include <dlfcn.h>

#include <string>

namespace dnsd::kube {

namespace {

// The soname of the libcurl whose headers the client was built with: its ABI has not
// changed since libcurl 7.16, so the version in the name is still 4.
constexpr const char* kSoname = "libcurl.so.4";

base::Result<const CurlLibrary*> load() {
  void* handle = ::dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return base::Error{std::string("kubernetes: cannot load ") + kSoname + " (" +
                           (why ? why : "unknown error") + "): install libcurl",
                       ""};
  }
  static CurlLibrary library;
  std::string missing;
  auto bind = [&](auto& function, const char* name) {
    function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(::dlsym(handle, name));
    if (!function) missing += (missing.empty() ? "" : ", ") + std::string(name);
  };
  bind(library.global_init, "curl_global_init");
  bind(library.easy_init, "curl_easy_init");
  bind(library.easy_setopt, "curl_easy_setopt");
  bind(library.easy_getinfo, "curl_easy_getinfo");
  bind(library.easy_cleanup, "curl_easy_cleanup");
  bind(library.easy_escape, "curl_easy_escape");
  bind(library.easy_strerror, "curl_easy_strerror");
  bind(library.free, "curl_free");
  bind(library.slist_append, "curl_slist_append");
  bind(library.slist_free_all, "curl_slist_free_all");
  bind(library.multi_init, "curl_multi_init");
  bind(library.multi_setopt, "curl_multi_setopt");
  bind(library.multi_add_handle, "curl_multi_add_handle");
  bind(library.multi_remove_handle, "curl_multi_remove_handle");
  bind(library.multi_assign, "curl_multi_assign");
  bind(library.multi_socket_action, "curl_multi_socket_action");
  bind(library.multi_info_read, "curl_multi_info_read");
  bind(library.multi_cleanup, "curl_multi_cleanup");
  if (!missing.empty())
    return base::Error{std::string("kubernetes: ") + kSoname + " lacks " + missing, ""};
  if (library.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return base::Error{"kubernetes: libcurl failed to start", ""};
  return &library;
}

}  // namespace

base::Result<const CurlLibrary*> loadCurl() {
  static const base::Result<const CurlLibrary*> loaded = load();
  return loaded;
}

}  // namespace dnsd::kube
