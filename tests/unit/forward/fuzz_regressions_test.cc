// Inputs found by tests/fuzz/fuzz_upstream_reply, kept as regression tests. crash-6197e889
// was ldns's, not dnsd's: ldns 1.8.3 reads an A record's rdata as 4 bytes whatever its
// RDLENGTH says and goes out of step; dnsd must keep walking by RDLENGTH (RFC 1035 §3.2.1),
// so the TTLs it ages are the records' TTLs and nothing else.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "dnsd/forward/cache.h"
#include "dnsd/forward/reply.h"

namespace {

using namespace dnsd;

// The upstream reply of crash-6197e889: "Exa1ple.COM. A", two A records, the second with a
// 5-byte rdata, and an additional record after it.
const std::vector<uint8_t> kReply = {
    0x00, 0x01, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,  // header
    0x07, 'E', 'x', 'a', '1', 'p', 'l', 'e', 0x03, 'C', 'O', 'M', 0x00, 0x00, 0x01, 0x00,
    0x01,                                                                     // question
    0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04,  // A, TTL 300
    0x0a, 0x00, 0x06, 0xc0,
    0x04, 0x0a, 0x00, 0x00, 0x06, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c,
    0x00, 0x05, 0x81, 0x2b, 0x00, 0x01, 0x00,                                // A, 5 bytes
    0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xb8, 0x00, 0x00, 0x00, 0x00,        // additional
};

}  // namespace

TEST_CASE("the reply walker goes by RDLENGTH, also where the type has a fixed size") {
  forward::ReplyInfo info;
  std::vector<uint16_t> ttl_offsets;
  REQUIRE(forward::walkReply(kReply.data(), kReply.size(), info, &ttl_offsets));
  CHECK(info.question_end == 29);
  CHECK(info.answer_count == 2);
  CHECK(info.min_answer_ttl == 300);
  // The two answers' TTLs, then the additional record's: its owner starts at 67.
  CHECK(ttl_offsets == std::vector<uint16_t>{35, 56, 72});
}

TEST_CASE("ageing a cached reply changes its TTL fields and nothing else") {
  forward::ReplyInfo info;
  std::vector<uint16_t> ttl_offsets;
  REQUIRE(forward::walkReply(kReply.data(), kReply.size(), info, &ttl_offsets));
  std::vector<uint8_t> aged = kReply;
  forward::ageTtls(aged.data(), ttl_offsets, 3, forward::cacheLifetime(info, {}));
  CHECK(forward::readTtl(aged.data() + 35) == 297);
  CHECK(forward::readTtl(aged.data() + 56) == 297);
  CHECK(forward::readTtl(aged.data() + 72) == 297);  // 0x07b80000, capped at the lifetime
  for (size_t i = 0; i < kReply.size(); ++i) {
    bool in_ttl = false;
    for (uint16_t offset : ttl_offsets) in_ttl |= i >= offset && i < offset + 4u;
    if (!in_ttl) CHECK(aged[i] == kReply[i]);
  }
}
