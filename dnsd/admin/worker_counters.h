// Per-worker query counters for the hot path: one WorkerCounters per worker thread, bumped
// with relaxed atomics (no lock, no allocation, no formatting), summed by Metrics on scrape.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dnsd::admin {

enum class Proto : uint8_t { Udp, Tcp };
inline constexpr std::array<std::string_view, 2> kProtoNames = {"udp", "tcp"};

// The type label, as CoreDNS's: the common query types by name, everything else "other".
inline constexpr std::array<std::string_view, 10> kTypeNames = {
    "A", "AAAA", "SRV", "PTR", "CNAME", "TXT", "SOA", "NS", "ANY", "other"};
inline constexpr std::array<uint16_t, 9> kTypeCodes = {1, 28, 33, 12, 5, 16, 6, 2, 255};
static_assert(kTypeCodes.size() + 1 == kTypeNames.size());

constexpr size_t typeBucket(uint16_t qtype) noexcept {
  for (size_t i = 0; i < kTypeCodes.size(); ++i) {
    if (kTypeCodes[i] == qtype) return i;
  }
  return kTypeCodes.size();  // other
}

// Rcodes 0..23 (RFC 6895 §2.3, extended rcodes included) each get a bucket; the rest "other".
inline constexpr size_t kRcodeBuckets = 25;
constexpr size_t rcodeBucket(uint8_t rcode) noexcept {
  return rcode < kRcodeBuckets - 1 ? rcode : kRcodeBuckets - 1;
}

// Request duration buckets, as CoreDNS's: 250 µs · 2^k for k = 0..15 (0.00025 s .. 8.192 s),
// then +Inf. Prometheus buckets are "value <= le", so the bucket is the smallest k with
// duration <= 250 µs · 2^k: bit_width(ceil(duration / 250 µs) - 1). No loop, no float.
inline constexpr uint64_t kDurationUnitNs = 250'000;
inline constexpr size_t kDurationBounds = 16;
constexpr size_t durationBucket(uint64_t duration_ns) noexcept {
  uint64_t units = duration_ns / kDurationUnitNs + (duration_ns % kDurationUnitNs != 0);
  size_t k = units <= 1 ? 0 : static_cast<size_t>(std::bit_width(units - 1));
  return std::min(k, kDurationBounds);  // kDurationBounds is the +Inf bucket
}

// Request and response size buckets in bytes, as CoreDNS's (8291 included), then +Inf.
inline constexpr std::array<size_t, 14> kSizeBounds = {
    0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16000, 32000, 48000, 64000};
constexpr size_t sizeBucket(size_t bytes) noexcept {
  // Nearly every message is at most 511 bytes: its bucket by arithmetic, not a search,
  // which showed in a query's instruction count.
  static_assert(kSizeBounds[1] == 100 && kSizeBounds[4] == 400 && kSizeBounds[5] == 511);
  if (bytes <= 400) return (bytes + 99) / 100;
  if (bytes <= 511) return 5;
  return static_cast<size_t>(std::lower_bound(kSizeBounds.begin(), kSizeBounds.end(), bytes) -
                             kSizeBounds.begin());
}

// Plain sums read from the workers at scrape time; buckets are per bucket, not cumulative.
template <size_t N>
struct HistogramTotals {
  std::array<uint64_t, N> buckets{};  // the last one is +Inf
  uint64_t sum = 0;                   // nanoseconds or bytes
  uint64_t count() const {
    uint64_t total = 0;
    for (uint64_t bucket : buckets) total += bucket;
    return total;
  }
};

struct CounterTotals {
  std::array<std::array<uint64_t, kTypeNames.size()>, kProtoNames.size()> requests{};
  std::array<uint64_t, kRcodeBuckets> responses{};
  HistogramTotals<kDurationBounds + 1> duration;
  HistogramTotals<kSizeBounds.size() + 1> request_size;
  HistogramTotals<kSizeBounds.size() + 1> response_size;
  uint64_t autopath_hits = 0;
};

// Owned by one worker thread, which alone writes it; any thread may read it (addTo).
// Aligned to a cache line so two workers' counters never share one.
class alignas(64) WorkerCounters {
 public:
  WorkerCounters() = default;
  WorkerCounters(const WorkerCounters&) = delete;
  WorkerCounters& operator=(const WorkerCounters&) = delete;

  // One answered (or forwarded) query. Call only from the owning thread.
  void countRequest(Proto proto, uint16_t qtype, uint8_t rcode, size_t request_size,
                    size_t response_size, uint64_t duration_ns) noexcept {
    bump(requests_[static_cast<size_t>(proto)][typeBucket(qtype)]);
    bump(responses_[rcodeBucket(rcode)]);
    duration_.observe(durationBucket(duration_ns), duration_ns);
    request_size_.observe(sizeBucket(request_size), request_size);
    response_size_.observe(sizeBucket(response_size), response_size);
  }
  void countAutopathHit() noexcept { bump(autopath_hits_); }
  // A query handed to the forwarder: a request now; its response is the forwarder's
  // (dnsd_forward_* metrics).
  void countForwarded(Proto proto, uint16_t qtype) noexcept {
    bump(requests_[static_cast<size_t>(proto)][typeBucket(qtype)]);
  }

  // Adds this worker's counts to `totals`; safe from any thread while the owner counts.
  void addTo(CounterTotals& totals) const noexcept;

 private:
  using Counter = std::atomic<uint64_t>;

  // Single writer: a relaxed load and store needs no locked read-modify-write, and a reader
  // sees a value at most one increment old, never a torn one.
  static void bump(Counter& counter, uint64_t by = 1) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  template <size_t N>
  struct Histogram {
    std::array<Counter, N> buckets{};
    Counter sum{0};
    void observe(size_t bucket, uint64_t value) noexcept {
      bump(buckets[bucket]);
      bump(sum, value);
    }
    void addTo(HistogramTotals<N>& totals) const noexcept;
  };

  std::array<std::array<Counter, kTypeNames.size()>, kProtoNames.size()> requests_{};
  std::array<Counter, kRcodeBuckets> responses_{};
  Histogram<kDurationBounds + 1> duration_;
  Histogram<kSizeBounds.size() + 1> request_size_;
  Histogram<kSizeBounds.size() + 1> response_size_;
  Counter autopath_hits_{0};
};

}  // namespace dnsd::admin
