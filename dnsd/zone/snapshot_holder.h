// Publishes snapshots to the workers. Publishing swaps one pointer under a mutex and bumps an
// atomic generation; readers compare the generation per batch and touch the shared pointer
// (and the mutex) only when it changed, so a reload costs the hot path nothing
// (dnsdist sholder.hh; g++ 12's atomic<shared_ptr> is not lock-free).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "dnsd/zone/snapshot.h"

namespace dnsd::zone {

class SnapshotHolder {
 public:
  void publish(std::shared_ptr<const Snapshot> snapshot) {
    std::lock_guard lock(mutex_);
    snapshot_ = std::move(snapshot);
    generation_.fetch_add(1, std::memory_order_release);
  }
  uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const Snapshot> get() const {
    std::lock_guard lock(mutex_);
    return snapshot_;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::atomic<uint64_t> generation_{0};
};

// A worker's view: the snapshot it answers from, refreshed only when the generation moved.
// The old snapshot is freed when the last worker lets go of it.
class SnapshotReader {
 public:
  explicit SnapshotReader(const SnapshotHolder& holder) : holder_(holder) {}
  const Snapshot* current() {
    uint64_t g = holder_.generation();
    if (g != generation_) {
      snapshot_ = holder_.get();
      generation_ = g;
    }
    return snapshot_.get();
  }

 private:
  const SnapshotHolder& holder_;
  uint64_t generation_ = 0;
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace dnsd::zone
