// ZoneEditor against the full build over three zones at once (a cluster-like zone, a reverse
// zone of PTRs into it, a static zone with MX, NS and a CNAME across zones), with apex SOAs
// that change and pod parents that come and go: after any sequence of patches the patched
// snapshot must dump exactly like buildSnapshot() of the same records and names.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "dnsd/wire/dns.h"
#include "dnsd/zone/records.h"
#include "dnsd/zone/zone_editor.h"
#include "tests/support/patch_world.h"
#include "tests/support/sanitizer.h"
#include "tests/support/snapshot_dump.h"

namespace {

constexpr uint32_t kRounds = dnsd::testing::rounds<uint32_t>(2000, 200);

using namespace dnsd;
using namespace dnsd::testing::patch_world;

TEST_CASE("patches across three zones serve what a full build of the same records serves") {
  World w;
  std::mt19937 rng(20261204);
  zone::ZoneEditor editor;
  editor.adopt(build(w, 1));
  int applied = 0, rebuilt = 0;
  for (uint32_t round = 2; round < kRounds; ++round) {
    const zone::Patch patch = w.randomPatch(rng, round);
    CAPTURE(round);
    const auto before = editor.current();
    auto patched = editor.apply(patch);
    if (!patched.ok()) {
      // Only the limits of incremental patching may refuse these patches.
      const std::string why = patched.error().message;
      CAPTURE(why);
      REQUIRE((why.find("full") != std::string::npos || why.find("dead") != std::string::npos));
      REQUIRE(editor.current() == before);
      editor.adopt(build(w, round));
      ++rebuilt;
      continue;
    }
    ++applied;
    REQUIRE(editor.current() == *patched);
    const auto expected = build(w, round);
    REQUIRE(testing::snapshotDump(**patched) == testing::snapshotDump(*expected));
  }
  // Most patches must apply incrementally, and the limits must be reached too.
  CHECK(applied > kRounds * 8 / 10);
  CHECK(rebuilt > 0);
}

TEST_CASE("a patch the editor refuses changes nothing, and it goes on from there") {
  World w;
  zone::ZoneEditor editor;
  editor.adopt(build(w, 1));
  const auto before = editor.current();
  const std::string dump = testing::snapshotDump(*before);

  SUBCASE("a record that is not there") {
    zone::Patch patch;
    patch.serial = 2;
    size_t absent = 1;
    REQUIRE_FALSE(w.present[absent]);
    patch.added.push_back(w.records[0].record);  // present: fails as well, but later
    patch.removed.push_back(w.records[absent].record);
    auto r = editor.apply(patch);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("no such record") != std::string::npos);
  }
  SUBCASE("a record already there") {
    zone::Patch patch;
    patch.added.push_back(w.records[0].record);
    auto r = editor.apply(patch);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("added twice") != std::string::npos);
  }
  SUBCASE("a record with another TTL than the zone's") {
    zone::Patch patch;
    Record r = w.records[0].record;
    r.ttl += 1;
    patch.removed.push_back(r);
    CHECK_FALSE(editor.apply(patch).ok());
  }
  SUBCASE("an owner in no zone") {
    zone::Patch patch;
    patch.added.push_back(zone::addressRecord(name("a.example.net"), 5, ip("192.0.2.1")));
    auto r = editor.apply(patch);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("in no zone") != std::string::npos);
  }
  SUBCASE("a CNAME beside other data") {
    zone::Patch patch;
    patch.added.push_back(zone::nameRecord(name("s0.ns0.svc.cluster.local"), wire::type::CNAME, 5,
                                           name("x.example.org")));
    auto r = editor.apply(patch);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("CNAME") != std::string::npos);
  }
  SUBCASE("the zone's SOA taken out") {
    zone::Patch patch;
    patch.removed.push_back(w.soas[1][0]);
    auto r = editor.apply(patch);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("no SOA") != std::string::npos);
  }
  SUBCASE("a table filled with new names") {
    // The full build leaves room for a few new names; past that, a full build must
    // resize the table.
    zone::Patch patch;
    for (int i = 0; i < 2000; ++i)
      patch.added.push_back(
          zone::addressRecord(name("n" + std::to_string(i) + ".cluster.local"), 5, ip("10.1.0.1")));
    auto r = editor.apply(patch);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("full") != std::string::npos);
  }
  SUBCASE("too much of the arena dead") {
    // Each record added to the filler stores its large RRset anew and leaves the old copy
    // dead, until the editor refuses and a full build must start afresh.
    std::string why;
    for (int i = 0; i < 200 && why.empty(); ++i) {
      const auto last = editor.current();
      zone::Patch patch;
      patch.added.push_back(
          zone::txtRecord(name("filler.example.com"), 300, "more" + std::to_string(i)));
      auto r = editor.apply(patch);
      if (r.ok()) continue;
      why = r.error().message;
      CHECK(editor.current() == last);
    }
    CHECK(why.find("dead") != std::string::npos);
    return;
  }
  CHECK(editor.current() == before);
  CHECK(testing::snapshotDump(*editor.current()) == dump);
  // And the editor still works from there.
  zone::Patch patch;
  patch.removed.push_back(w.records[0].record);
  REQUIRE(editor.apply(patch).ok());
}

}  // namespace
