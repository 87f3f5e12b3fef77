// TransferServer's journal fed as server.cc feeds it: every snapshot served, offered to the
// secondaries or not, with the patch that made it when one did. Whatever came in between
// (snapshots not offered, full builds, a snapshot the transfer server never heard of and so a
// patch to a snapshot it did not see), each serial's diff must be the comparison of every
// name of the two snapshots offered.
#include "dnsd/server/transfer_server.h"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "dnsd/transfer/zone_walk.h"
#include "dnsd/zone/zone_editor.h"
#include "tests/support/patch_world.h"
#include "tests/support/sanitizer.h"

namespace dnsd::server {
namespace {

using namespace dnsd::testing::patch_world;

constexpr uint32_t kRounds = dnsd::testing::rounds<uint32_t>(400, 60);

// The journal's state once it took in `snapshot`.
std::shared_ptr<const transfer::JournalState> taken(const TransferServer& server,
                                                    const zone::Snapshot* snapshot) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto state = server.state();
    if (state && state->snapshot.get() == snapshot) return state;
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

TEST_CASE("each serial's diff compares the snapshots offered, whatever came in between") {
  World w;
  std::mt19937 rng(20261206);
  zone::ZoneEditor editor;
  editor.adopt(build(w, 1));
  TransferServer server(TransferOptions{});
  REQUIRE(server.start().ok());
  server.publish(editor.current());
  auto offered = editor.current();
  taken(server, offered.get());
  int patched = 0, fell_back = 0;
  for (uint32_t round = 2; round < kRounds; ++round) {
    CAPTURE(round);
    const uint32_t kind = rng() % 16;
    const bool offer = rng() % 3 != 0;
    if (kind == 0) {
      // A full build.
      editor.adopt(build(w, round));
      server.publish(editor.current(), offer);
      ++fell_back;
    } else {
      transfer::Patched step;
      step.base = editor.current();
      zone::Patch patch = w.randomPatch(rng, round);
      auto made = editor.apply(patch);
      if (!made.ok()) {
        editor.adopt(build(w, round));
        server.publish(editor.current(), offer);
        ++fell_back;
      } else if (kind == 1) {
        // Served without the transfer server hearing of it (as withHosts() is): the next
        // patch follows a snapshot it never saw.
        continue;
      } else {
        step.patch = std::make_shared<const zone::Patch>(std::move(patch));
        server.publish(*made, offer, &step);
        ++patched;
      }
    }
    if (!offer) continue;
    const auto next = editor.current();
    const auto state = taken(server, next.get());
    for (size_t z = 0; z < next->zoneCount(); ++z) {
      const int zi = static_cast<int>(z);
      const wire::Name& apex = next->zone(zi).apex;
      const int old_zone = transfer::findZone(*offered, apex.data(), apex.size());
      REQUIRE(old_zone >= 0);
      const transfer::Diff want =
          transfer::diffZone(*offered, old_zone, transfer::zoneNodes(*offered, old_zone), *next, zi,
                             transfer::zoneNodes(*next, zi));
      const auto list = state->diffs.find(apex.wire());
      REQUIRE(list != state->diffs.end());
      REQUIRE_FALSE(list->second.empty());
      const transfer::Diff& got = *list->second.back();
      CHECK(got.from == want.from);
      CHECK(got.to == want.to);
      CHECK(got.removed == want.removed);
      CHECK(got.added == want.added);
    }
    offered = next;
  }
  CHECK(patched > static_cast<int>(kRounds) / 2);
  CHECK(fell_back > 0);
}

}  // namespace
}  // namespace dnsd::server
