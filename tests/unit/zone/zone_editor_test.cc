// zone::ZoneEditor: after any sequence of patches the snapshot answers as a full build of
// the same records does (every name, empty non-terminal, RRset, link and negative SOA), and
// a patch it refuses changes nothing.
#include "dnsd/zone/zone_editor.h"

#include <doctest/doctest.h>

#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "dnsd/wire/dns.h"
#include "dnsd/zone/records.h"
#include "tests/support/sanitizer.h"
#include "tests/support/snapshot_dump.h"

namespace dnsd::zone {
namespace {

constexpr uint32_t kSequences = dnsd::testing::rounds<uint32_t>(300, 30);

wire::Name name(const std::string& text) { return *wire::Name::parse(text); }

// A record as the test keeps it: owner, type, the rdata before the target, the target.
using Rec = std::tuple<std::string, uint16_t, std::string, std::string>;

void addTo(RecordList& list, const Rec& r) {
  const auto& [owner, type, head, target] = r;
  const wire::Name t = target.empty() ? wire::Name() : name(target);
  list.add(name(owner), type, 5, head, target.empty() ? nullptr : &t);
}

const wire::Name kCluster = name("cluster.local");
const wire::Name kReverse = name("10.in-addr.arpa");

// The records of the two zones, beside their SOAs.
std::vector<ZoneContent> zonesOf(const std::set<Rec>& records, const std::set<std::string>& kept,
                                 uint32_t serial) {
  std::vector<ZoneContent> zones(2);
  zones[0].apex = kCluster;
  zones[1].apex = kReverse;
  for (auto& z : zones) z.records.push_back(soaRecord(z.apex, kCluster, 5, serial, 5));
  for (const Rec& r : records)
    addTo(name(std::get<0>(r)).isSubdomainOf(kReverse) ? zones[1].records : zones[0].records, r);
  for (const std::string& k : kept) zones[0].empty_names.push_back(name(k));
  return zones;
}

std::string ip4(int last) { return std::string("\x0a\x00\x00", 3) + static_cast<char>(last); }

const std::vector<std::string> kNames = {
    "web.a.svc.cluster.local",     "db.a.svc.cluster.local",
    "web.b.svc.cluster.local",     "_http._tcp.web.a.svc.cluster.local",
    "db-0.db.a.svc.cluster.local", "x.y.z.cluster.local",
    "1.0.96.10.in-addr.arpa",      "2.0.96.10.in-addr.arpa",
    "7.1.244.10.in-addr.arpa"};

Rec randomRecord(std::mt19937& rng) {
  const std::string owner = kNames[rng() % kNames.size()];
  const std::string target = kNames[rng() % kNames.size()];
  // A CNAME seldom: with other data at its name the zone cannot be built at all.
  const uint32_t kind = rng() % 10;
  if (kind < 4) return {owner, wire::type::A, ip4(static_cast<int>(rng() % 3)), ""};
  if (kind < 7)
    return {owner, wire::type::SRV, std::string("\0\0\0\x64\0", 5) + char(rng() % 2), target};
  if (kind < 9) return {owner, wire::type::PTR, "", target};
  return {owner, wire::type::CNAME, "", target};
}

TEST_CASE("any sequence of patches serves what a full build of the same records serves") {
  int applied = 0, refused = 0, unbuildable = 0;
  for (uint32_t seed = 1; seed <= kSequences; ++seed) {
    std::mt19937 rng(seed);
    std::set<Rec> records;
    std::set<std::string> kept = {"a.svc.cluster.local"};
    uint32_t serial = 1;
    // Half the sequences start as the server does (a build made for the editor), half from
    // a plain build the editor prepares itself.
    const bool made_for_it = seed % 2;
    EditState edit;
    auto built = buildSnapshot(zonesOf(records, kept, serial), serial, nullptr,
                               made_for_it ? &edit : nullptr);
    REQUIRE(built.ok());
    ZoneEditor editor;
    editor.adopt(*built, std::move(edit));
    for (int step = 0; step < 40; ++step) {
      Patch patch;
      std::set<Rec> next = records;
      std::set<std::string> next_kept = kept;
      for (int op = 1 + rng() % 4; op-- > 0;) {
        const Rec r = randomRecord(rng);
        if (next.count(r)) {
          next.erase(r);
          addTo(patch.removed, r);
        } else {
          next.insert(r);
          addTo(patch.added, r);
        }
      }
      if (rng() % 5 == 0) {  // a namespace comes or goes
        const std::string ns = rng() % 2 ? "b.svc.cluster.local" : "c.svc.cluster.local";
        if (next_kept.erase(ns))
          patch.kept_removed.push_back(name(ns));
        else
          patch.kept_added.push_back(name(ns)), next_kept.insert(ns);
      }
      if (rng() % 2) {  // a new serial
        for (const wire::Name& apex : {kCluster, kReverse}) {
          patch.removed.push_back(soaRecord(apex, kCluster, 5, serial, 5));
          patch.added.push_back(soaRecord(apex, kCluster, 5, serial + 1, 5));
        }
        ++serial;
      }
      patch.serial = serial;
      EditState next_edit;
      auto full = buildSnapshot(zonesOf(next, next_kept, serial), serial, nullptr,
                                made_for_it ? &next_edit : nullptr);
      const std::string before = testing::snapshotDump(*editor.current());
      auto patched = editor.apply(patch);
      INFO("seed ", seed, " step ", step);
      if (!patched) {
        // Refused: nothing changed, and the zone is built whole, as the server does.
        CHECK(testing::snapshotDump(*editor.current()) == before);
        ++(full ? refused : unbuildable);
        if (!full) {
          serial = editor.current()->serial();
          continue;  // what cannot be built is not served (a CNAME beside other data)
        }
        editor.adopt(*full, std::move(next_edit));
      } else {
        ++applied;
        REQUIRE_MESSAGE(full.ok(), "the editor took what a full build refuses: ",
                        full.ok() ? "" : full.error().message);
        REQUIRE(testing::snapshotDump(**patched) == testing::snapshotDump(**full));
      }
      records = std::move(next);
      kept = std::move(next_kept);
    }
  }
  MESSAGE(applied, " patches applied, ", refused, " refused (and built whole), ", unbuildable,
          " refused as a full build refuses them");
  // The editor refuses a buildable zone only when its table or arena runs out.
  CHECK(applied > refused * 20);
}

TEST_CASE("a record to remove that is not there is refused, and nothing changes") {
  std::set<Rec> records = {{"web.a.svc.cluster.local", wire::type::A, ip4(1), ""}};
  auto built = buildSnapshot(zonesOf(records, {}, 1), 1);
  REQUIRE(built.ok());
  ZoneEditor editor;
  editor.adopt(*built);
  Patch patch;
  addTo(patch.removed, {"web.a.svc.cluster.local", wire::type::A, ip4(2), ""});
  addTo(patch.added, {"db.a.svc.cluster.local", wire::type::A, ip4(3), ""});
  auto patched = editor.apply(patch);
  REQUIRE(!patched.ok());
  CHECK(patched.error().message.find("web.a.svc.cluster.local") != std::string::npos);
  CHECK(editor.current() == *built);
  const wire::Name db = name("db.a.svc.cluster.local");
  CHECK(editor.current()->find(db.data(), db.size(), db.hash()) == nullptr);
}

TEST_CASE("names come and go with their records, empty non-terminals with their last child") {
  auto built = buildSnapshot(zonesOf({}, {}, 1), 1);
  REQUIRE(built.ok());
  ZoneEditor editor;
  editor.adopt(*built);
  const Rec srv = {"_http._tcp.web.a.svc.cluster.local", wire::type::SRV,
                   std::string("\0\0\0\x64\0\x50", 6), "db.a.svc.cluster.local"};
  const Rec a = {"db.a.svc.cluster.local", wire::type::A, ip4(1), ""};
  auto exists = [&](const char* text) {
    const wire::Name n = name(text);
    return editor.current()->find(n.data(), n.size(), n.hash()) != nullptr;
  };
  Patch add;
  addTo(add.added, srv);
  REQUIRE(editor.apply(add).ok());
  CHECK(exists("_tcp.web.a.svc.cluster.local"));  // an empty non-terminal
  CHECK(exists("svc.cluster.local"));
  // The SRV's target does not exist yet: no link. Once it does, the SRV links it.
  const Node* owner = [&] {
    const wire::Name n = name(std::get<0>(srv));
    return editor.current()->find(n.data(), n.size(), n.hash());
  }();
  REQUIRE(owner != nullptr);
  CHECK(editor.current()->link(editor.current()->rrsetsOf(*owner)[0].links, 0) == kNoNode);
  Patch target;
  addTo(target.added, a);
  REQUIRE(editor.apply(target).ok());
  const Snapshot& snap = *editor.current();
  const wire::Name n = name(std::get<0>(srv));
  const Node* linked = snap.find(n.data(), n.size(), n.hash());
  REQUIRE(linked != nullptr);
  const uint32_t to = snap.link(snap.rrsetsOf(*linked)[0].links, 0);
  REQUIRE(to != kNoNode);
  CHECK(testing::nodeName(snap, snap.node(to)) == "db.a.svc.cluster.local.");
  // The SRV goes: its empty non-terminals go with it, its target's name stays.
  Patch remove;
  addTo(remove.removed, srv);
  REQUIRE(editor.apply(remove).ok());
  CHECK(!exists("_http._tcp.web.a.svc.cluster.local"));
  CHECK(!exists("_tcp.web.a.svc.cluster.local"));
  CHECK(!exists("web.a.svc.cluster.local"));
  CHECK(exists("db.a.svc.cluster.local"));
  Patch last;
  addTo(last.removed, a);
  REQUIRE(editor.apply(last).ok());
  CHECK(!exists("db.a.svc.cluster.local"));
  CHECK(!exists("svc.cluster.local"));
  CHECK(exists("cluster.local"));
}

}  // namespace
}  // namespace dnsd::zone
