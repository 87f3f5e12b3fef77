// The cache of forwarded answers (RFC 2308 for the negative ones): whole replies kept as wire
// bytes with the offset of each TTL, aged on the way out. Least recently used entries are
// evicted at capacity. One thread only (the forwarder's): no locks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnsd/forward/reply.h"
#include "dnsd/wire/query.h"

namespace dnsd::forward {

// CoreDNS's cache caps.
inline constexpr uint32_t kDefaultMaxSuccessTtl = 3600;
inline constexpr uint32_t kDefaultMaxDenialTtl = 1800;

struct CacheLimits {
  uint32_t max_success_ttl = kDefaultMaxSuccessTtl;
  uint32_t max_denial_ttl = kDefaultMaxDenialTtl;
};

// Seconds a reply may be cached, 0 for never: positive answers for their smallest answer TTL,
// NXDOMAIN/NODATA for min(SOA TTL, SOA MINIMUM) of the authority SOA (RFC 2308 §5; never
// without one), each capped; SERVFAIL, REFUSED, truncated and other replies are not cached.
uint32_t cacheLifetime(const ReplyInfo& info, const CacheLimits& limits) noexcept;

// The cache key: the lowercase qname, qtype, qclass and the bits that change the answer:
// DO, CD, RD and whether the query had EDNS at all (an OPT goes back only to EDNS clients).
std::string cacheKey(const wire::QueryView& query);

class Cache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Cache(size_t capacity) : capacity_(capacity) {}

  // Keeps `reply` for `lifetime` seconds from `now`; evicts the least recently used entry
  // when full. Lifetime 0 or capacity 0: nothing is kept.
  void insert(const std::string& key, const uint8_t* reply, size_t size,
              std::vector<uint16_t> ttl_offsets, uint32_t lifetime, Clock::time_point now);
  // On a hit, `out` holds the reply with its TTLs lowered by the whole seconds spent in the
  // cache; ID and question are still the cached ones. An expired entry is dropped.
  bool lookup(const std::string& key, Clock::time_point now, std::vector<uint8_t>& out);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string key;
    std::vector<uint8_t> reply;
    std::vector<uint16_t> ttl_offsets;
    uint32_t lifetime = 0;
    Clock::time_point stored;
  };
  using List = std::list<Entry>;  // front: most recently used

  size_t capacity_;
  List entries_;
  std::unordered_map<std::string, List::iterator> index_;
};

}  // namespace dnsd::forward
