// kubeconfig reading: the current context's server and credentials, paths relative to the
// file, *-data fields decoded, and the authentication dnsd does not do refused by name.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "dnsd/kube/credentials.h"

namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("dnsd-kubeconfig-" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

std::string kubeconfig(const std::string& user) {
  return R"(apiVersion: v1
kind: Config
current-context: test
contexts:
- name: other
  context: {cluster: other, user: other}
- name: test
  context: {cluster: c1, user: u1, namespace: default}
clusters:
- name: other
  cluster: {server: "https://10.0.0.9:6443"}
- name: c1
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority: certs/ca.crt
    tls-server-name: kubernetes.default
users:
- name: u1
  user:
)" + user;
}

}  // namespace

TEST_CASE("the current context's cluster and user") {
  TempDir dir;
  auto path = dir.write("config", kubeconfig("    tokenFile: token\n"));
  auto c = dnsd::kube::fromKubeconfig(path);
  REQUIRE(c.ok());
  CHECK(c->server == "https://127.0.0.1:6443");
  CHECK(c->ca_file == (dir.path / "certs/ca.crt").string());
  CHECK(c->tls_server_name == "kubernetes.default");
  CHECK(c->token_file == (dir.path / "token").string());
  CHECK(!c->insecure);
}

TEST_CASE("data fields are base64 PEM") {
  TempDir dir;
  // "PEM\n" in base64
  auto path = dir.write("config", kubeconfig("    client-certificate-data: UEVNCg==\n"
                                             "    client-key-data: S0VZ\n"));
  auto c = dnsd::kube::fromKubeconfig(path);
  REQUIRE(c.ok());
  CHECK(c->cert_data == "PEM\n");
  CHECK(c->key_data == "KEY");
  auto broken = dnsd::kube::fromKubeconfig(
      dir.write("bad", kubeconfig("    client-certificate-data: '%%%'\n    client-key-data: S0VZ\n")));
  REQUIRE(!broken.ok());
  CHECK(broken.error().message.find("client-certificate-data") != std::string::npos);
}

TEST_CASE("exec plugins, auth providers and passwords are refused by name") {
  TempDir dir;
  for (const char* field : {"exec", "auth-provider", "username"}) {
    auto path = dir.write("config", kubeconfig(std::string("    ") + field + ": {x: y}\n"));
    auto c = dnsd::kube::fromKubeconfig(path);
    REQUIRE(!c.ok());
    CHECK(c.error().message.find(field) != std::string::npos);
    CHECK(c.error().where == path);
  }
  auto no_context = dnsd::kube::fromKubeconfig(dir.write("empty", "apiVersion: v1\nkind: Config\n"));
  REQUIRE(!no_context.ok());
  CHECK(no_context.error().message.find("current-context") != std::string::npos);
}

TEST_CASE("in a Pod: the service's address, bracketed for IPv6, and the account's files") {
  TempDir dir;
  dir.write("ca.crt", "CA");
  dir.write("token", "t1\n");
  setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto c = dnsd::kube::inCluster(dir.path.string());
  REQUIRE(c.ok());
  CHECK(c->server == "https://[fd00::1]:443");
  dnsd::kube::TokenSource tokens(*c, std::chrono::seconds(60));
  CHECK(tokens.get() == "t1");
  // A rotated token is read again after a 401, not before the period.
  dir.write("token", "t2\n");
  CHECK(tokens.get() == "t1");
  tokens.reload();
  CHECK(tokens.get() == "t2");
  unsetenv("KUBERNETES_SERVICE_HOST");
  CHECK(!dnsd::kube::inCluster(dir.path.string()).ok());
}
