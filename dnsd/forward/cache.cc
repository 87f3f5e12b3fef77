#include "dnsd/forward/cache.h"

#include <algorithm>

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

bool Cache::lookup(const std::string& key, Clock::time_point now, std::vector<uint8_t>& out) {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  Entry& entry = *it->second;
  auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - entry.stored).count();
  if (elapsed < 0) elapsed = 0;
  if (elapsed >= entry.lifetime) {
    entries_.erase(it->second);
    index_.erase(it);
    return false;
  }
  entries_.splice(entries_.begin(), entries_, it->second);
  out = entry.reply;
  ageTtls(out.data(), entry.ttl_offsets, static_cast<uint32_t>(elapsed), entry.lifetime);
  return true;
}

}  // namespace dnsd::forward
