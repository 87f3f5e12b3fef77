#include "dnsd/transfer/journal.h"

#include <algorithm>

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

// A Diff made one name at a time, the names in canonical order.
class DiffMaker {
 public:
  DiffMaker(const zone::Snapshot& old, int old_zone, const zone::Snapshot& next, int new_zone)
      : old_(old), next_(next), apex_(next.zone(new_zone).apex) {
    const Rr old_soa = apexSoa(old, old_zone), new_soa = apexSoa(next, new_zone);
    d_.from = soaSerial(old_soa);
    d_.to = soaSerial(new_soa);
    d_.from_soa.assign(old_soa.bytes());
    d_.to_soa.assign(new_soa.bytes());
  }

  // The records of node `a` of the old snapshot that node `b` of the next lacks are removed,
  // the other way round added; zone::kNoNode is a name with no records. Each node's records
  // are sorted by their bytes: merged like two sorted lists.
  void compare(uint32_t a, uint32_t b) {
    ra_.clear();
    rb_.clear();
    if (a != zone::kNoNode) nodeRecords(old_, a, ra_);
    if (b != zone::kNoNode) nodeRecords(next_, b, rb_);
    size_t p = 0, q = 0;
    while (p < ra_.size() || q < rb_.size()) {
      if (q == rb_.size() || (p < ra_.size() && ra_[p].bytes() < rb_[q].bytes())) {
        add(ra_[p++], d_.removed, d_.removed_count);
      } else if (p == ra_.size() || rb_[q].bytes() < ra_[p].bytes()) {
        add(rb_[q++], d_.added, d_.added_count);
      } else {
        ++p;
        ++q;
      }
    }
  }

  Diff take() { return std::move(d_); }

 private:
  // The apex SOA is not among the changes: the serials stand for it.
  void add(const Rr& rr, std::string& out, size_t& count) {
    if (isApexSoa(rr, apex_)) return;
    append(out, rr);
    ++count;
  }

  const zone::Snapshot& old_;
  const zone::Snapshot& next_;
  const wire::Name& apex_;
  Diff d_;
  std::vector<Rr> ra_, rb_;
};

// A name some patch touched: its node in the old snapshot and in the next, or zone::kNoNode.
struct Touched {
  uint32_t old_node, new_node;
};

// The owners of the records the patches remove or add, once each, in canonical order, as
// nodes of both snapshots. A record added by one patch and removed by a later one touches
// its name, which then compares equal and adds nothing to the diff.
std::vector<Touched> touchedNodes(const zone::Snapshot& old, const zone::Snapshot& next,
                                  const std::vector<std::shared_ptr<const zone::Patch>>& patches) {
  std::vector<std::string_view> names;
  for (const auto& patch : patches)
    for (const zone::RecordList* list : {&patch->removed, &patch->added})
      for (size_t i = 0; i < list->size(); ++i) {
        const zone::RecordList::View rr = (*list)[i];
        names.emplace_back(reinterpret_cast<const char*>(rr.owner), rr.owner_size);
      }
  auto bytes = [](std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); };
  std::sort(names.begin(), names.end(), [&](std::string_view a, std::string_view b) {
    return compareCanonical(bytes(a), a.size(), bytes(b), b.size()) < 0;
  });
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<Touched> out;
  out.reserve(names.size());
  for (std::string_view name : names) {
    const uint64_t hash = wire::hashWire(bytes(name));
    out.push_back({old.findIndex(bytes(name), name.size(), hash),
                   next.findIndex(bytes(name), name.size(), hash)});
  }
  return out;
}

// As diffZone(), at the names touched only.
Diff diffTouched(const zone::Snapshot& old, int old_zone, const zone::Snapshot& next, int new_zone,
                 const std::vector<Touched>& touched) {
  DiffMaker maker(old, old_zone, next, new_zone);
  // As zoneNodes(): a node of another zone, or without records, is none of this zone's.
  auto in = [](const zone::Snapshot& s, uint32_t node, int z) {
    if (node == zone::kNoNode) return zone::kNoNode;
    const zone::Node& n = s.node(node);
    return n.zone == z && n.rrset_count != 0 ? node : zone::kNoNode;
  };
  for (const Touched& t : touched) {
    const uint32_t a = in(old, t.old_node, old_zone), b = in(next, t.new_node, new_zone);
    if (a != zone::kNoNode || b != zone::kNoNode) maker.compare(a, b);
  }
  return maker.take();
}

}  // namespace

Diff diffZone(const zone::Snapshot& old, int old_zone, const std::vector<uint32_t>& a,
              const zone::Snapshot& next, int new_zone, const std::vector<uint32_t>& b) {
  DiffMaker maker(old, old_zone, next, new_zone);
  // Both walks are in canonical order: merged like two sorted lists, by name.
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
    maker.compare(c <= 0 ? a[i++] : zone::kNoNode, c >= 0 ? b[j++] : zone::kNoNode);
  }
  return maker.take();
}

JournalState::JournalState(std::shared_ptr<const zone::Snapshot> s)
    : snapshot(std::move(s)), nodes_(std::make_unique<Nodes[]>(snapshot->zoneCount())) {}

const std::vector<uint32_t>& JournalState::nodes(int z) const {
  Nodes& n = nodes_[static_cast<size_t>(z)];
  std::call_once(n.sorted, [&] { n.nodes = zoneNodes(*snapshot, z); });
  return n.nodes;
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

std::shared_ptr<const JournalState> advance(
    const JournalState* previous, std::shared_ptr<const zone::Snapshot> next,
    const JournalLimits& limits, std::vector<int>* changed,
    const std::vector<std::shared_ptr<const zone::Patch>>* patches) {
  auto state = std::make_shared<JournalState>(std::move(next));
  const zone::Snapshot& snap = *state->snapshot;
  const zone::Snapshot* old = previous ? previous->snapshot.get() : nullptr;
  std::vector<Touched> touched;
  if (old && patches) touched = touchedNodes(*old, snap, *patches);
  for (size_t z = 0; z < snap.zoneCount(); ++z) {
    const int zi = static_cast<int>(z);
    const wire::Name& apex = snap.zone(zi).apex;
    const int old_zone = old ? findZone(*old, apex.data(), apex.size()) : -1;
    if (old_zone < 0) {
      if (changed) changed->push_back(zi);
      continue;
    }
    auto diff = std::make_shared<Diff>(
        patches ? diffTouched(*old, old_zone, snap, zi, touched)
                : diffZone(*old, old_zone, previous->nodes(old_zone), snap, zi, state->nodes(zi)));
    if (!diff->empty() && changed) changed->push_back(zi);
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
  return state;
}

}  // namespace dnsd::transfer
