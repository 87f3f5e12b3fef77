// zone::buildSnapshot: every name (and every empty non-terminal) is found by its wire form,
// names that are suffixes of others share their bytes, and what cannot be served is refused.
#include "dnsd/zone/snapshot.h"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "dnsd/wire/dns.h"
#include "dnsd/zone/records.h"

namespace dnsd::zone {
namespace {

wire::Name name(const char* text) { return *wire::Name::parse(text); }

const Node* find(const Snapshot& snap, const wire::Name& n) {
  return snap.find(n.data(), n.size(), n.hash());
}

ZoneContent zoneWith(const std::vector<const char*>& owners) {
  ZoneContent zone;
  zone.apex = name("cluster.local");
  zone.records.push_back(soaRecord(zone.apex, zone.apex, 5, 1, 5));
  uint8_t last = 1;
  for (const char* owner : owners)
    zone.records.push_back(addressRecord(name(owner), 5, *base::IpAddress::parse(
                                                             "10.0.0." + std::to_string(last++))));
  return zone;
}

TEST_CASE("every owner and every ancestor up to the apex is a node with its own name") {
  const std::vector<const char*> owners = {
      "web.prod.svc.cluster.local", "_http._tcp.web.prod.svc.cluster.local",
      "web-0.web.prod.svc.cluster.local", "db.prod.svc.cluster.local",
      "x.y.z.deep.cluster.local"};
  auto snap = buildSnapshot({zoneWith(owners)}, 1);
  REQUIRE(snap.ok());
  const std::vector<const char*> names = {
      "cluster.local", "svc.cluster.local", "prod.svc.cluster.local",
      "web.prod.svc.cluster.local", "_tcp.web.prod.svc.cluster.local",
      "_http._tcp.web.prod.svc.cluster.local", "web-0.web.prod.svc.cluster.local",
      "db.prod.svc.cluster.local", "deep.cluster.local", "z.deep.cluster.local",
      "y.z.deep.cluster.local", "x.y.z.deep.cluster.local"};
  CHECK((*snap)->nodeCount() == names.size());
  for (const char* text : names) {
    CAPTURE(text);
    const wire::Name n = name(text);
    const Node* node = find(**snap, n);
    REQUIRE(node != nullptr);
    REQUIRE(node->name_size == n.size());
    CHECK(std::memcmp((*snap)->nameOf(*node), n.data(), n.size()) == 0);
  }
  CHECK(find(**snap, name("nope.prod.svc.cluster.local")) == nullptr);
  CHECK(find(**snap, name("local")) == nullptr);
}

TEST_CASE("a name that ends another name is stored once, inside it") {
  auto snap = buildSnapshot({zoneWith({"_http._tcp.web.prod.svc.cluster.local"})}, 1);
  REQUIRE(snap.ok());
  const wire::Name longest = name("_http._tcp.web.prod.svc.cluster.local");
  const uint8_t* stored = (*snap)->nameOf(*find(**snap, longest));
  // Each ancestor's bytes are the tail of the longest name's.
  for (const char* text : {"web.prod.svc.cluster.local", "svc.cluster.local", "cluster.local"}) {
    CAPTURE(text);
    const wire::Name n = name(text);
    CHECK((*snap)->nameOf(*find(**snap, n)) == stored + (longest.size() - n.size()));
  }
}

TEST_CASE("RRsets are found by type and read back through view()") {
  ZoneContent zone = zoneWith({"web.prod.svc.cluster.local"});
  zone.records.push_back(
      addressRecord(name("web.prod.svc.cluster.local"), 5, *base::IpAddress::parse("fd00::1")));
  auto snap = buildSnapshot({zone}, 7);
  REQUIRE(snap.ok());
  CHECK((*snap)->serial() == 7);
  const Node* node = find(**snap, name("web.prod.svc.cluster.local"));
  REQUIRE(node != nullptr);
  CHECK(node->rrset_count == 2);
  const StoredRRset* a = (*snap)->rrset(*node, wire::type::A);
  const StoredRRset* aaaa = (*snap)->rrset(*node, wire::type::AAAA);
  REQUIRE(a != nullptr);
  REQUIRE(aaaa != nullptr);
  CHECK((*snap)->rrset(*node, wire::type::TXT) == nullptr);
  const wire::RRsetView view = (*snap)->view(*aaaa);
  CHECK(view.type == wire::type::AAAA);
  CHECK(view.count == 1);
  // One RR: 2-byte length, type, class, TTL, rdlength, then the 16 address bytes.
  REQUIRE(view.size == 12 + 16);
  CHECK(wire::load16(view.data + 2) == wire::type::AAAA);
  CHECK(view.data[12] == 0xfd);
}

TEST_CASE("a name's RRset headers follow its name, and its records follow them") {
  ZoneContent zone = zoneWith({"web.prod.svc.cluster.local", "db.prod.svc.cluster.local"});
  zone.records.push_back(
      addressRecord(name("db.prod.svc.cluster.local"), 5, *base::IpAddress::parse("fd00::1")));
  auto snap = buildSnapshot({zone}, 1);
  REQUIRE(snap.ok());
  // db.prod is stored by itself (prod.svc.cluster.local is web's tail): its region is next.
  const Node* db = find(**snap, name("db.prod.svc.cluster.local"));
  REQUIRE(db != nullptr);
  REQUIRE(db->rrset_count == 2);
  const StoredRRset* headers = (*snap)->rrsetsOf(*db);
  CHECK(reinterpret_cast<const uint8_t*>(headers) == (*snap)->nameOf(*db) + db->name_size);
  const uint8_t* records = reinterpret_cast<const uint8_t*>(headers + db->rrset_count);
  CHECK((*snap)->view(headers[0]).data == records);
  CHECK((*snap)->view(headers[1]).data == records + headers[0].size);
}

TEST_CASE("a table of many names finds each in its slot and no other name") {
  std::vector<std::string> texts;
  for (int i = 0; i < 3000; ++i)
    texts.push_back("svc-" + std::to_string(i) + ".ns-" + std::to_string(i % 7) +
                    ".svc.cluster.local");
  ZoneContent zone = zoneWith({});
  for (const auto& t : texts)
    zone.records.push_back(addressRecord(name(t.c_str()), 5, *base::IpAddress::parse("10.1.2.3")));
  auto snap = buildSnapshot({zone}, 1);
  REQUIRE(snap.ok());
  CHECK((*snap)->nodeCount() == 3000 + 7 + 2);
  int absent_hinted_absent = 0;
  for (const auto& t : texts) {
    CAPTURE(t);
    const wire::Name n = name(t.c_str());
    const Node* node = find(**snap, n);
    REQUIRE(node != nullptr);
    CHECK(&(*snap)->node((*snap)->findIndex(n.data(), n.size(), n.hash())) == node);
    CHECK(std::memcmp((*snap)->nameOf(*node), n.data(), n.size()) == 0);
    CHECK((*snap)->rrset(*node, wire::type::A) != nullptr);
    CHECK(find(**snap, name(("x" + t).c_str())) == nullptr);
    // The prefetch hint never calls a name absent that is there; for most absent names it
    // meets an empty slot first and says so (what answer::prefetchRecords acts on).
    CHECK((*snap)->prefetchNode(n.hash()));
    absent_hinted_absent += !(*snap)->prefetchNode(name(("x" + t).c_str()).hash());
  }
  CHECK(absent_hinted_absent > 3000 / 4);
}

TEST_CASE("every target of a large zone links to its node, on both halves of the links") {
  // Past kParallelLinksMin the links are looked up on two threads, each taking a half.
  constexpr int kCount = 30000;
  ZoneContent zone = zoneWith({});
  auto target = [](int i) { return name(("t-" + std::to_string(i) + ".cluster.local").c_str()); };
  for (int i = 0; i < kCount; ++i) {
    const wire::Name owner = name(("c-" + std::to_string(i) + ".cluster.local").c_str());
    zone.records.push_back(nameRecord(owner, wire::type::CNAME, 5, target(i)));
    // Every third target is not in the zone: its link stays kNoNode.
    if (i % 3 != 0)
      zone.records.push_back(addressRecord(target(i), 5, *base::IpAddress::parse("10.1.2.3")));
  }
  auto snap = buildSnapshot({zone}, 1);
  REQUIRE(snap.ok());
  const Snapshot& s = **snap;
  int linked = 0;
  for (int i = 0; i < kCount; ++i) {
    CAPTURE(i);
    const Node* owner = find(s, name(("c-" + std::to_string(i) + ".cluster.local").c_str()));
    REQUIRE(owner != nullptr);
    const StoredRRset* cname = s.rrset(*owner, wire::type::CNAME);
    REQUIRE(cname != nullptr);
    const Node* to = find(s, target(i));
    if (i % 3 == 0) {
      CHECK(to == nullptr);
      CHECK(s.link(cname->links, 0) == kNoNode);
    } else {
      REQUIRE(to != nullptr);
      CHECK(&s.node(s.link(cname->links, 0)) == to);
      ++linked;
    }
  }
  CHECK(linked == kCount - (kCount + 2) / 3);
}

TEST_CASE("more than 255 record types at one name is refused, not wrapped") {
  ZoneContent zone = zoneWith({});
  const wire::Name owner = name("many.cluster.local");
  for (uint16_t type = 1000; type < 1000 + 256; ++type)
    zone.records.push_back(Record{owner, type, 5, "x", std::nullopt});
  auto snap = buildSnapshot({zone}, 1);
  REQUIRE_FALSE(snap.ok());
  CHECK(snap.error().message.find("more than 255 record types") != std::string::npos);
}

}  // namespace
}  // namespace dnsd::zone
