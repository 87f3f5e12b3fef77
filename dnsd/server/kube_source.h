// The Kubernetes API as a source of the zone (--kubernetes, --kubeconfig): the client that
// lists and watches, the store it fills, and what the server asks of them: the objects to
// build from, whether they are whole yet, and the figures for /metrics.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include "dnsd/admin/metrics.h"
#include "dnsd/base/result.h"
#include "dnsd/cluster/objects.h"
#include "dnsd/kube/client.h"
#include "dnsd/kube/store.h"
#include "dnsd/server/config.h"

namespace dnsd::server {

struct ApiObjects;

class KubeSource {
 public:
  // Reads the credentials (a bad kubeconfig fails here, before anything is served).
  static base::Result<std::unique_ptr<KubeSource>> create(const Config& config);

  // `changed` runs on the client's thread after each change; it must return quickly.
  base::Status start(std::function<void()> changed);
  bool synced() const { return client_ && client_->synced(); }
  bool waitSynced(std::chrono::milliseconds timeout) { return client_->waitSynced(timeout); }
  cluster::Inputs inputs() const { return store_.inputs(); }
  // The same, forgetting the changes it holds; the changes since the last take.
  cluster::Inputs takeInputs() { return store_.takeInputs(); }
  kube::Store::Changes takeChanges() { return store_.takeChanges(); }
  std::pair<size_t, size_t> changedServices() const { return store_.changedServices(); }
  // Before the heap is trimmed after a quiet spell (kube::Store::compactIfChurned).
  bool compactStore() { return store_.compactIfChurned(); }
  // From the callback given to start() only (kube::Client::recallAt).
  void recallAt(std::chrono::steady_clock::time_point when) { client_->recallAt(when); }
  admin::KubernetesValues values() const;
  std::string server() const { return options_.credentials.server; }

 private:
  explicit KubeSource(kube::Options options) : options_(std::move(options)) {}
  kube::Options options_;
  kube::Store store_;
  std::unique_ptr<kube::Client> client_;
};

// Every resource listed once, for `dnsd records` and `dnsd check`: fails when the lists are
// not in within the sync timeout.
base::Result<ApiObjects> listOnce(const Config& config);

}  // namespace dnsd::server
