// libcurl, loaded when a Kubernetes API client first starts rather than linked: loading it
// at startup brings in its TLS, LDAP, Kerberos and SSH libraries, and their constructors,
// a few MiB resident in every dnsd, including those that never talk to an API server.
#pragma once

#include <curl/curl.h>

#include "dnsd/base/result.h"

namespace dnsd::kube {

// The libcurl functions the client calls, with libcurl's own signatures.
struct CurlLibrary {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_escape) easy_escape;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_free) free;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  decltype(&::curl_multi_init) multi_init;
  decltype(&::curl_multi_setopt) multi_setopt;
  decltype(&::curl_multi_add_handle) multi_add_handle;
  decltype(&::curl_multi_remove_handle) multi_remove_handle;
  decltype(&::curl_multi_assign) multi_assign;
  decltype(&::curl_multi_socket_action) multi_socket_action;
  decltype(&::curl_multi_info_read) multi_info_read;
  decltype(&::curl_multi_cleanup) multi_cleanup;
};

// Loads libcurl and runs curl_global_init() once per process, from whichever thread calls
// first; later calls return the same table, or the same error. Never unloaded.
base::Result<const CurlLibrary*> loadCurl();

}  // namespace dnsd::kube
