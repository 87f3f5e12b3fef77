// Where the Kubernetes API server is and how dnsd proves who it is: from a Pod's service
// account (--kubernetes) or from a kubeconfig file (--kubeconfig). Read once at startup;
// the bearer token alone is read again while running (bound tokens rotate).
#pragma once

#include <chrono>
#include <string>

#include "dnsd/base/result.h"

namespace dnsd::kube {

struct Credentials {
  std::string server;           // "https://10.96.0.1:443", no trailing slash
  std::string ca_file;          // PEM file; empty: ca_data, or the system's roots
  std::string ca_data;          // PEM text (certificate-authority-data, decoded)
  bool insecure = false;        // insecure-skip-tls-verify
  std::string tls_server_name;  // the name the server's certificate is checked against
  std::string token;            // a fixed bearer token
  std::string token_file;       // a bearer token re-read while running (wins over `token`)
  std::string cert_file, cert_data;  // client certificate (PEM)
  std::string key_file, key_data;    // its key (PEM)
  std::string origin;  // "in-cluster service account" or the kubeconfig's path, for messages
};

// The Pod's service account: $KUBERNETES_SERVICE_HOST and _PORT, and the files under
// `account_dir` (/var/run/secrets/kubernetes.io/serviceaccount).
base::Result<Credentials> inCluster(
    const std::string& account_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// The current context of a kubeconfig (kubernetes.io "kubeconfig (v1)"). Paths are taken
// relative to the file. Exec plugins, auth providers and basic auth are refused with the
// field named: dnsd runs no programs and keeps no passwords.
base::Result<Credentials> fromKubeconfig(const std::string& path);

// The bearer token, read from token_file at most once a `period` (client-go's cached token
// source re-reads every minute), or at once after reload().
class TokenSource {
 public:
  explicit TokenSource(const Credentials& credentials,
                       std::chrono::seconds period = std::chrono::seconds(60));
  // Empty when there is no token; on a read error, the last token read.
  const std::string& get();
  void reload() { read_at_ = {}; }  // after a 401: the kubelet may have rotated the file

 private:
  std::string fixed_, file_, token_;
  std::chrono::seconds period_;
  std::chrono::steady_clock::time_point read_at_{};
};

}  // namespace dnsd::kube
