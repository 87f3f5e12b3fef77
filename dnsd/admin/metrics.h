// The process's metrics: per-worker query counters (summed on scrape) and the control plane's
// gauges and counters (zone, reloads, forwarding), rendered as Prometheus text under CoreDNS's
// metric names with the dnsd_ prefix.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "dnsd/admin/worker_counters.h"

namespace dnsd::admin {

// The control plane's values, copied under the lock and rendered outside it.
struct ControlPlaneValues {
  uint64_t zone_services = 0, zone_records = 0, zone_names = 0, zone_serial = 0;
  uint64_t reload_successes = 0, reload_failures = 0;
  uint64_t zone_builds = 0, zone_patches = 0;  // zones published whole, and as a patch
  double reload_last_success = 0;
  uint64_t forward_requests = 0, forward_failures = 0;
  uint64_t cache_hits = 0, cache_misses = 0;
  double forward_latency_sum = 0;
  uint64_t forward_latency_count = 0;
  uint64_t forward_coalesced = 0, cache_stale = 0, cache_prefetches = 0;
};

// The Kubernetes API source's figures, per watched resource (admin/ knows nothing of the
// API: the server copies them in).
struct KubernetesResource {
  std::string name;  // "services"
  uint64_t watch_restarts = 0, relists = 0, objects = 0;
  uint64_t added = 0, modified = 0, deleted = 0;
};

struct KubernetesValues {
  bool enabled = false;
  bool connected = false;
  double last_event_age = 0;  // seconds since the last event or bookmark
  uint64_t rejected = 0;
  std::vector<KubernetesResource> resources;
};

// Zone transfers out and NOTIFY (admin/ knows nothing of them: the server copies them in).
struct TransferValues {
  bool enabled = false;  // --transfer-to or --notify given
  // Transfers sent whole, by kind; then those answered with REFUSED (a client outside
  // --transfer-to, beyond --transfer-max), with another error rcode, or cut short.
  uint64_t axfr = 0, ixfr = 0, ixfr_as_axfr = 0, up_to_date = 0;
  uint64_t refused = 0, errors = 0, cut = 0;
  uint64_t notifies_sent = 0;
  uint64_t notifies_pending = 0;  // (zone, secondary) pairs not yet known to hold the serial
};

class Metrics {
 public:
  // `version` is the build_info label.
  explicit Metrics(std::string version = "unknown");
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // A worker's own counters, registered once at worker start; the address stays valid for
  // the life of this Metrics. Takes a lock: not for the hot path.
  WorkerCounters& registerWorker();

  // Control plane, from any thread.
  void setZone(uint64_t services, uint64_t records, uint64_t names, uint64_t serial);
  // A zone published: built whole, or (`patched`) the last one with API events applied.
  void reloadSucceeded(double unix_time, bool patched = false);
  void reloadFailed();
  // Absolute totals kept by the forwarder (they must only grow, as Prometheus counters).
  void setCacheStats(uint64_t coalesced, uint64_t stale, uint64_t prefetches);
  void setForwardStats(uint64_t requests, uint64_t failures, uint64_t cache_hits,
                       uint64_t cache_misses, double latency_seconds_sum, uint64_t latency_count);
  void setKubernetes(KubernetesValues values);
  void setTransfers(const TransferValues& values);
  // For callers without a WorkerCounters; a worker should use its own countAutopathHit().
  void countAutopathHit() noexcept { autopath_hits_.fetch_add(1, std::memory_order_relaxed); }

  // Prometheus text exposition format 0.0.4, every family with # HELP and # TYPE.
  std::string render() const;

 private:
  const std::string version_;
  mutable std::mutex mutex_;
  std::deque<WorkerCounters> workers_;  // a deque never moves its elements
  ControlPlaneValues control_;
  KubernetesValues kubernetes_;
  TransferValues transfers_;
  std::atomic<uint64_t> autopath_hits_{0};
};

}  // namespace dnsd::admin
