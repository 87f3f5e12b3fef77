// The reply walker on good and hostile bytes, cache lifetimes (RFC 2308), TTL ageing, LRU
// eviction, the cache key, and the replies the forwarder writes itself. No sockets.
#include "dnsd/forward/cache.h"

#include <doctest/doctest.h>

#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dnsd/forward/reply.h"
#include "dnsd/wire/query.h"

namespace dnsd::forward {
namespace {

using Bytes = std::vector<uint8_t>;
using Clock = Cache::Clock;
using std::chrono::seconds;

void put16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put32(Bytes& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}

// "\x07example\x03org\x00" question for `type`, header with `flags` and the counts.
Bytes header(uint16_t flags, uint16_t an, uint16_t ns, uint16_t ar, uint16_t type = 1) {
  Bytes m;
  for (uint16_t v : {uint16_t{0x1234}, flags, uint16_t{1}, an, ns, ar}) put16(m, v);
  for (const char* label : {"Example", "org"}) {
    m.push_back(static_cast<uint8_t>(std::strlen(label)));
    m.insert(m.end(), label, label + std::strlen(label));
  }
  m.push_back(0);
  put16(m, type);
  put16(m, 1);
  return m;
}

void rr(Bytes& m, uint16_t type, uint32_t ttl, const Bytes& rdata) {
  m.insert(m.end(), {0xC0, 0x0C});
  put16(m, type);
  put16(m, 1);
  put32(m, ttl);
  put16(m, static_cast<uint16_t>(rdata.size()));
  m.insert(m.end(), rdata.begin(), rdata.end());
}

Bytes soaRdata(uint32_t minimum) {
  Bytes r{2, 'n', 's', 0xC0, 0x0C, 0};  // compressed MNAME, root RNAME
  for (uint32_t v : {1u, 7200u, 900u, 86400u, minimum}) put32(r, v);
  return r;
}

void opt(Bytes& m, uint8_t extended_rcode = 0) {
  m.insert(m.end(), {0, 0, 41, 0x04, 0xD0, extended_rcode, 0, 0x80, 0, 0, 0});
}

Bytes positive(uint32_t ttl1, uint32_t ttl2) {
  Bytes m = header(0x8180, 2, 0, 1);
  rr(m, 1, ttl1, {192, 0, 2, 1});
  rr(m, 1, ttl2, {192, 0, 2, 2});
  opt(m);
  return m;
}

Bytes negative(uint16_t rcode, uint32_t soa_ttl, uint32_t minimum) {
  Bytes m = header(static_cast<uint16_t>(0x8180 | rcode), 0, 1, 0);
  rr(m, 6, soa_ttl, soaRdata(minimum));
  return m;
}

ReplyInfo walk(const Bytes& m, std::vector<uint16_t>* ttls = nullptr) {
  ReplyInfo info;
  REQUIRE(walkReply(m.data(), m.size(), info, ttls));
  return info;
}

uint32_t lifetime(const Bytes& m) { return cacheLifetime(walk(m), CacheLimits{}); }

// ---- The walker ----

TEST_CASE("the walker reads rcode, answer TTLs, the SOA and where each TTL is") {
  std::vector<uint16_t> ttls;
  ReplyInfo info = walk(positive(300, 120), &ttls);
  CHECK(info.rcode == 0);
  CHECK(info.answer_count == 2);
  CHECK(info.min_answer_ttl == 120);
  CHECK(info.question_end == 12 + 13 + 4);
  CHECK(ttls.size() == 2);  // the OPT's "TTL" is flags, not a TTL
  ReplyInfo neg = walk(negative(3, 900, 60));
  CHECK(neg.rcode == 3);
  CHECK(neg.has_soa);
  CHECK(neg.soa_ttl == 900);
  CHECK(neg.soa_minimum == 60);
}

TEST_CASE("the walker rejects every truncation of a valid reply") {
  Bytes m = negative(3, 900, 60);
  opt(m);
  wire::store16(m.data() + 10, 1);
  for (size_t size = 0; size < m.size(); ++size) {
    ReplyInfo info;
    CHECK_MESSAGE(!walkReply(m.data(), size, info, nullptr), "size " << size);
  }
}

TEST_CASE("the walker rejects queries, extra questions and reserved label types") {
  Bytes query = header(0x0100, 0, 0, 0);
  ReplyInfo info;
  CHECK_FALSE(walkReply(query.data(), query.size(), info, nullptr));
  Bytes two = header(0x8180, 0, 0, 0);
  wire::store16(two.data() + 4, 2);
  CHECK_FALSE(walkReply(two.data(), two.size(), info, nullptr));
  Bytes label = positive(1, 1);
  label[12 + 13 + 4] = 0x80;  // first answer owner: a reserved label type
  CHECK_FALSE(walkReply(label.data(), label.size(), info, nullptr));
}

TEST_CASE("the walker survives compression loops and random bytes") {
  Bytes loop = header(0x8180, 1, 0, 0);
  size_t owner = loop.size();
  loop.insert(loop.end(), {0xC0, static_cast<uint8_t>(owner)});  // points at itself
  put16(loop, 1), put16(loop, 1), put32(loop, 60), put16(loop, 4);
  loop.insert(loop.end(), {1, 2, 3, 4});
  ReplyInfo info;
  CHECK(walkReply(loop.data(), loop.size(), info, nullptr));  // never followed, so harmless
  std::mt19937 random(42);
  for (int i = 0; i < 20000; ++i) {
    Bytes junk = positive(300, 300);
    for (int flips = 0; flips < 4; ++flips) junk[random() % junk.size()] = uint8_t(random());
    junk.resize(random() % (junk.size() + 1));
    std::vector<uint16_t> ttls;
    if (walkReply(junk.data(), junk.size(), info, &ttls))
      for (uint16_t t : ttls) CHECK(t + 4u <= junk.size());
  }
}

TEST_CASE("a TTL with the top bit set counts as zero") {
  CHECK(walk(positive(0x80000000u, 300)).min_answer_ttl == 0);
  CHECK(lifetime(positive(0x80000000u, 300)) == 0);
}

// ---- Lifetimes (RFC 2308) ----

TEST_CASE("cache lifetimes follow RFC 2308 and the CoreDNS caps") {
  CHECK(lifetime(positive(300, 120)) == 120);
  CHECK(lifetime(positive(86400, 90000)) == 3600);     // max_success_ttl
  CHECK(lifetime(positive(0, 300)) == 0);              // TTL 0: not cached
  CHECK(lifetime(negative(3, 900, 60)) == 60);         // NXDOMAIN: SOA MINIMUM
  CHECK(lifetime(negative(3, 30, 60)) == 30);          // NXDOMAIN: SOA TTL
  CHECK(lifetime(negative(0, 900, 120)) == 120);       // NODATA
  CHECK(lifetime(negative(3, 86400, 86400)) == 1800);  // max_denial_ttl
  CHECK(lifetime(negative(2, 900, 60)) == 0);          // SERVFAIL
  CHECK(lifetime(negative(5, 900, 60)) == 0);          // REFUSED
  CHECK(lifetime(header(0x8183, 0, 0, 0)) == 0);       // NXDOMAIN without SOA
  CHECK(lifetime(header(0x8180, 0, 0, 0)) == 0);       // NODATA without SOA
  Bytes tc = positive(300, 300);
  tc[2] |= 0x02;
  CHECK(lifetime(tc) == 0);
  Bytes badvers = header(0x8180, 0, 0, 1);
  opt(badvers, 1);
  CHECK(lifetime(badvers) == 0);
  CHECK(cacheLifetime(walk(positive(300, 300)), CacheLimits{60, 10}) == 60);
}

// ---- The cache ----

struct Stored {
  Cache cache{10};
  Clock::time_point t0 = Clock::now();
  void put(const std::string& key, const Bytes& reply) {
    ReplyInfo info;
    std::vector<uint16_t> ttls;
    REQUIRE(walkReply(reply.data(), reply.size(), info, &ttls));
    cache.insert(key, reply.data(), reply.size(), ttls, cacheLifetime(info, {}), t0);
  }
  std::optional<std::vector<uint32_t>> ttlsAt(const std::string& key, int second) {
    Bytes out;
    if (!cache.lookup(key, t0 + seconds(second), out)) return std::nullopt;
    std::vector<uint16_t> offsets;
    ReplyInfo info;
    REQUIRE(walkReply(out.data(), out.size(), info, &offsets));
    std::vector<uint32_t> ttls;
    for (uint16_t o : offsets) ttls.push_back(wire::load32(out.data() + o));
    return ttls;
  }
};

TEST_CASE("a cached answer's TTLs go down with the time it spent in the cache") {
  Stored s;
  s.put("k", positive(300, 200));
  CHECK(s.ttlsAt("k", 0) == std::vector<uint32_t>{200, 200});  // capped at the lifetime
  CHECK(s.ttlsAt("k", 100) == std::vector<uint32_t>{100, 100});
  CHECK(s.ttlsAt("k", 199) == std::vector<uint32_t>{1, 1});
  CHECK_FALSE(s.ttlsAt("k", 200));
  CHECK(s.cache.size() == 0);  // the expired entry is gone
}

TEST_CASE("NXDOMAIN is cached for the SOA minimum") {
  Stored s;
  s.put("nx", negative(3, 3600, 60));
  CHECK(s.ttlsAt("nx", 59) == std::vector<uint32_t>{1});
  CHECK_FALSE(s.ttlsAt("nx", 60));
}

TEST_CASE("the least recently used entry is evicted at capacity") {
  Cache cache(2);
  Bytes r = positive(300, 300), out;
  auto t = Clock::now();
  cache.insert("a", r.data(), r.size(), {}, 300, t);
  cache.insert("b", r.data(), r.size(), {}, 300, t);
  CHECK(cache.lookup("a", t, out));
  cache.insert("c", r.data(), r.size(), {}, 300, t);
  CHECK(cache.size() == 2);
  CHECK(cache.lookup("a", t, out));
  CHECK_FALSE(cache.lookup("b", t, out));
  CHECK(cache.lookup("c", t, out));
  cache.insert("z", r.data(), r.size(), {}, 0, t);  // lifetime 0: not kept
  CHECK_FALSE(cache.lookup("z", t, out));
  Cache off(0);
  off.insert("a", r.data(), r.size(), {}, 300, t);
  CHECK(off.size() == 0);
}

TEST_CASE("the cache key ignores case and tells DO, CD and EDNS apart") {
  auto key = [](Bytes query) {
    wire::QueryView q;
    REQUIRE(wire::parseQuery(query.data(), query.size(), q) == wire::ParseStatus::Ok);
    return cacheKey(q);
  };
  Bytes plain = header(0x0100, 0, 0, 0), upper = plain, edns = header(0x0100, 0, 0, 1);
  upper[13] = 'E';
  edns.insert(edns.end(), {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0});
  Bytes dnssec = edns;
  dnssec[dnssec.size() - 4] = 0x80;  // DO
  Bytes cd = plain;
  cd[3] |= 0x10;
  CHECK(key(plain) == key(upper));
  CHECK(key(plain) != key(edns));
  CHECK(key(edns) != key(dnssec));
  CHECK(key(plain) != key(cd));
  CHECK(key(plain) != key(header(0x0100, 0, 0, 0, 28)));
}

TEST_CASE("the buffer key is the string key, written without allocating") {
  Bytes query = header(0x0100, 0, 0, 0);
  wire::QueryView q;
  REQUIRE(wire::parseQuery(query.data(), query.size(), q) == wire::ParseStatus::Ok);
  char buffer[kMaxKey];
  CHECK(cacheKey(q, buffer) == cacheKey(q));
}

TEST_CASE("a lookup into a buffer ages TTLs, and a reply that does not fit stays cached") {
  Cache cache(4);
  Bytes r = positive(300, 300);
  ReplyInfo info;
  std::vector<uint16_t> offsets;
  REQUIRE(walkReply(r.data(), r.size(), info, &offsets));
  auto t = Clock::now();
  cache.insert("k", r.data(), r.size(), offsets, 300, t);
  uint8_t out[512];
  CHECK(cache.lookup("k", t + seconds(10), out, r.size() - 1) == 0);  // too small
  REQUIRE(cache.lookup("k", t + seconds(10), out, sizeof out) == r.size());
  CHECK(readTtl(out + offsets[0]) == 290);
  CHECK(cache.lookup("missing", t, out, sizeof out) == 0);
  CHECK(cache.lookup("k", t + seconds(300), out, sizeof out) == 0);  // expired
  CHECK(cache.size() == 0);
}

TEST_CASE("an expired answer is kept for serve-stale, with TTL 30, and only that long") {
  Bytes r = positive(300, 300);
  ReplyInfo info;
  std::vector<uint16_t> offsets;
  REQUIRE(walkReply(r.data(), r.size(), info, &offsets));
  auto t = Clock::now();
  Cache stale(4, 3600), plain(4);
  for (Cache* c : {&stale, &plain}) c->insert("k", r.data(), r.size(), offsets, 60, t);
  Bytes out;
  CHECK_FALSE(stale.lookup("k", t + seconds(61), out));  // expired: not a hit
  REQUIRE(stale.lookupStale("k", t + seconds(61), out));
  for (uint16_t offset : offsets) CHECK(readTtl(out.data() + offset) == Cache::kStaleTtl);
  CHECK_FALSE(stale.lookupStale("k", t + seconds(60 + 3600), out));  // past the window
  CHECK_FALSE(plain.lookup("k", t + seconds(61), out));
  CHECK_FALSE(plain.lookupStale("k", t + seconds(61), out));  // off
}

TEST_CASE("the shared cache spreads keys over shards and counts hits from any thread") {
  SharedCache cache(40 * SharedCache::kShards);  // each shard may hold all 40
  Bytes r = positive(300, 300);
  auto t = Clock::now();
  for (int i = 0; i < 40; ++i)
    cache.insert("name" + std::to_string(i), r.data(), r.size(), {}, 300, t);
  CHECK(cache.size() == 40);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&] {
      uint8_t out[512];
      for (int i = 0; i < 40; ++i) cache.lookup("name" + std::to_string(i), t, out, sizeof out);
    });
  for (auto& thread : threads) thread.join();
  CHECK(cache.hits() == 160);
  Bytes got;
  CHECK(cache.lookup("name7", t, got));
  CHECK(got == r);
  CHECK(cache.hits() == 161);
  SharedCache off(0);
  off.insert("a", r.data(), r.size(), {}, 300, t);
  CHECK(off.size() == 0);
}

// ---- Replies written by the forwarder ----

TEST_CASE("SERVFAIL echoes the ID, question, RD and CD, sets RA and adds OPT for EDNS") {
  Bytes query = header(0x0110, 0, 0, 0);  // RD, CD
  QueryFacts facts{query.size(), true, true};
  Bytes r = shortReply(query.data(), facts, wire::Rcode::ServFail);
  ReplyInfo info = walk(r);
  CHECK(info.rcode == 2);
  CHECK(wire::load16(r.data()) == 0x1234);
  CHECK(r[2] == 0x81);  // QR, RD
  CHECK(r[3] == 0x92);  // RA, CD, SERVFAIL
  CHECK(wire::load16(r.data() + 10) == 1);
  CHECK(r.size() == query.size() + wire::kOptSize);
  CHECK(r[r.size() - 4] == 0x80);  // DO copied
  CHECK(std::equal(query.begin() + 12, query.end(), r.begin() + 12));
}

TEST_CASE("a reply cut for a small UDP client keeps its header and question and sets TC") {
  Bytes query = header(0x0100, 0, 0, 0);
  Bytes reply = positive(300, 300);
  QueryFacts facts{query.size(), false, false};
  truncateReply(reply, facts, query.size() + 15);  // one A RR takes 16 bytes
  ReplyInfo info = walk(reply);
  CHECK(info.tc);
  CHECK(info.answer_count == 0);
  CHECK(reply.size() == query.size());
}

TEST_CASE("a reply cut for a small UDP client keeps the answer RRs that fit whole") {
  Bytes query = header(0x0100, 0, 0, 0);
  Bytes reply = header(0x8180, 3, 1, 1);
  for (uint8_t i = 1; i <= 3; ++i) rr(reply, 1, 300, {192, 0, 2, i});
  rr(reply, 6, 300, soaRdata(60));
  opt(reply);
  constexpr size_t kRR = 16;  // pointer owner, fixed part, 4-byte address

  SUBCASE("without EDNS: two of three answers, nothing else") {
    QueryFacts facts{query.size(), false, false};
    Bytes cut = reply;
    truncateReply(cut, facts, query.size() + 2 * kRR + kRR - 1);
    ReplyInfo info = walk(cut);
    CHECK(info.tc);
    CHECK(info.answer_count == 2);
    CHECK(cut.size() == query.size() + 2 * kRR);
    CHECK(cut[cut.size() - 1] == 2);  // the second address, whole
    CHECK(wire::load16(cut.data() + 8) == 0);
    CHECK(wire::load16(cut.data() + 10) == 0);
  }
  SUBCASE("an answer whose name points past the cut ends what is kept") {
    QueryFacts facts{query.size(), false, false};
    Bytes bad = reply;
    bad[query.size() + kRR] = 0xC0;  // the second answer's owner: a pointer forward,
    bad[query.size() + kRR + 1] = 0xFF;  // into bytes the cut drops
    truncateReply(bad, facts, query.size() + 2 * kRR + kRR - 1);
    ReplyInfo info = walk(bad);
    CHECK(info.tc);
    CHECK(info.answer_count == 1);
    CHECK(bad.size() == query.size() + kRR);
  }
  SUBCASE("an answer whose name points into the header ends what is kept") {
    QueryFacts facts{query.size(), false, false};
    Bytes bad = reply;
    bad[query.size() + kRR + 1] = 0x05;  // the second answer's owner: into the counts
    truncateReply(bad, facts, query.size() + 2 * kRR + kRR - 1);
    CHECK(walk(bad).answer_count == 1);
  }
  SUBCASE("with EDNS the OPT record keeps its room") {
    QueryFacts facts{query.size(), true, false};
    Bytes cut = reply;
    truncateReply(cut, facts, query.size() + 2 * kRR + wire::kOptSize);
    ReplyInfo info = walk(cut);
    CHECK(info.tc);
    CHECK(info.answer_count == 2);
    CHECK(cut.size() == query.size() + 2 * kRR + wire::kOptSize);
    CHECK(wire::load16(cut.data() + 10) == 1);
  }
}

TEST_CASE("the client's ID and question case are put back into a reply") {
  Bytes query = header(0x0100, 0, 0, 0);
  query[0] = 0xAB, query[13] = 'E', query[14] = 'X';
  Bytes reply = positive(300, 300);
  reply[13] = 'e';
  CHECK(sameQuestion(reply.data(), 29, query.data(), 29));
  restoreClientQuestion(reply.data(), query.data(), QueryFacts{29, false, false});
  CHECK(reply[0] == 0xAB);
  CHECK(reply[13] == 'E');
  CHECK(reply[14] == 'X');
  Bytes other = header(0x0100, 0, 0, 0, 28);
  CHECK_FALSE(sameQuestion(reply.data(), 29, other.data(), 29));
}

TEST_CASE("acceptReply takes a reply to the client's question and nothing else") {
  Bytes query = header(0x0100, 0, 0, 0);
  QueryFacts facts{query.size(), false, false};
  Bytes reply = positive(300, 300);
  ReplyInfo info;
  std::vector<uint16_t> ttls;
  CHECK(acceptReply(reply.data(), reply.size(), query.data(), facts, info, &ttls));
  CHECK(ttls.size() == info.answer_count);
  CHECK_FALSE(acceptReply(nullptr, 0, query.data(), facts, info, nullptr));  // upstreams failed
  Bytes other = header(0x0100, 0, 0, 0, 28);  // the same name, another type
  CHECK_FALSE(acceptReply(reply.data(), reply.size(), other.data(), facts, info, nullptr));
  CHECK_FALSE(acceptReply(reply.data(), reply.size() - 1, query.data(), facts, info, nullptr));
}

TEST_CASE("fitForClient gives the client its ID, and the TC stub only over UDP past its limit") {
  Bytes query = header(0x0100, 0, 0, 0);
  query[0] = 0xAB;
  QueryFacts facts{query.size(), false, false};
  Bytes reply = positive(300, 300);
  const size_t full = reply.size();
  REQUIRE(full > 40);
  Bytes udp = reply;
  CHECK_FALSE(fitForClient(udp, query.data(), facts, false, full));
  CHECK(udp.size() == full);
  CHECK(udp[0] == 0xAB);
  Bytes tcp = reply;
  CHECK_FALSE(fitForClient(tcp, query.data(), facts, true, 40));
  CHECK(tcp.size() == full);
  Bytes small = reply;
  CHECK(fitForClient(small, query.data(), facts, false, 40));
  CHECK(small.size() == query.size());
  CHECK(small[0] == 0xAB);
  CHECK(walk(small).tc);
}

}  // namespace
}  // namespace dnsd::forward
