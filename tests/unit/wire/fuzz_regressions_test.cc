// Inputs found by tests/fuzz/fuzz_query and fuzz_responder, kept as regression tests: names in
// the additional section whose compression pointers a reader cannot follow (RFC 1035
// §4.1.4) made dnsd accept queries that ldns, the reference parser, rejects.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dnsd/wire/dns.h"
#include "dnsd/wire/query.h"

namespace {

using namespace dnsd;
using wire::ParseStatus;

// "web.default.svc.cluster.local. A IN" with `ar` additional records to follow.
std::vector<uint8_t> question(uint8_t ar) {
  std::vector<uint8_t> p = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, ar};
  for (std::string label : {"web", "default", "svc", "cluster", "local"}) {
    p.push_back(static_cast<uint8_t>(label.size()));
    p.insert(p.end(), label.begin(), label.end());
  }
  p.insert(p.end(), {0, 0, 0x01, 0, 0x01});
  return p;
}

// An RR of type 0, class 0, TTL 0, no rdata, owned by `owner` (wire bytes).
void appendRecord(std::vector<uint8_t>& p, std::vector<uint8_t> owner) {
  p.insert(p.end(), owner.begin(), owner.end());
  p.insert(p.end(), {0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
}

ParseStatus parse(const std::vector<uint8_t>& p) {
  wire::QueryView q;
  return wire::parseQuery(p.data(), p.size(), q);
}

struct Row {
  std::vector<uint8_t> owner;
  ParseStatus status;
  const char* why;
};

}  // namespace

TEST_CASE("an additional record's owner is FORMERR unless its pointers can be followed") {
  const std::vector<Row> rows = {
      {{0xC0, 0x0C}, ParseStatus::Ok, "a pointer to the question name"},
      {{0xC0, 0x10}, ParseStatus::Ok, "a pointer to a suffix of it (default.svc...)"},
      {{1, 'x', 0xC0, 0x0C}, ParseStatus::Ok, "a label, then a pointer"},
      {{0xD0, 0x00}, ParseStatus::FormErr, "fuzz_query crash-dfb2cf24: pointer past the end"},
      {{0xFA, 0xFA}, ParseStatus::FormErr, "fuzz_responder crash-d93b2321: pointer past the end"},
      {{0xC0, 0x05}, ParseStatus::FormErr, "a pointer into the header"},
      {{0xC0, 0x2F}, ParseStatus::FormErr, "a pointer to itself: a loop"},
      {{1, 'x', 0xC0, 0x2F}, ParseStatus::FormErr, "a pointer to its own first label: a loop"},
      {{0xC0, 0x40}, ParseStatus::FormErr, "a forward pointer"},
      {{0x40, 0x00}, ParseStatus::FormErr, "the extended label type 0x40"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.why);
    auto p = question(1);
    REQUIRE(p.size() == 0x2F);
    appendRecord(p, row.owner);
    CHECK(parse(p) == row.status);
  }
}

// Four records, each a label and a pointer to the owner before it: the last owner is its
// label (1 + n bytes) + 3 * 64 + the question name's 31 bytes.
std::vector<uint8_t> chainOfOwners(uint8_t last_label) {
  auto p = question(4);
  uint16_t previous = wire::kHeaderSize;
  for (uint8_t size : {uint8_t{63}, uint8_t{63}, uint8_t{63}, last_label}) {
    std::vector<uint8_t> owner(1, size);
    owner.insert(owner.end(), size, 'a');
    owner.insert(owner.end(), {static_cast<uint8_t>(0xC0 | previous >> 8),
                               static_cast<uint8_t>(previous)});
    previous = static_cast<uint16_t>(p.size());
    appendRecord(p, owner);
  }
  return p;
}

TEST_CASE("a name in the additional section is at most 255 bytes through its pointers") {
  CHECK(parse(chainOfOwners(31)) == ParseStatus::Ok);       // 32 + 192 + 31 = 255
  CHECK(parse(chainOfOwners(32)) == ParseStatus::FormErr);  // 256 (RFC 1035 §2.3.4)
}

TEST_CASE("a TSIG that is not the last additional record is FORMERR (RFC 8945 §5.1)") {
  // fuzz_query crash-7937e668: TSIG, then OPT; ldns stops reading at the TSIG.
  auto p = question(2);
  p.insert(p.end(), {0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0});  // TSIG, class ANY, no rdata
  p.insert(p.end(), {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0});  // OPT
  CHECK(parse(p) == ParseStatus::FormErr);
  p[11] = 1;
  p.resize(p.size() - 11);
  CHECK(parse(p) == ParseStatus::Ok);  // TSIG last: not verified, answered without one
}

TEST_CASE("an additional record's rdata is skipped by RDLENGTH, whatever its type says") {
  // fuzz_responder crash-15bb5af2: an MF record (type 4, one name) with 3 bytes of rdata,
  // then OPT. ldns 1.8.3 reads the name and takes the next record from inside the rdata;
  // dnsd goes by RDLENGTH (RFC 1035 §3.2.1) and finds the OPT.
  auto p = question(2);
  p.insert(p.end(), {0, 0, 4, 0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 0xF8});
  p.insert(p.end(), {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0});
  wire::QueryView q;
  REQUIRE(wire::parseQuery(p.data(), p.size(), q) == ParseStatus::Ok);
  CHECK(q.has_edns);
  CHECK(q.udp_size == 1232);
}
