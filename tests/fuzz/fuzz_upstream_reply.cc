// libFuzzer target: bytes from an upstream server → what dnsd sends the client, through the
// functions forward::Forwarder's reply path calls (forwarder.cc complete() and the cache hit
// in handle(); only the c-ares and epoll plumbing around them is left out):
//   acceptReply, else SERVFAIL (shortReply); cacheLifetime + Cache::insert; fitForClient
//   (the client's ID and question, the TC stub for a UDP client whose limit the reply
//   exceeds); then a later Cache::lookup (TTLs aged) and fitForClient again.
// Input: byte 0 steers the client (bit 0 TCP, bit 1 EDNS, bit 2 DO, bit 3 a fixed query
// instead of one made from the reply's question, bits 4-7 the EDNS size and cache age), the
// rest is the upstream reply. Checks: what the client gets carries its ID and its question
// byte for byte and fits its UDP limit; a message dnsd writes itself (SERVFAIL, the TC stub)
// parses in ldns; a reply passed on differs from the upstream's only in ID, the question's
// case and TTLs that went down. (ldns is no judge of passed-on replies: 1.8.3 reads a
// fixed-size rdata such as A by its size, not RDLENGTH, and goes out of step where dnsd,
// following RFC 1035 §3.2.1, does not.)
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dnsd/forward/cache.h"
#include "dnsd/forward/reply.h"
#include "dnsd/wire/query.h"
#include "tests/fuzz/ldns_check.h"

using namespace dnsd;

namespace {

constexpr uint16_t kClientId = 0xBEEF;

// The two fields of Client that sizing reads.
struct Client {
  bool tcp = false;
  size_t limit = 512;  // QueryView::udpLimit()
};

// The query the client sent: header and question taken from the reply (so the question
// usually matches), or "Example.COM. A" when bit 3 asks for it or the reply has none.
std::vector<uint8_t> clientQuery(const uint8_t* reply, size_t size, uint8_t control) {
  static const uint8_t kFixed[] = {0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'E', 'x', 'a', 'm',
                                   'p', 'l', 'e', 3, 'C', 'O', 'M', 0, 0, 1, 0, 1};
  size_t end = 0;
  if (!(control & 8) && size > wire::kHeaderSize) {
    size_t pos = wire::kHeaderSize;
    while (pos < size && reply[pos] != 0 && reply[pos] <= wire::kMaxLabelLength)
      pos += 1 + reply[pos];
    if (pos < size && reply[pos] == 0 && pos + 5 <= size) end = pos + 5;
  }
  std::vector<uint8_t> q = end ? std::vector<uint8_t>(reply, reply + end)
                               : std::vector<uint8_t>(kFixed, kFixed + sizeof kFixed);
  q[2] &= 0x79;  // opcode and RD; QR, AA, TC clear
  q[3] &= 0x10;  // CD
  wire::store16(q.data() + 4, 1);
  wire::store16(q.data() + 6, 0);
  wire::store16(q.data() + 8, 0);
  wire::store16(q.data() + 10, 0);
  if (control & 2) {
    uint8_t opt[wire::kOptSize] = {0, 0, wire::type::OPT, 0, 0, 0, 0, 0, 0, 0, 0};
    wire::store16(opt + 3, static_cast<uint16_t>(400 + (control >> 4) * 100));
    opt[7] = control & 4 ? 0x80 : 0;
    q.insert(q.end(), opt, opt + sizeof opt);
    wire::store16(q.data() + 10, 1);
  }
  wire::store16(q.data(), kClientId);
  return q;
}

// What the client receives: its ID, its question as it wrote it, within its limit.
void checkDelivered(const std::vector<uint8_t>& out, const std::vector<uint8_t>& query,
                    const forward::QueryFacts& facts, const Client& client,
                    bool must_parse) {
  if (out.size() < facts.question_end) fuzz::fail("reply shorter than the question");
  if (wire::load16(out.data()) != kClientId) fuzz::fail("reply without the client's ID");
  if (std::memcmp(out.data() + wire::kHeaderSize, query.data() + wire::kHeaderSize,
                  facts.question_end - wire::kHeaderSize) != 0)
    fuzz::fail("reply without the client's question");
  if (!client.tcp && out.size() > client.limit)
    fuzz::fail("UDP reply of %zu bytes for a limit of %zu", out.size(), client.limit);
  if (!(out[2] & 0x80)) fuzz::fail("reply without QR");
  if (must_parse) {
    ldns_status status;
    if (!fuzz::wire2pkt(out.data(), out.size(), &status))
      fuzz::fail("ldns rejects the reply dnsd sends (%s)", ldns_get_errorstr_by_id(status));
  }
}

// A reply passed on (not cut to the TC stub): the upstream's bytes but for the ID, the
// question's case and the TTLs at `ttl_offsets`, which may only have gone down.
void checkPassedOn(const std::vector<uint8_t>& out, const uint8_t* reply, size_t size,
                   const std::vector<uint16_t>& ttl_offsets, size_t question_end) {
  if (out.size() != size) fuzz::fail("a passed-on reply changed size");
  std::vector<bool> ttl(size, false);
  for (uint16_t offset : ttl_offsets) {
    if (forward::readTtl(out.data() + offset) > forward::readTtl(reply + offset))
      fuzz::fail("a TTL went up at offset %u", offset);
    for (int i = 0; i < 4; ++i) ttl[offset + i] = true;
  }
  for (size_t i = 2; i < size; ++i) {
    bool same = i >= wire::kHeaderSize && i < question_end ? fuzz::lower(out[i]) == fuzz::lower(reply[i])
                                                           : out[i] == reply[i];
    if (!same && !ttl[i]) fuzz::fail("a passed-on reply changed at offset %zu", i);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size - 1 > wire::kMaxMessage) return -1;
  const uint8_t control = data[0];
  const uint8_t* reply = data + 1;
  const size_t reply_size = size - 1;

  std::vector<uint8_t> query = clientQuery(reply, reply_size, control);
  wire::QueryView q;
  if (wire::parseQuery(query.data(), query.size(), q) != wire::ParseStatus::Ok) return 0;
  forward::QueryFacts facts{q.question_end, q.has_edns, q.do_bit};
  Client client;
  client.tcp = control & 1;
  client.limit = q.udpLimit();

  // complete(): a reply that does not answer the question is SERVFAIL, never passed on.
  forward::ReplyInfo info;
  std::vector<uint16_t> ttl_offsets;
  if (!forward::acceptReply(reply, reply_size, query.data(), facts, info, &ttl_offsets)) {
    std::vector<uint8_t> out = forward::shortReply(query.data(), facts, wire::Rcode::ServFail);
    if (out.size() > wire::kMinUdpSize) fuzz::fail("SERVFAIL larger than 512 bytes");
    checkDelivered(out, query, facts, client, true);
    return 0;
  }
  if (info.question_end > reply_size) fuzz::fail("question_end past the reply");
  for (uint16_t offset : ttl_offsets)
    if (offset + 4u > reply_size) fuzz::fail("TTL offset past the reply");

  // The cache, as the forwarder thread uses it.
  forward::Cache cache(4);  // per input, so a crash reproduces from its input alone
  forward::CacheLimits limits;
  uint32_t lifetime = forward::cacheLifetime(info, limits);
  if (lifetime > limits.max_success_ttl) fuzz::fail("lifetime %u above the cap", lifetime);
  std::string key = forward::cacheKey(q);
  auto now = forward::Cache::Clock::now();
  cache.insert(key, reply, reply_size, ttl_offsets, lifetime, now);
  std::vector<uint8_t> out(reply, reply + reply_size);
  bool truncated = forward::fitForClient(out, query.data(), facts, client.tcp, client.limit);
  checkDelivered(out, query, facts, client, truncated);
  if (!truncated) checkPassedOn(out, reply, reply_size, {}, info.question_end);

  // A later hit: TTLs aged by up to 15 seconds, the reply sized again.
  std::vector<uint8_t> cached;
  uint32_t age = control >> 4;
  if (cache.lookup(key, now + std::chrono::seconds(age), cached)) {
    if (age >= lifetime) fuzz::fail("an expired entry was served");
    truncated = forward::fitForClient(cached, query.data(), facts, client.tcp, client.limit);
    checkDelivered(cached, query, facts, client, truncated);
    if (!truncated) checkPassedOn(cached, reply, reply_size, ttl_offsets, info.question_end);
  } else if (age < lifetime) {
    fuzz::fail("a fresh entry was not served");
  }
  return 0;
}
