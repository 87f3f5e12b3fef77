// Work split over two threads on the control plane, in one place: a large load's
// independent parts run on the second core, which would otherwise idle. Never on the data
// plane: each call starts a thread.
#pragma once

#include <cstddef>
#include <thread>

namespace dnsd::base {

// f(0, n / 2) on this thread and f(n / 2, n) on a second one when n >= min_parallel (below
// that a thread's start costs more than it saves), else f(0, n) here. f's two calls must
// touch disjoint data.
template <typename F>
void inHalves(size_t n, size_t min_parallel, F&& f) {
  if (n < min_parallel) {
    f(size_t{0}, n);
    return;
  }
  std::thread second([&f, n] { f(n / 2, n); });
  f(size_t{0}, n / 2);
  second.join();
}

// other() on a second thread while here() runs on this one; returns when both are done.
// What here() allocates comes from this thread's malloc arena, which the loader made
// resident: give it the part that allocates more.
// With n < min_parallel both run here, other() first: a small load is not worth a thread.
template <typename Other, typename Here>
void alongside(size_t n, size_t min_parallel, Other&& other, Here&& here) {
  if (n < min_parallel) {
    other();
    here();
    return;
  }
  std::thread second([&other] { other(); });
  here();
  second.join();
}

}  // namespace dnsd::base
