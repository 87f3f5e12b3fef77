#include "dnsd/forward/cache.h"

#include <algorithm>
#include <cstring>

namespace dnsd::forward {
namespace {

constexpr uint8_t kNoError = static_cast<uint8_t>(wire::Rcode::NoError);
constexpr uint8_t kNxDomain = static_cast<uint8_t>(wire::Rcode::NxDomain);

// RFC 2308 §5: the negative TTL is the smaller of the SOA's TTL and its MINIMUM field. A
// CNAME chain in front of the denial caps it too.
uint32_t denialLifetime(const ReplyInfo& info, const CacheLimits& limits) noexcept {
  if (!info.has_soa) return 0;  // RFC 2308 §5: no SOA, no negative caching
  uint32_t ttl = std::min({info.soa_ttl, info.soa_minimum, limits.max_denial_ttl});
  if (info.answer_count > 0) ttl = std::min(ttl, info.min_answer_ttl);
  return ttl;
}

}  // namespace

uint32_t cacheLifetime(const ReplyInfo& info, const CacheLimits& limits) noexcept {
  if (info.tc || info.extended_rcode != 0) return 0;
  if (info.rcode == kNxDomain) return denialLifetime(info, limits);
  if (info.rcode != kNoError) return 0;  // SERVFAIL, REFUSED, FORMERR, NOTIMP...
  if (info.answer_count == 0) return denialLifetime(info, limits);  // NODATA (or a referral)
  return std::min(info.min_answer_ttl, limits.max_success_ttl);
}

std::string cacheKey(const wire::QueryView& query) {
  std::string key(reinterpret_cast<const char*>(query.qname_lower), query.qname_size);
  uint8_t tail[5];
  wire::store16(tail, query.qtype);
  wire::store16(tail + 2, query.qclass);
  tail[4] =
      static_cast<uint8_t>(query.do_bit | query.cd << 1 | query.rd << 2 | query.has_edns << 3);
  key.append(reinterpret_cast<const char*>(tail), sizeof tail);
  return key;
}

std::string_view cacheKey(const wire::QueryView& query, char* out) noexcept {
  std::memcpy(out, query.qname_lower, query.qname_size);
  uint8_t* tail = reinterpret_cast<uint8_t*>(out) + query.qname_size;
  wire::store16(tail, query.qtype);
  wire::store16(tail + 2, query.qclass);
  tail[4] =
      static_cast<uint8_t>(query.do_bit | query.cd << 1 | query.rd << 2 | query.has_edns << 3);
  return {out, query.qname_size + size_t{5}};
}

void Cache::insert(const std::string& key, const uint8_t* reply, size_t size,
                   std::vector<uint16_t> ttl_offsets, uint32_t lifetime, Clock::time_point now) {
  if (lifetime == 0 || capacity_ == 0) return;
  if (auto it = index_.find(key); it != index_.end()) {
    entries_.erase(it->second);
    index_.erase(it);
  }
  if (entries_.size() >= capacity_) {
    index_.erase(entries_.back().key);
    entries_.pop_back();
  }
  entries_.push_front(Entry{key, {reply, reply + size}, std::move(ttl_offsets), lifetime, now});
  index_.emplace(key, entries_.begin());
}

Cache::Entry* Cache::find(std::string_view key, Clock::time_point now,
                          uint32_t& elapsed) noexcept {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  Entry& entry = *it->second;
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - entry.stored).count();
  if (seconds < 0) seconds = 0;
  if (seconds >= entry.lifetime) {
    // Kept a while longer for lookupStale() when serving stale answers is on.
    if (seconds >= int64_t{entry.lifetime} + stale_) {
      entries_.erase(it->second);
      index_.erase(it);
    }
    return nullptr;
  }
  entries_.splice(entries_.begin(), entries_, it->second);
  elapsed = static_cast<uint32_t>(seconds);
  return &entry;
}

bool Cache::lookup(std::string_view key, Clock::time_point now, std::vector<uint8_t>& out) {
  uint32_t elapsed = 0;
  Entry* entry = find(key, now, elapsed);
  if (!entry) return false;
  out = entry->reply;
  ageTtls(out.data(), entry->ttl_offsets, elapsed, entry->lifetime);
  return true;
}

bool Cache::shouldRefresh(Entry& entry, uint32_t elapsed) noexcept {
  ++entry.hits;
  const uint32_t left = entry.lifetime - elapsed;
  if (entry.refreshing || entry.hits < 2 || left > std::max(1u, entry.lifetime / 10))
    return false;
  entry.refreshing = true;
  return true;
}

size_t Cache::lookup(std::string_view key, Clock::time_point now, uint8_t* out, size_t room,
                     bool* refresh) noexcept {
  uint32_t elapsed = 0;
  Entry* entry = find(key, now, elapsed);
  if (!entry || entry->reply.size() > room) return 0;
  std::memcpy(out, entry->reply.data(), entry->reply.size());
  ageTtls(out, entry->ttl_offsets, elapsed, entry->lifetime);
  if (refresh) *refresh = shouldRefresh(*entry, elapsed);
  return entry->reply.size();
}

bool Cache::lookupStale(std::string_view key, Clock::time_point now, std::vector<uint8_t>& out) {
  if (stale_ == 0) return false;
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  const Entry& entry = *it->second;
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - entry.stored).count();
  if (seconds >= int64_t{entry.lifetime} + stale_) return false;
  out = entry.reply;
  for (uint16_t offset : entry.ttl_offsets) wire::store32(out.data() + offset, kStaleTtl);
  return true;
}

// Each shard holds an even share of the capacity (at least one entry when there is any).
SharedCache::SharedCache(size_t capacity, uint32_t stale) {
  const size_t each = capacity == 0 ? 0 : (capacity + kShards - 1) / kShards;
  for (Shard& shard : shards_) shard.cache = Cache(each, stale);
}

bool SharedCache::lookupStale(std::string_view key, Clock::time_point now,
                              std::vector<uint8_t>& out) {
  Shard& shard = shardOf(key);
  std::lock_guard lock(shard.mutex);
  return shard.cache.lookupStale(key, now, out);
}

void SharedCache::insert(const std::string& key, const uint8_t* reply, size_t size,
                         std::vector<uint16_t> ttl_offsets, uint32_t lifetime,
                         Clock::time_point now) {
  Shard& shard = shardOf(key);
  std::lock_guard lock(shard.mutex);
  shard.cache.insert(key, reply, size, std::move(ttl_offsets), lifetime, now);
}

bool SharedCache::lookup(std::string_view key, Clock::time_point now,
                         std::vector<uint8_t>& out) {
  Shard& shard = shardOf(key);
  std::lock_guard lock(shard.mutex);
  bool hit = shard.cache.lookup(key, now, out);
  shard.hits += hit;
  return hit;
}

size_t SharedCache::lookup(std::string_view key, Clock::time_point now, uint8_t* out,
                           size_t room, bool* refresh) noexcept {
  Shard& shard = shardOf(key);
  std::lock_guard lock(shard.mutex);
  size_t size = shard.cache.lookup(key, now, out, room, refresh);
  shard.hits += size != 0;
  return size;
}

uint64_t SharedCache::hits() const {
  uint64_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.hits;
  }
  return total;
}

size_t SharedCache::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.cache.size();
  }
  return total;
}

}  // namespace dnsd::forward
