#include "dnsd/transfer/journal.h"

#include "dnsd/wire/dns.h"

namespace dnsd::transfer {
namespace {

void append(std::string& out, const Rr& rr) {
  out.append(reinterpret_cast<const char*>(rr.owner), rr.owner_size);
  out.append(rr.bytes());
}

bool isApexSoa(const Rr& rr, const wire::Name& apex) {
  return rr.type() == wire::type::SOA && rr.owner_size == apex.size() &&
         std::string_view(reinterpret_cast<const char*>(rr.owner), rr.owner_size) == apex.wire();
}

}  // namespace

Diff diffZone(const zone::Snapshot& old, int old_zone, const std::vector<uint32_t>& a,
              const zone::Snapshot& next, int new_zone, const std::vector<uint32_t>& b) {
  Diff d;
  const Rr old_soa = apexSoa(old, old_zone), new_soa = apexSoa(next, new_zone);
  d.from = soaSerial(old_soa);
  d.to = soaSerial(new_soa);
  d.from_soa.assign(old_soa.bytes());
  d.to_soa.assign(new_soa.bytes());
  const wire::Name& apex = next.zone(new_zone).apex;
  std::vector<Rr> ra, rb;
  auto removed = [&](const Rr& rr) {
    if (isApexSoa(rr, apex)) return;
    append(d.removed, rr);
    ++d.removed_count;
  };
  auto added = [&](const Rr& rr) {
    if (isApexSoa(rr, apex)) return;
    append(d.added, rr);
    ++d.added_count;
  };
  // Both walks are in canonical order: merged like two sorted lists, names first, then the
  // records at a name by their bytes.
  for (size_t i = 0, j = 0; i < a.size() || j < b.size();) {
    int c;
    if (i == a.size()) {
      c = 1;
    } else if (j == b.size()) {
      c = -1;
    } else {
      const zone::Node& x = old.node(a[i]);
      const zone::Node& y = next.node(b[j]);
      c = compareCanonical(old.nameOf(x), x.name_size, next.nameOf(y), y.name_size);
    }
    ra.clear();
    rb.clear();
    if (c <= 0) nodeRecords(old, a[i++], ra);
    if (c >= 0) nodeRecords(next, b[j++], rb);
    size_t p = 0, q = 0;
    while (p < ra.size() || q < rb.size()) {
      if (q == rb.size() || (p < ra.size() && ra[p].bytes() < rb[q].bytes())) {
        removed(ra[p++]);
      } else if (p == ra.size() || rb[q].bytes() < ra[p].bytes()) {
        added(rb[q++]);
      } else {
        ++p;
        ++q;
      }
    }
  }
  return d;
}

std::vector<std::shared_ptr<const Diff>> JournalState::since(const std::string& apex,
                                                             uint32_t serial) const {
  auto it = diffs.find(apex);
  if (it == diffs.end()) return {};
  const auto& list = it->second;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i]->from != serial) continue;
    for (size_t k = i + 1; k < list.size(); ++k)
      if (list[k]->from != list[k - 1]->to) return {};
    return {list.begin() + static_cast<std::ptrdiff_t>(i), list.end()};
  }
  return {};
}

std::shared_ptr<const JournalState> advance(const JournalState* previous,
                                            std::shared_ptr<const zone::Snapshot> next,
                                            const JournalLimits& limits,
                                            std::vector<int>* changed) {
  auto state = std::make_shared<JournalState>();
  for (size_t z = 0; z < next->zoneCount(); ++z)
    state->nodes.push_back(zoneNodes(*next, static_cast<int>(z)));
  for (size_t z = 0; z < next->zoneCount(); ++z) {
    const wire::Name& apex = next->zone(static_cast<int>(z)).apex;
    const int old_zone = previous && previous->snapshot
                             ? findZone(*previous->snapshot, apex.data(), apex.size())
                             : -1;
    if (old_zone < 0) {
      if (changed) changed->push_back(static_cast<int>(z));
      continue;
    }
    auto diff = std::make_shared<Diff>(diffZone(*previous->snapshot, old_zone,
                                                previous->nodes[static_cast<size_t>(old_zone)],
                                                *next, static_cast<int>(z), state->nodes[z]));
    if (!diff->empty() && changed) changed->push_back(static_cast<int>(z));
    std::vector<std::shared_ptr<const Diff>> list;
    if (auto it = previous->diffs.find(apex.wire()); it != previous->diffs.end()) list = it->second;
    // A diff larger than the limit is not kept: the chain through it is broken, and clients
    // behind it get the whole zone.
    if (diff->bytes() > limits.max_bytes) {
      list.clear();
    } else {
      list.push_back(std::move(diff));
      size_t bytes = 0;
      for (const auto& d : list) bytes += d->bytes();
      size_t drop = 0;
      while (list.size() - drop > limits.max_diffs || bytes > limits.max_bytes)
        bytes -= list[drop++]->bytes();
      list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(drop));
    }
    state->diffs.emplace(apex.wire(), std::move(list));
  }
  state->snapshot = std::move(next);
  return state;
}

}  // namespace dnsd::transfer
