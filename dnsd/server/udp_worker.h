// A UDP worker: its own socket (one of a listen address's SO_REUSEPORT group), its own
// buffers, batches of recvmmsg/sendmmsg, and its own view of the snapshot. Nothing is shared
// with other workers.
//
// It waits in recvmmsg itself, not in epoll: a socket in an epoll set has a waiter on its
// wait queue, and the kernel then wakes that queue, under a lock taken with interrupts off,
// for every datagram that arrives and for every answer sent (sock_wfree): a visible share
// of a worker's CPU at saturation (docs/benchmarks.md).
#pragma once

#include <sys/socket.h>

#include <array>

#include "dnsd/admin/worker_counters.h"
#include "dnsd/server/handler.h"
#include "dnsd/server/shared.h"
#include "dnsd/zone/snapshot_holder.h"

namespace dnsd::server {

class UdpWorker {
 public:
  static constexpr int kBatch = 32;
  static constexpr size_t kMaxQuery = 4096;
  static constexpr size_t kMaxResponse = wire::kEdnsUdpSize;

  UdpWorker(int fd, const Shared& shared);
  // Returns once Shared::stopping is set. server::run() then shuts the socket down for
  // reading, which ends a wait in recvmmsg at once.
  void run();

 private:
  void answerBatch(int got);
  void parseBatch(int got, const zone::Snapshot* snapshot) noexcept;

  Decision answerOne(int i, uint8_t* out, const zone::Snapshot* snapshot) noexcept;

  int fd_;  // owned by server::run(), which closes it after the forwarder
  const Shared& shared_;
  zone::SnapshotReader snapshot_;
  admin::WorkerCounters& counters_;
  Handler handler_{shared_.policy};
  // Buffers are reused for every batch: answering allocates nothing.
  std::array<mmsghdr, kBatch> in_msgs_{};
  std::array<mmsghdr, kBatch> out_msgs_{};
  std::array<iovec, kBatch> in_iov_{};
  std::array<iovec, kBatch> out_iov_{};
  std::array<sockaddr_storage, kBatch> peers_{};
  std::array<std::array<uint8_t, kMaxQuery>, kBatch> in_{};
  // The batch parsed (parseBatch): answerable_[i] false for a datagram not answered at all.
  std::array<wire::QueryView, kBatch> queries_{};
  std::array<wire::ParseStatus, kBatch> status_{};
  std::array<bool, kBatch> answerable_{};
  // Response k answers datagram sent_from_[k], with rcode sent_rcode_[k].
  std::array<uint8_t, kBatch> sent_from_{};
  std::array<uint8_t, kBatch> sent_rcode_{};
  std::array<std::array<uint8_t, kMaxResponse>, kBatch> out_{};
};

}  // namespace dnsd::server
