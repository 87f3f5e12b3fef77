// IXFR's history (RFC 1995): for each zone, the differences between the snapshots published
// one after another, oldest first, computed by comparing two snapshots' records: at the names
// the patches in between touched when patches made the new one (zone::ZoneEditor), else at
// every name. Only the differences are kept, never old snapshots, and only so many of them: a
// client whose serial is older than the oldest kept gets the whole zone (RFC 1995 §4).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/transfer/zone_walk.h"
#include "dnsd/zone/snapshot.h"
#include "dnsd/zone/zone_editor.h"

namespace dnsd::transfer {

// One publication's change to a zone. Records are stored back to back as their owner's wire
// name followed by their bytes after the owner (type, class, TTL, rdlength, rdata).
struct Diff {
  uint32_t from = 0, to = 0;     // the serials before and after
  std::string from_soa, to_soa;  // the SOAs' bytes after the owner (the zone's apex)
  std::string removed, added;
  size_t removed_count = 0, added_count = 0;

  size_t bytes() const { return from_soa.size() + to_soa.size() + removed.size() + added.size(); }
  bool empty() const { return removed_count == 0 && added_count == 0; }
};

// Calls f(Rr) for each record of a Diff's `removed` or `added`.
template <class F>
void forEachRr(std::string_view stored, F f) {
  const auto* p = reinterpret_cast<const uint8_t*>(stored.data());
  const uint8_t* end = p + stored.size();
  while (p < end) {
    const uint8_t* owner = p;
    while (*p != 0) p += *p + 1;
    ++p;
    Rr rr{owner, static_cast<uint8_t>(p - owner), p,
          static_cast<uint16_t>(10 + (p[8] << 8 | p[9]))};
    p += rr.size;
    f(rr);
  }
}

// The difference of zone `old_zone` of `old` and `new_zone` of `next` (the same apex): every
// record but the apex SOA, which the serials stand for. `old_nodes` and `new_nodes` are the
// zones' zoneNodes().
Diff diffZone(const zone::Snapshot& old, int old_zone, const std::vector<uint32_t>& old_nodes,
              const zone::Snapshot& next, int new_zone, const std::vector<uint32_t>& new_nodes);

struct JournalLimits {
  size_t max_diffs = 64;         // per zone
  size_t max_bytes = 64u << 20;  // per zone, all its diffs together
};

// What a transfer reads: the snapshot the journal took in last and, per zone (by its apex's
// wire form), the diffs that lead to it, oldest first. Immutable once made, but for the
// nodes sorted on first use: a transfer holds it by shared_ptr while the next one is made.
struct JournalState {
  explicit JournalState(std::shared_ptr<const zone::Snapshot> s);

  std::shared_ptr<const zone::Snapshot> snapshot;
  std::map<std::string, std::vector<std::shared_ptr<const Diff>>> diffs;

  // Zone `z`'s zoneNodes(), for an AXFR and a whole-zone diff: sorted by the first thread
  // that asks, as a serial made by patches needs neither, and sorting costs a walk of the
  // whole snapshot.
  const std::vector<uint32_t>& nodes(int z) const;

  // The diffs from `serial` to the snapshot's serial for zone `apex`, or an empty list when
  // they are not all kept.
  std::vector<std::shared_ptr<const Diff>> since(const std::string& apex, uint32_t serial) const;

 private:
  struct Nodes {
    std::once_flag sorted;
    std::vector<uint32_t> nodes;
  };
  std::unique_ptr<Nodes[]> nodes_;  // by zone index
};

// A snapshot that ZoneEditor made by applying `patch` to `base`.
struct Patched {
  std::shared_ptr<const zone::Patch> patch;
  std::weak_ptr<const zone::Snapshot> base;
};

// The state after `next` was published: each zone's diffs with the one from `previous`
// added. `changed` receives the index in `next` of each zone whose records changed (beyond
// its SOA), or every zone when there is no previous state. `patches`, when given, made
// `next` from previous->snapshot, in this order, and nothing else changed it: the diffs then
// compare only the names whose records they remove or add, not every name of every zone.
std::shared_ptr<const JournalState> advance(
    const JournalState* previous, std::shared_ptr<const zone::Snapshot> next,
    const JournalLimits& limits, std::vector<int>* changed,
    const std::vector<std::shared_ptr<const zone::Patch>>* patches = nullptr);

}  // namespace dnsd::transfer
