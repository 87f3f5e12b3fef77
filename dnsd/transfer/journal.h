// IXFR's history (RFC 1995): for each zone, the differences between the snapshots published
// one after another, oldest first, computed by comparing two snapshots' records. Only the
// differences are kept, never old snapshots, and only so many of them: a client whose
// serial is older than the oldest kept gets the whole zone (RFC 1995 §4).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/transfer/zone_walk.h"
#include "dnsd/zone/snapshot.h"

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
// wire form), the diffs that lead to it, oldest first. Immutable once made: a transfer holds
// it by shared_ptr while the next one is made.
struct JournalState {
  std::shared_ptr<const zone::Snapshot> snapshot;
  std::map<std::string, std::vector<std::shared_ptr<const Diff>>> diffs;
  // Each zone's zoneNodes(), by zone index: sorted once per snapshot, read by every
  // transfer and by the next diff.
  std::vector<std::vector<uint32_t>> nodes;

  // The diffs from `serial` to the snapshot's serial for zone `apex`, or an empty list when
  // they are not all kept.
  std::vector<std::shared_ptr<const Diff>> since(const std::string& apex, uint32_t serial) const;
};

// The state after `next` was published: each zone's diffs with the one from `previous`
// added. `changed` receives the index in `next` of each zone whose records changed (beyond
// its SOA), or every zone when there is no previous state.
std::shared_ptr<const JournalState> advance(const JournalState* previous,
                                            std::shared_ptr<const zone::Snapshot> next,
                                            const JournalLimits& limits, std::vector<int>* changed);

}  // namespace dnsd::transfer
