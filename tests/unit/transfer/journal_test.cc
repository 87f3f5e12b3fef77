// The IXFR journal's diffs when ZoneEditor's patches made the new snapshot: compared at the
// names the patches touched, they must be exactly the diffs of the whole zones, over random
// patches across three zones, several patches to a serial and full builds in between.
#include "dnsd/transfer/journal.h"

#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <vector>

#include "dnsd/zone/zone_editor.h"
#include "tests/support/patch_world.h"
#include "tests/support/sanitizer.h"

namespace dnsd::transfer {
namespace {

using namespace dnsd::testing::patch_world;
using Patches = std::vector<std::shared_ptr<const zone::Patch>>;

constexpr uint32_t kRounds = dnsd::testing::rounds<uint32_t>(1500, 150);

// The newest diff of each zone of `a` equals that of `b`, byte for byte.
void checkSameDiffs(const JournalState& a, const JournalState& b) {
  REQUIRE(a.diffs.size() == b.diffs.size());
  for (const auto& [apex, list] : a.diffs) {
    CAPTURE(wire::Name::fromWire(apex).text());
    const auto other = b.diffs.find(apex);
    REQUIRE(other != b.diffs.end());
    REQUIRE(list.size() == other->second.size());
    if (list.empty()) continue;
    const Diff& x = *list.back();
    const Diff& y = *other->second.back();
    CHECK(x.from == y.from);
    CHECK(x.to == y.to);
    CHECK(x.from_soa == y.from_soa);
    CHECK(x.to_soa == y.to_soa);
    CHECK(x.removed_count == y.removed_count);
    CHECK(x.added_count == y.added_count);
    CHECK(x.removed == y.removed);
    CHECK(x.added == y.added);
  }
}

TEST_CASE("a diff made from the patches since the last serial is the diff of the whole zones") {
  World w;
  std::mt19937 rng(20261205);
  zone::ZoneEditor editor;
  editor.adopt(build(w, 1));
  auto state = advance(nullptr, editor.current(), {}, nullptr);
  int by_patches = 0, with_changes = 0, several = 0, walked = 0;
  for (uint32_t round = 2; round < kRounds; ++round) {
    CAPTURE(round);
    // Several patches may reach the journal as one serial; a full build (the first zone, a
    // reload, a patch the editor refuses) in between leaves it nothing to follow.
    Patches patches;
    bool whole = false;
    const uint32_t count = 1 + rng() % 4;
    for (uint32_t k = 0; k < count; ++k) {
      if (rng() % 32 == 0) {
        editor.adopt(build(w, round));
        whole = true;
        continue;
      }
      auto patch = std::make_shared<const zone::Patch>(w.randomPatch(rng, round));
      if (!editor.apply(*patch).ok()) {
        editor.adopt(build(w, round));
        whole = true;
        continue;
      }
      patches.push_back(std::move(patch));
    }
    std::vector<int> changed_whole, changed_patches;
    auto expected = advance(state.get(), editor.current(), {}, &changed_whole, nullptr);
    if (whole) {
      ++walked;
      state = expected;
      continue;
    }
    auto made = advance(state.get(), editor.current(), {}, &changed_patches, &patches);
    CHECK(changed_patches == changed_whole);
    checkSameDiffs(*made, *expected);
    ++by_patches;
    with_changes += !changed_whole.empty();
    several += patches.size() > 1;
    // The next round diffs from the state the patches made, whose nodes were never sorted.
    state = made;
  }
  // Every kind of round happened often enough to mean something.
  CHECK(by_patches > static_cast<int>(kRounds) / 2);
  CHECK(with_changes > by_patches / 2);
  CHECK(several > by_patches / 4);
  CHECK(walked > 0);
}

TEST_CASE("a record one patch adds and the next removes under one serial is no change") {
  World w;
  zone::ZoneEditor editor;
  editor.adopt(build(w, 1));
  auto state = advance(nullptr, editor.current(), {}, nullptr);
  size_t absent = 1;
  REQUIRE_FALSE(w.present[absent]);
  auto add = std::make_shared<zone::Patch>();
  add->added.push_back(w.records[absent].record);
  auto remove = std::make_shared<zone::Patch>();
  remove->removed.push_back(w.records[absent].record);
  REQUIRE(editor.apply(*add).ok());
  REQUIRE(editor.apply(*remove).ok());
  const Patches patches = {add, remove};
  std::vector<int> changed;
  auto next = advance(state.get(), editor.current(), {}, &changed, &patches);
  // No zone changed: no NOTIFY, and each diff is empty.
  CHECK(changed.empty());
  for (const auto& [apex, list] : next->diffs) {
    REQUIRE(list.size() == 1);
    CHECK(list.back()->empty());
  }
}

}  // namespace
}  // namespace dnsd::transfer
