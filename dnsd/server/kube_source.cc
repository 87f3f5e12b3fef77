#include "dnsd/server/kube_source.h"

#include <chrono>

#include "dnsd/server/loader.h"

namespace dnsd::server {

base::Result<std::unique_ptr<KubeSource>> KubeSource::create(const Config& config) {
  auto credentials = config.kube.kubeconfig.empty() ? kube::inCluster()
                                                    : kube::fromKubeconfig(config.kube.kubeconfig);
  if (!credentials) return credentials.error();
  kube::Options options;
  options.credentials = std::move(*credentials);
  options.namespaces = config.kube.namespaces;
  options.label_selector = config.kube.labels;
  // Watching every Pod is the costliest thing a cluster DNS does: only when a feature reads
  // Pods (their addresses for verified Pod names and autopath's client table).
  options.pods = config.pods == "verified" || config.autopath;
  options.idle_timeout = std::chrono::seconds(config.kube.idle_timeout_s);
  return std::unique_ptr<KubeSource>(new KubeSource(std::move(options)));
}

base::Status KubeSource::start(std::function<void()> changed) {
  client_ = std::make_unique<kube::Client>(options_, store_, std::move(changed));
  return client_->start();
}

admin::KubernetesValues KubeSource::values() const {
  admin::KubernetesValues v;
  v.enabled = true;
  if (!client_) return v;
  const kube::Stats& stats = client_->stats();
  v.connected = stats.connected;
  const int64_t last = stats.last_event_ns;
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  v.last_event_age = last == 0 ? 0 : static_cast<double>(now - last) / 1e9;
  for (kube::Resource r : client_->resources()) {
    const kube::ResourceStats& s = stats.resources[static_cast<size_t>(r)];
    v.rejected += s.rejected;
    v.resources.push_back({kube::nameOf(r), s.watch_restarts, s.relists, store_.count(r),
                           s.events[0], s.events[1], s.events[2]});
  }
  return v;
}

base::Result<ApiObjects> listOnce(const Config& config) {
  auto source = KubeSource::create(config);
  if (!source) return source.error();
  if (auto started = (*source)->start([] {}); !started) return started.error();
  if (!(*source)->waitSynced(std::chrono::seconds(config.kube.sync_timeout_s)))
    return base::Error{"kubernetes: not every resource was listed within " +
                           std::to_string(config.kube.sync_timeout_s) +
                           " s (--kube-sync-timeout); the log above says why", ""};
  return ApiObjects{(*source)->inputs(), true};
}

}  // namespace dnsd::server
