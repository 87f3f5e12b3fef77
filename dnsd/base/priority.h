// Control-plane threads that share cores with the UDP workers (the API client, the thread
// that builds and patches the zone, zone transfers) run at a lower priority, so that a
// worker woken by a query preempts them and queries keep their latency while they work.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

namespace dnsd::base {

// The calling thread to nice 10 (threads it starts after this inherit it). Where that is
// not allowed, the thread keeps its priority and runs as before.
inline void yieldToQueries() noexcept {
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10) != 0) {
  }
}

}  // namespace dnsd::base
