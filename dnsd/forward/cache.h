// The cache of forwarded answers (RFC 2308 for the negative ones): whole replies kept as wire
// bytes with the offset of each TTL, aged on the way out. Least recently used entries are
// evicted at capacity. `Cache` is one thread's; `SharedCache` is the forwarder's, split in
// shards with a lock each so that the UDP workers answer hits themselves.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
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

// The same key written into `out` (kMaxKey bytes), for a lookup that allocates nothing.
inline constexpr size_t kMaxKey = 255 + 5;
std::string_view cacheKey(const wire::QueryView& query, char* out) noexcept;

class Cache {
 public:
  using Clock = std::chrono::steady_clock;

  // `stale`: seconds an expired entry is kept for lookupStale() (RFC 8767), 0 for none.
  explicit Cache(size_t capacity, uint32_t stale = 0) : capacity_(capacity), stale_(stale) {}

  // Keeps `reply` for `lifetime` seconds from `now`; evicts the least recently used entry
  // when full. Lifetime 0 or capacity 0: nothing is kept.
  void insert(const std::string& key, const uint8_t* reply, size_t size,
              std::vector<uint16_t> ttl_offsets, uint32_t lifetime, Clock::time_point now);
  // On a hit, `out` holds the reply with its TTLs lowered by the whole seconds spent in the
  // cache; ID and question are still the cached ones. An expired entry is dropped.
  bool lookup(std::string_view key, Clock::time_point now, std::vector<uint8_t>& out);
  // The same into a buffer of `room` bytes: the reply's size, or 0 on a miss or when it
  // does not fit (the entry stays). Allocates nothing. `refresh`, when given, is set when
  // the caller should have the entry fetched again now (prefetch: see below).
  size_t lookup(std::string_view key, Clock::time_point now, uint8_t* out, size_t room,
                bool* refresh = nullptr) noexcept;
  // When every upstream failed: an entry expired less than `stale` seconds ago, its TTLs set
  // to kStaleTtl (RFC 8767 §4 suggests 30 s). False when there is none.
  static constexpr uint32_t kStaleTtl = 30;
  bool lookupStale(std::string_view key, Clock::time_point now, std::vector<uint8_t>& out);
  size_t size() const { return entries_.size(); }

 private:
  // Heterogeneous lookup: a string_view key finds its std::string without a copy.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const noexcept {
      return std::hash<std::string_view>{}(key);
    }
  };
  struct Entry {
    std::string key;
    std::vector<uint8_t> reply;
    std::vector<uint16_t> ttl_offsets;
    uint32_t lifetime = 0;
    Clock::time_point stored;
    uint32_t hits = 0;
    bool refreshing = false;  // a prefetch was asked for
  };
  using List = std::list<Entry>;  // front: most recently used

  // Prefetch (CoreDNS cache prefetch, Unbound prefetch): an entry asked for again in the
  // last tenth of its life (at least its last second) is fetched anew once, so a popular
  // name is refreshed before it expires instead of missing.
  static bool shouldRefresh(Entry& entry, uint32_t elapsed) noexcept;

  // The live entry of `key` (most recently used now), or nullptr; expired ones are dropped.
  Entry* find(std::string_view key, Clock::time_point now, uint32_t& elapsed) noexcept;

  size_t capacity_;
  uint32_t stale_ = 0;
  List entries_;
  std::unordered_map<std::string, List::iterator, KeyHash, std::equal_to<>> index_;
};

// The forwarder's cache, in shards chosen by the key's hash, each with its own lock and its
// hit count (counted under the lock it already holds: no shared counter on the hot path).
class SharedCache {
 public:
  using Clock = Cache::Clock;
  static constexpr size_t kShards = 16;

  explicit SharedCache(size_t capacity, uint32_t stale = 0);
  void insert(const std::string& key, const uint8_t* reply, size_t size,
              std::vector<uint16_t> ttl_offsets, uint32_t lifetime, Clock::time_point now);
  bool lookup(std::string_view key, Clock::time_point now, std::vector<uint8_t>& out);
  size_t lookup(std::string_view key, Clock::time_point now, uint8_t* out, size_t room,
                bool* refresh = nullptr) noexcept;
  bool lookupStale(std::string_view key, Clock::time_point now, std::vector<uint8_t>& out);
  uint64_t hits() const;
  size_t size() const;

 private:
  struct alignas(64) Shard {
    mutable std::mutex mutex;
    Cache cache{0};
    uint64_t hits = 0;
  };
  Shard& shardOf(std::string_view key) noexcept {
    return shards_[std::hash<std::string_view>{}(key) % kShards];
  }
  std::array<Shard, kShards> shards_;
};

}  // namespace dnsd::forward
