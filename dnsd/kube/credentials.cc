#include "dnsd/kube/credentials.h"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <optional>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace dnsd::kube {
namespace {

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

std::optional<std::string> base64(const std::string& text) {
  std::string in;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) in += c;
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding's zero bytes.
  size_t pad = in.ends_with("==") ? 2 : in.ends_with("=") ? 1 : 0;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

// The named entry of a kubeconfig list (`clusters`, `users`, `contexts`): its `field` map.
YAML::Node named(const YAML::Node& root, const char* list, const std::string& name,
                 const char* field) {
  const YAML::Node entries = root[list];
  if (entries.IsSequence())
    for (const YAML::Node& entry : entries)
      if (entry["name"] && entry["name"].as<std::string>() == name) return entry[field];
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string text(const YAML::Node& map, const char* key) {
  const YAML::Node value = map[key];
  return value && value.IsScalar() ? value.as<std::string>() : std::string();
}

class KubeconfigReader {
 public:
  explicit KubeconfigReader(const std::string& path)
      : path_(path), dir_(std::filesystem::path(path).parent_path()) {}

  base::Result<Credentials> read() {
    YAML::Node root;
    try {
      root = YAML::LoadFile(path_);
    } catch (const YAML::Exception& e) {
      return fail(e.what());
    }
    if (!root.IsMap()) return fail("not a kubeconfig (no map at the top)");
    const std::string context_name = text(root, "current-context");
    if (context_name.empty()) return fail("no current-context");
    const YAML::Node context = named(root, "contexts", context_name, "context");
    if (!context.IsMap()) return fail("current-context \"" + context_name + "\" is not in contexts");
    const std::string cluster_name = text(context, "cluster");
    const YAML::Node cluster = named(root, "clusters", cluster_name, "cluster");
    if (!cluster.IsMap()) return fail("cluster \"" + cluster_name + "\" is not in clusters");
    Credentials c;
    c.origin = path_;
    if (auto status = readCluster(cluster, c); !status) return status.error();
    const std::string user_name = text(context, "user");
    if (!user_name.empty()) {
      const YAML::Node user = named(root, "users", user_name, "user");
      if (!user.IsMap()) return fail("user \"" + user_name + "\" is not in users");
      if (auto status = readUser(user, c); !status) return status.error();
    }
    return c;
  }

 private:
  base::Error fail(const std::string& message) const { return base::Error{message, path_}; }

  std::string resolve(const std::string& file) const {
    if (file.empty() || std::filesystem::path(file).is_absolute()) return file;
    return (dir_ / file).string();
  }

  // `key` as a path, or `key`-data as base64 PEM.
  base::Status fileOrData(const YAML::Node& map, const std::string& key, std::string& file,
                          std::string& data) const {
    file = resolve(text(map, key.c_str()));
    const std::string encoded = text(map, (key + "-data").c_str());
    if (encoded.empty()) return base::Ok{};
    auto decoded = base64(encoded);
    if (!decoded) return fail(key + "-data is not base64");
    data = *decoded;
    return base::Ok{};
  }

  base::Status readCluster(const YAML::Node& cluster, Credentials& c) const {
    c.server = text(cluster, "server");
    while (c.server.ends_with('/')) c.server.pop_back();
    if (!c.server.starts_with("https://") && !c.server.starts_with("http://"))
      return fail("cluster server \"" + c.server + "\" is not an http(s) URL");
    if (cluster["proxy-url"]) return fail("cluster proxy-url is not supported");
    c.insecure = text(cluster, "insecure-skip-tls-verify") == "true";
    c.tls_server_name = text(cluster, "tls-server-name");
    return fileOrData(cluster, "certificate-authority", c.ca_file, c.ca_data);
  }

  base::Status readUser(const YAML::Node& user, Credentials& c) const {
    for (const char* refused : {"exec", "auth-provider", "username", "password", "as",
                                "as-groups", "as-uid"})
      if (user[refused])
        return fail(std::string("user field \"") + refused +
                    "\" is not supported: give dnsd a token, tokenFile or client certificate");
    c.token = text(user, "token");
    c.token_file = resolve(text(user, "tokenFile"));
    if (auto s = fileOrData(user, "client-certificate", c.cert_file, c.cert_data); !s) return s;
    if (auto s = fileOrData(user, "client-key", c.key_file, c.key_data); !s) return s;
    const bool cert = !c.cert_file.empty() || !c.cert_data.empty();
    const bool key = !c.key_file.empty() || !c.key_data.empty();
    if (cert != key) return fail("a client certificate needs its key, and a key its certificate");
    return base::Ok{};
  }

  std::string path_;
  std::filesystem::path dir_;
};

}  // namespace

base::Result<Credentials> inCluster(const std::string& account_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port)
    return base::Error{"--kubernetes: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are "
                       "not set; is dnsd running in a Pod? (else give --kubeconfig)", ""};
  Credentials c;
  const std::string h = host;
  c.server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  c.ca_file = account_dir + "/ca.crt";
  c.token_file = account_dir + "/token";
  c.origin = "in-cluster service account";
  if (!readFile(c.ca_file)) return base::Error{"--kubernetes: cannot read", c.ca_file};
  if (!readFile(c.token_file)) return base::Error{"--kubernetes: cannot read", c.token_file};
  return c;
}

base::Result<Credentials> fromKubeconfig(const std::string& path) {
  return KubeconfigReader(path).read();
}

TokenSource::TokenSource(const Credentials& credentials, std::chrono::seconds period)
    : fixed_(credentials.token), file_(credentials.token_file), token_(fixed_), period_(period) {}

const std::string& TokenSource::get() {
  if (file_.empty()) return token_;
  const auto now = std::chrono::steady_clock::now();
  if (read_at_ != std::chrono::steady_clock::time_point{} && now - read_at_ < period_)
    return token_;
  read_at_ = now;
  if (auto text = readFile(file_)) token_ = trimmed(*text);
  return token_;
}

}  // namespace dnsd::kube
