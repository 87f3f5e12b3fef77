// An AXFR's bytes read back by a strict decoder: every compression pointer goes back to a
// label written earlier in the same message, every message fits TCP's 65,535 bytes, and the
// records decoded are the zone's, each once, between the two SOAs.
#include "dnsd/transfer/message_stream.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "dnsd/transfer/journal.h"
#include "dnsd/transfer/responder.h"
#include "dnsd/wire/dns.h"
#include "dnsd/zone/records.h"
#include "tests/support/dns_test_util.h"

namespace dnsd::transfer {
namespace {

wire::Name name(const std::string& text) { return *wire::Name::parse(text); }

// One message decoded: its records as (lowercase owner wire name + type, class, TTL,
// rdlength, rdata), or an error.
struct Decoded {
  std::vector<std::string> records;
  std::string error;
};

// Reads the name at `at`, appending it in lowercase wire form to `out`. A pointer must go
// back to where an earlier name of this message had a label (`labels`); the labels written
// here join them.
bool readName(const uint8_t* m, size_t size, size_t& at, std::set<size_t>& labels,
              std::string& out) {
  size_t p = at;
  bool jumped = false;
  for (int hops = 0; hops < 128; ++hops) {
    if (p >= size) return false;
    const uint8_t len = m[p];
    if ((len & 0xC0) == 0xC0) {
      if (p + 2 > size) return false;
      const size_t target = (len & 0x3F) << 8 | m[p + 1];
      if (target >= p || labels.count(target) == 0) return false;
      if (!jumped) at = p + 2;
      jumped = true;
      p = target;
      continue;
    }
    if (len & 0xC0) return false;
    if (!jumped) labels.insert(p);
    if (p + 1 + len > size) return false;
    out.push_back(static_cast<char>(len));
    for (size_t i = 0; i < len; ++i) out.push_back(static_cast<char>(std::tolower(m[p + 1 + i])));
    p += 1 + len;
    if (len == 0) {
      if (!jumped) at = p;
      return true;
    }
  }
  return false;
}

Decoded decode(const uint8_t* m, size_t size) {
  Decoded d;
  if (size < wire::kHeaderSize) return d.error = "short header", d;
  std::set<size_t> labels;
  size_t at = wire::kHeaderSize;
  std::string qname;
  if (wire::load16(m + 4) != 1 || !readName(m, size, at, labels, qname) || at + 4 > size)
    return d.error = "question", d;
  at += 4;
  const size_t count = wire::load16(m + 6);
  for (size_t i = 0; i < count; ++i) {
    std::string rr;
    if (!readName(m, size, at, labels, rr)) return d.error = "owner " + std::to_string(i), d;
    if (at + 10 > size) return d.error = "fixed fields", d;
    const size_t rdlength = wire::load16(m + at + 8);
    if (at + 10 + rdlength > size) return d.error = "rdata", d;
    rr.append(reinterpret_cast<const char*>(m + at), 10 + rdlength);
    at += 10 + rdlength;
    d.records.push_back(std::move(rr));
  }
  return d;
}

// The bytes decode() gives for a record of the zone.
std::string expected(const zone::RecordList::View& r) {
  std::string rr(reinterpret_cast<const char*>(r.owner), r.owner_size);
  uint8_t fixed[10];
  wire::store16(fixed, r.type);
  wire::store16(fixed + 2, wire::kClassIn);
  wire::store32(fixed + 4, r.ttl);
  wire::store16(fixed + 8, r.rdata_size);
  rr.append(reinterpret_cast<const char*>(fixed), sizeof fixed);
  rr.append(r.rdataBytes());
  return rr;
}

TEST_CASE("AXFR: a strict decoder reads back exactly the zone, message by message") {
  zone::ZoneContent z;
  z.apex = name("Cluster.Local");
  z.records.push_back(zone::soaRecord(z.apex, z.apex, 5, 9, 5));
  z.records.push_back(zone::nameRecord(z.apex, wire::type::NS, 5, name("ns.dns.cluster.local")));
  z.records.push_back(
      zone::addressRecord(name("ns.dns.cluster.local"), 5, *base::IpAddress::parse("10.96.0.10")));
  // Owners of every shape canonical order puts side by side: siblings, a parent after its
  // children, deep names under a short one, several records and types at one name, names
  // in other namespaces; TXT rdata of many sizes.
  for (int ns = 0; ns < 6; ++ns) {
    const std::string nsname = "Ns-" + std::to_string(ns) + ".svc.cluster.local";
    for (int s = 0; s < 400; ++s) {
      const std::string svc = "svc-" + std::to_string(s) + "." + nsname;
      const std::string ip = "10." + std::to_string(ns) + "." + std::to_string(s / 200) + ".";
      z.records.push_back(
          zone::addressRecord(name(svc), 5, *base::IpAddress::parse(ip + std::to_string(s % 200))));
      if (s % 3 == 0) {  // headless: several addresses and a name per endpoint
        for (int e = 0; e < 3; ++e) {
          const auto addr = *base::IpAddress::parse(ip + std::to_string(200 + e));
          z.records.push_back(zone::addressRecord(name(svc), 5, addr));
          z.records.push_back(
              zone::addressRecord(name("ep-" + std::to_string(e) + "." + svc), 5, addr));
        }
        z.records.push_back(zone::addressRecord(name(svc), 5, *base::IpAddress::parse("fd00::1")));
      }
      if (s % 7 == 0)
        z.records.push_back(
            zone::nameRecord(name("_http._tcp." + svc), wire::type::PTR, 30, name("web." + svc)));
      if (s % 50 == 0)
        z.records.push_back(zone::txtRecord(name("txt." + svc), 5, std::string(200 + s, 'x')));
    }
  }
  auto built = zone::buildSnapshot({z}, 9);
  REQUIRE(built.ok());
  auto state = advance(nullptr, *built, {}, nullptr);

  std::multiset<std::string> want;
  std::string soa;
  for (size_t i = 0; i < z.records.size(); ++i) {
    want.insert(expected(z.records[i]));
    if (z.records[i].type == wire::type::SOA) soa = expected(z.records[i]);
  }
  // The builder keeps identical records once.
  std::set<std::string> unique(want.begin(), want.end());

  for (bool edns : {false, true}) {
    CAPTURE(edns);
    testing::QueryOptions opt;
    opt.edns = edns;
    auto q = testing::makeQuery("cluster.local", "AXFR", opt);
    std::vector<std::string> got;
    size_t messages = 0;
    Summary s = respond(*state, q.data(), q.size(), [&](const uint8_t* data, size_t size) {
      // One or more framed messages.
      while (size > 0) {
        REQUIRE(size >= 2);
        const size_t length = wire::load16(data);
        REQUIRE(length + 2 <= size);
        CHECK(length <= wire::kMaxMessage);
        Decoded d = decode(data + 2, length);
        CHECK(d.error == "");
        CHECK(wire::load16(data + 2 + 10) == (edns ? 1 : 0));  // the OPT of RFC 6891 §7
        got.insert(got.end(), d.records.begin(), d.records.end());
        ++messages;
        data += 2 + length;
        size -= 2 + length;
      }
      return true;
    });
    CHECK(s.complete);
    CHECK(s.messages == messages);
    CHECK(messages > 3);
    REQUIRE(got.size() == unique.size() + 1);
    CHECK(got.front() == soa);
    CHECK(got.back() == soa);
    std::set<std::string> others = unique;
    others.erase(soa);
    const std::multiset<std::string> inner(got.begin() + 1, got.end() - 1);
    CHECK(std::set<std::string>(inner.begin(), inner.end()) == others);
    CHECK(inner.size() == others.size());  // each record once
  }
}

}  // namespace
}  // namespace dnsd::transfer
