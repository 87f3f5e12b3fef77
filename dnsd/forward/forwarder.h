// Forwarding of names that are not ours: a queue from the server's workers to one forwarder
// thread that owns a c-ares channel (driven by its own epoll loop, since c-ares 1.18 has no
// event thread), the answer cache, failover, SERVFAIL when every upstream fails, and the
// loop probe.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/forward/cache.h"
#include "dnsd/forward/upstream.h"
#include "dnsd/wire/query.h"

namespace dnsd::forward {

// CoreDNS's forward and cache defaults (the cache's TTL caps are in cache.h).
inline constexpr int kDefaultTimeoutMs = 2000;
inline constexpr size_t kDefaultCacheCapacity = 9984;

// Names under `domain` go to these upstreams instead (kube-dns's stubDomains, CoreDNS's
// per-zone forward blocks); the longest matching domain wins.
struct ForwardZone {
  std::string domain;  // "consul.local", as given
  std::vector<Upstream> upstreams;
};

struct Options {
  std::vector<Upstream> upstreams;  // tried in order: the first is preferred
  std::vector<ForwardZone> zones;
  int timeout_ms = kDefaultTimeoutMs;  // per try; c-ares doubles it on each round of the list
  int tries = 2;                       // per upstream (ARES_OPT_TRIES)
  size_t cache_capacity = kDefaultCacheCapacity;  // entries; 0 disables the cache
  uint32_t max_success_ttl = kDefaultMaxSuccessTtl, max_denial_ttl = kDefaultMaxDenialTtl;
  uint32_t serve_stale = 0;  // seconds an expired answer may stand in for a failed upstream
  size_t max_concurrent = 10000;  // queries in flight upstream; above it: REFUSED (CoreDNS)
  size_t max_queued = 65536;      // submitted, not yet taken by the thread; above: dropped

  // "" when usable, else why not (no upstream, bad timeout...).
  std::string validate() const;
};

// Where a reply goes: opaque to forward/, given back with the reply.
struct Client {
  int fd = -1;
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
  bool tcp = false;
  uint64_t connection = 0;
  size_t limit = 512;  // max reply size for UDP (QueryView::udpLimit())
  bool prefetch = false;  // no asker: a cache entry refreshed before it expires
  // Our partial answer (an ExternalName's CNAME) the reply is spliced onto by Deliver;
  // empty for a plain forwarded query.
  std::vector<uint8_t> prefix;
};

class Forwarder {
 public:
  // Called on the forwarder thread, one reply at a time; must not throw or block for long.
  using Deliver = std::function<void(const Client&, const uint8_t* reply, size_t size)>;

  struct Stats {
    uint64_t requests = 0;  // submitted
    uint64_t failures = 0;  // answered SERVFAIL by us: every upstream failed, or garbage
    uint64_t cache_hits = 0;
    uint64_t cache_misses = 0;    // = queries sent upstream
    uint64_t refused = 0;         // over max_concurrent
    uint64_t dropped = 0;         // queue full, or not a parsable query
    uint64_t latency_us_sum = 0;  // upstream round trips, replies and failures alike
    uint64_t latency_count = 0;
    uint64_t coalesced = 0;       // joined an identical question in flight, not sent again
    uint64_t stale = 0;           // every upstream failed; an expired answer was served
    uint64_t prefetches = 0;      // entries fetched again before they expired
  };

  Forwarder(Options options, Deliver deliver);
  ~Forwarder();  // stops the thread; queries still in flight are dropped
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // c-ares init, then the thread; sends the loop probe to each upstream (the server's
  // sockets should be bound first so a probe that comes back is seen). Once only.
  base::Status start();

  // Thread-safe, cheap, called from server workers: copies the query and queues it. The
  // reply comes back through Deliver, on the forwarder thread.
  void submit(const uint8_t* query, size_t size, const Client& client) noexcept;

  // Thread-safe, for workers before submit(): the cached reply to `query` (parsed as `q`)
  // written into `out` with the client's ID and question and its TTLs aged; its size, or 0
  // when there is none that fits `udp_limit` (submit it then). Takes one shard's lock and
  // allocates nothing, but when a popular entry is near its end, submits it to be fetched
  // again (prefetch).
  size_t answerFromCache(const wire::QueryView& q, const uint8_t* query, size_t query_size,
                         uint8_t* out, size_t udp_limit) noexcept;

  Stats stats() const noexcept;

  // "<rand>.<rand>.dnsd-loop-probe.": the HINFO query start() sends to each upstream. When
  // it comes back to us (forwarded here by an upstream), that is a forwarding loop. The
  // forwarder recognises it among submitted queries by itself (answers SERVFAIL, does not
  // forward it again); a server that catches it earlier calls sawLoopProbe().
  std::string loopProbeName() const;
  void sawLoopProbe() noexcept;
  bool loopDetected() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dnsd::forward
