// Reading a worker's counters at scrape time.
#include "dnsd/admin/worker_counters.h"

namespace dnsd::admin {

template <size_t N>
void WorkerCounters::Histogram<N>::addTo(HistogramTotals<N>& totals) const noexcept {
  for (size_t i = 0; i < N; ++i) totals.buckets[i] += buckets[i].load(std::memory_order_relaxed);
  totals.sum += sum.load(std::memory_order_relaxed);
}

void WorkerCounters::addTo(CounterTotals& totals) const noexcept {
  for (size_t proto = 0; proto < requests_.size(); ++proto) {
    for (size_t type = 0; type < requests_[proto].size(); ++type) {
      totals.requests[proto][type] += requests_[proto][type].load(std::memory_order_relaxed);
    }
  }
  for (size_t rcode = 0; rcode < responses_.size(); ++rcode) {
    totals.responses[rcode] += responses_[rcode].load(std::memory_order_relaxed);
  }
  duration_.addTo(totals.duration);
  request_size_.addTo(totals.request_size);
  response_size_.addTo(totals.response_size);
  totals.autopath_hits += autopath_hits_.load(std::memory_order_relaxed);
}

}  // namespace dnsd::admin
