// What every worker thread is handed: the stop signal, the zone, the metrics (each worker
// registers its own counters), and later the forwarder. Owned by server::run().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "dnsd/admin/metrics.h"
#include "dnsd/server/decision.h"
#include "dnsd/zone/snapshot_holder.h"

namespace dnsd::server {

class TransferServer;

struct Shared {
  int stop_fd = -1;  // an eventfd, readable when the TCP server must return
  const zone::SnapshotHolder& holder;
  admin::Metrics& metrics;
  Policy policy;  // its forwarder is set once started; null: names not ours get REFUSED
  bool log_queries = false;
  TransferServer* transfers = nullptr;  // null: AXFR and IXFR get REFUSED
  // Set when the UDP workers must return. Each checks it after every recvmmsg; the server
  // then shuts their sockets down for reading, which ends a wait at once.
  std::atomic<bool> stopping{false};
};

inline uint64_t monotonicNs() noexcept {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace dnsd::server
