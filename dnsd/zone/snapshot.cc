#include "dnsd/zone/snapshot.h"

#include <algorithm>
#include <string_view>
#include <cstring>

#include "dnsd/wire/dns.h"

namespace dnsd::zone {

const Node* Snapshot::find(const uint8_t* name, size_t size, uint64_t hash) const noexcept {
  if (table_.empty()) return nullptr;
  for (uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
    uint32_t slot = table_[i];
    if (slot == 0) return nullptr;
    const Node& n = nodes_[slot - 1];
    if (n.hash_high == static_cast<uint32_t>(hash >> 32) && n.name_size == size &&
        std::memcmp(nameOf(n), name, size) == 0)
      return &n;
  }
}

int Snapshot::zoneOf(const wire::QueryView& q) const noexcept {
  int best = -1;
  for (size_t z = 0; z < zones_.size(); ++z) {
    const ZoneInfo& zone = zones_[z];
    if (zone.labels > q.label_count || q.hashOfLast(zone.labels) != zone.hash) continue;
    size_t at = q.qname_size - zone.apex.size();
    if (std::memcmp(q.qname_lower + at, zone.apex.data(), zone.apex.size()) != 0) continue;
    if (best < 0 || zone.labels > zones_[best].labels) best = static_cast<int>(z);
  }
  return best;
}

int Snapshot::zoneOfName(const uint8_t* name, size_t room) const noexcept {
  // Label boundaries of the name, then the longest apex that matches at one of them.
  size_t size = 0;
  while (size < room && name[size] != 0 && name[size] <= 63) size += name[size] + 1u;
  if (size >= room || name[size] != 0) return -1;
  ++size;
  int best = -1;
  for (size_t at = 0;; at += name[at] + 1u) {
    for (size_t z = 0; z < zones_.size(); ++z) {
      const wire::Name& apex = zones_[z].apex;
      if (apex.size() == size - at && std::memcmp(name + at, apex.data(), apex.size()) == 0) {
        if (best < 0 || zones_[z].labels > zones_[best].labels) best = static_cast<int>(z);
      }
    }
    if (best >= 0 || name[at] == 0) return best;
  }
}

const Node* Snapshot::searchDomainOf(const base::IpAddress& client) const noexcept {
  auto it = std::lower_bound(pod_search_.begin(), pod_search_.end(), client,
                             [](const auto& entry, const base::IpAddress& ip) { return entry.first < ip; });
  if (it == pod_search_.end() || !(it->first == client)) return nullptr;
  return &nodes_[it->second];
}

const StoredRRset* Snapshot::rrset(const Node& node, uint16_t type) const noexcept {
  const StoredRRset* r = rrsetsOf(node);
  for (uint16_t i = 0; i < node.rrset_count; ++i)
    if (r[i].type == type) return &r[i];
  return nullptr;
}

size_t Snapshot::bytes() const {
  return names_.capacity() + blob_.capacity() + nodes_.capacity() * sizeof(Node) +
         rrsets_.capacity() * sizeof(StoredRRset) + links_.capacity() * 4 +
         table_.capacity() * 4;
}

namespace {

// The label starts of a lowercase wire name and the hash of the suffix at each (wire::hashWire
// of name + starts[k]), the root's last: one pass from the root for every suffix. Returns
// the number of suffixes, the root included.
size_t suffixHashes(const uint8_t* name, uint8_t (&starts)[wire::kMaxLabels + 1],
                    uint64_t (&hashes)[wire::kMaxLabels + 1]) {
  size_t n = 0;
  size_t at = 0;
  for (; name[at] != 0 && n < wire::kMaxLabels; at += name[at] + 1u)
    starts[n++] = static_cast<uint8_t>(at);
  starts[n] = static_cast<uint8_t>(at);
  uint64_t h = hashes[n] = wire::kRootHash;
  for (size_t k = n; k-- > 0;) hashes[k] = h = wire::hashLabel(h, name + starts[k]);
  return n + 1;
}

// A wire name at or below `apex`: a suffix on a label boundary.
bool within(const uint8_t* name, size_t size, const wire::Name& apex) {
  if (apex.size() > size) return false;
  const size_t start = size - apex.size();
  size_t at = 0;
  while (at < start) at += name[at] + 1u;
  return at == start && std::memcmp(name + start, apex.data(), apex.size()) == 0;
}

std::string text(const uint8_t* name, size_t size) {
  return wire::Name::fromWire(std::string(reinterpret_cast<const char*>(name), size)).text();
}

// Frees what doubling left unused when it is worth a copy.
template <typename T>
void trim(std::vector<T>& v) {
  if (v.capacity() - v.size() > v.size() / 8) v.shrink_to_fit();
}

}  // namespace

// Lays out names, RRsets and the hash table. Runs on the control plane, once per load: it
// reads the zones' records in place and keeps no object per record or per name beyond the
// flat arrays below.
class SnapshotBuilder {
 public:
  base::Result<std::shared_ptr<const Snapshot>> build(std::vector<ZoneContent> zones,
                                                      uint32_t serial);

 private:
  static constexpr uint32_t kNoRecord = 0xFFFFFFFF;
  // One record, or (kNoRecord) one name that exists. Sorted by hash, then name, type and
  // rdata, the zone's layout follows from one sort instead of a map of maps.
  struct Item {
    const uint8_t* name;  // lowercase wire form, inside the zones
    uint64_t hash;        // wire::hashWire(name): sorting and grouping compare it first
    uint32_t record;      // index in its zone's RecordList
    uint16_t type;
    uint8_t name_size;
    uint8_t zone;
    bool sameName(const Item& o) const {
      return hash == o.hash && name_size == o.name_size &&
             std::memcmp(name, o.name, name_size) == 0;
    }
  };
  RecordList::View recordOf(const Item& item) const {
    return (*zones_)[item.zone].records[item.record];
  }
  base::Status collect();
  uint64_t exists(const uint8_t* name, size_t size, uint8_t zone, size_t apex_size);
  bool see(const uint8_t* name, size_t size, uint64_t hash, uint8_t zone);
  void growSeen();
  base::Status checkCnames() const;
  base::Status layout();
  void storeRRset(const std::vector<RecordList::View>& rrs, uint32_t ttl, StoredRRset& out);
  void hashTable();
  uint32_t nodeOf(const uint8_t* name, size_t size, uint64_t hash) const;
  void layoutNames();
  void linkTargets();
  void zoneInfo();

  const std::vector<ZoneContent>* zones_ = nullptr;
  std::shared_ptr<Snapshot> snap_ = std::make_shared<Snapshot>();
  std::vector<Item> items_;
  std::vector<uint32_t> seen_;  // open addressing: items_ index + 1 of each name so far
  size_t seen_count_ = 0;
  std::vector<std::pair<uint32_t, const uint8_t*>> pending_links_;  // link slot, target name
  std::vector<const uint8_t*> node_names_;  // by node index, until layoutNames()
  std::vector<uint64_t> node_hashes_;       // by node index
};

base::Status SnapshotBuilder::collect() {
  size_t total = 0;
  for (const auto& zone : *zones_) total += zone.records.size() + zone.empty_names.size() + 1;
  // Every record, and every name: most names own a record.
  items_.reserve(total * 2);
  size_t slots = 64;
  while (slots < total * 2) slots <<= 1;
  seen_.assign(slots, 0);
  for (size_t z = 0; z < zones_->size(); ++z) {
    const ZoneContent& zone = (*zones_)[z];
    const auto index = static_cast<uint8_t>(z);
    const size_t apex_size = zone.apex.size();
    exists(zone.apex.data(), apex_size, index, apex_size);
    for (const auto& name : zone.empty_names)
      if (name.isSubdomainOf(zone.apex)) exists(name.data(), name.size(), index, apex_size);
    for (const auto& name : zone.pod_parents)
      if (name.isSubdomainOf(zone.apex)) exists(name.data(), name.size(), index, apex_size);
    for (uint32_t i = 0; i < zone.records.size(); ++i) {
      const RecordList::View r = zone.records[i];
      if (!within(r.owner, r.owner_size, zone.apex))
        return base::Error{text(r.owner, r.owner_size) + " is outside zone " + zone.apex.text(),
                           ""};
      const uint64_t hash = exists(r.owner, r.owner_size, index, apex_size);
      items_.push_back({r.owner, hash, i, r.type, r.owner_size, index});
    }
  }
  // By hash first: a name's items only need to be together, not in canonical order (the
  // hash table decides where a node is found), and most comparisons end at the hash.
  // Two passes: by hash alone (cheap compares), then each run of equal hashes (a name's
  // items, a handful) by name, type and rdata.
  std::sort(items_.begin(), items_.end(),
            [](const Item& a, const Item& b) { return a.hash < b.hash; });
  for (size_t i = 0; i < items_.size();) {
    size_t end = i + 1;
    while (end < items_.size() && items_[end].hash == items_[i].hash) ++end;
    if (end - i > 1) {
      std::sort(items_.begin() + i, items_.begin() + end, [this](const Item& a, const Item& b) {
        if (a.name_size != b.name_size) return a.name_size < b.name_size;
        if (int c = std::memcmp(a.name, b.name, a.name_size)) return c < 0;
        if (a.type != b.type) return a.type < b.type;
        if (a.record == kNoRecord || b.record == kNoRecord)
          return a.record == kNoRecord && b.record != kNoRecord;
        return recordOf(a).rdataBytes() < recordOf(b).rdataBytes();
      });
    }
    i = end;
  }
  return checkCnames();
}

// A name and every ancestor down to its zone's apex: empty non-terminals exist (RFC 8020).
// Each suffix is a name in place, so nothing is allocated. Returns the name's hash.
uint64_t SnapshotBuilder::exists(const uint8_t* name, size_t size, uint8_t zone,
                                 size_t apex_size) {
  uint8_t starts[wire::kMaxLabels + 1];
  uint64_t hashes[wire::kMaxLabels + 1];
  const size_t suffixes = suffixHashes(name, starts, hashes);
  for (size_t k = 0; k < suffixes && size - starts[k] >= apex_size; ++k)
    if (!see(name + starts[k], size - starts[k], hashes[k], zone)) break;
  return hashes[0];
}

// Adds a name that exists, once; false when it was already there.
bool SnapshotBuilder::see(const uint8_t* name, size_t size, uint64_t hash, uint8_t zone) {
  if ((seen_count_ + 1) * 2 > seen_.size()) growSeen();
  const uint64_t mask = seen_.size() - 1;
  for (uint64_t i = hash & mask;; i = (i + 1) & mask) {
    const uint32_t slot = seen_[i];
    if (slot == 0) {
      items_.push_back({name, hash, kNoRecord, 0, static_cast<uint8_t>(size), zone});
      seen_[i] = static_cast<uint32_t>(items_.size());
      ++seen_count_;
      return true;
    }
    const Item& other = items_[slot - 1];
    if (other.hash == hash && other.name_size == size && std::memcmp(other.name, name, size) == 0)
      return false;
  }
}

void SnapshotBuilder::growSeen() {
  std::vector<uint32_t> old(seen_.size() * 2, 0);
  old.swap(seen_);
  const uint64_t mask = seen_.size() - 1;
  for (const uint32_t slot : old) {
    if (slot == 0) continue;
    uint64_t i = items_[slot - 1].hash & mask;
    while (seen_[i]) i = (i + 1) & mask;
    seen_[i] = slot;
  }
}

// RFC 1034 §3.6.2: a name with a CNAME has no other data.
base::Status SnapshotBuilder::checkCnames() const {
  for (size_t i = 0; i < items_.size(); ++i) {
    if (items_[i].type != wire::type::CNAME || items_[i].record == kNoRecord) continue;
    for (size_t j = i + 1; j < items_.size() && items_[j].sameName(items_[i]); ++j)
      if (items_[j].type != wire::type::CNAME)
        return base::Error{text(items_[i].name, items_[i].name_size) +
                               " has a CNAME and other records (RFC 1034 §3.6.2)", ""};
  }
  return base::Ok{};
}

void SnapshotBuilder::storeRRset(const std::vector<RecordList::View>& rrs, uint32_t ttl,
                                 StoredRRset& out) {
  auto& blob = snap_->blob_;
  out.type = rrs.front().type;
  out.count = static_cast<uint16_t>(rrs.size());
  out.name_at = 0xFFFF;
  if (out.type == wire::type::CNAME || out.type == wire::type::NS || out.type == wire::type::PTR)
    out.name_at = 0;
  if (out.type == wire::type::SRV) out.name_at = 6;
  out.data = static_cast<uint32_t>(blob.size());
  out.links = static_cast<uint32_t>(snap_->links_.size());
  for (const RecordList::View& r : rrs) {
    uint8_t head[12];
    wire::store16(head, static_cast<uint16_t>(10 + r.rdata_size));
    wire::store16(head + 2, r.type);
    wire::store16(head + 4, wire::kClassIn);
    wire::store32(head + 6, ttl ? ttl : r.ttl);
    wire::store16(head + 10, r.rdata_size);
    blob.insert(blob.end(), head, head + 12);
    blob.insert(blob.end(), r.rdata, r.rdata + r.rdata_size);
    if (const uint8_t* target = r.target()) pending_links_.emplace_back(snap_->links_.size(), target);
    snap_->links_.push_back(kNoNode);
  }
  out.size = static_cast<uint32_t>(blob.size() - out.data);
  snap_->record_count_ += rrs.size();
}

// One node per name, its RRsets in type order; identical records once. Names are placed
// later, by layoutNames().
base::Status SnapshotBuilder::layout() {
  size_t blob = 0;
  size_t records = 0;
  for (const auto& zone : *zones_) {
    records += zone.records.size();
    for (size_t i = 0; i < zone.records.size(); ++i) {
      // An SOA is stored twice: in its RRset, and as the zone's negative-answer SOA.
      const RecordList::View r = zone.records[i];
      const size_t copies = r.type == wire::type::SOA ? 2 : 1;
      blob += copies * (12 + r.rdata_size);
      records += copies - 1;
    }
  }
  snap_->blob_.reserve(blob);
  snap_->links_.reserve(records);
  snap_->rrsets_.reserve(records);
  snap_->nodes_.reserve(seen_count_);
  node_names_.reserve(seen_count_);
  node_hashes_.reserve(seen_count_);
  std::vector<RecordList::View> rrs;
  for (size_t i = 0; i < items_.size();) {
    const Item& first = items_[i];
    Node node;
    node.hash_high = static_cast<uint32_t>(first.hash >> 32);
    node.name_size = first.name_size;
    node.zone = first.zone;
    node.first_rrset = static_cast<uint32_t>(snap_->rrsets_.size());
    for (; i < items_.size() && items_[i].sameName(first); ++i) {
      if (items_[i].record == kNoRecord) continue;
      const RecordList::View r = recordOf(items_[i]);
      if (!rrs.empty() && rrs.back().type != r.type) {
        snap_->rrsets_.emplace_back();
        storeRRset(rrs, 0, snap_->rrsets_.back());
        rrs.clear();
      }
      if (rrs.empty() || rrs.back().rdataBytes() != r.rdataBytes()) rrs.push_back(r);
    }
    if (!rrs.empty()) {
      snap_->rrsets_.emplace_back();
      storeRRset(rrs, 0, snap_->rrsets_.back());
      rrs.clear();
    }
    const size_t types = snap_->rrsets_.size() - node.first_rrset;
    if (types > UINT8_MAX)
      return base::Error{text(first.name, first.name_size) + " has more than 255 record types", ""};
    node.rrset_count = static_cast<uint8_t>(types);
    snap_->nodes_.push_back(node);
    node_names_.push_back(first.name);
    node_hashes_.push_back(first.hash);
  }
  return base::Ok{};
}

void SnapshotBuilder::hashTable() {
  size_t size = 16;
  while (size < snap_->nodes_.size() * 2) size <<= 1;
  snap_->table_.assign(size, 0);
  snap_->mask_ = size - 1;
  for (uint32_t i = 0; i < snap_->nodes_.size(); ++i) {
    uint64_t slot = node_hashes_[i] & snap_->mask_;
    while (snap_->table_[slot]) slot = (slot + 1) & snap_->mask_;
    snap_->table_[slot] = i + 1;
  }
}

// The node of a lowercase wire name, before names_ is filled: compares node_names_.
uint32_t SnapshotBuilder::nodeOf(const uint8_t* name, size_t size, uint64_t hash) const {
  for (uint64_t i = hash & snap_->mask_;; i = (i + 1) & snap_->mask_) {
    const uint32_t slot = snap_->table_[i];
    if (slot == 0) return kNoNode;
    if (node_hashes_[slot - 1] == hash && snap_->nodes_[slot - 1].name_size == size &&
        std::memcmp(node_names_[slot - 1], name, size) == 0)
      return slot - 1;
  }
}

// Every suffix of a wire name is a wire name, and a node's ancestors are nodes too: so only
// names that are no other name's suffix are stored, longest first, and each suffix that is a
// node points into them. `svc.ns.svc.cluster.local` costs nothing beside
// `_http._tcp.svc.ns.svc.cluster.local`; at 50,000 Services this halves the names.
void SnapshotBuilder::layoutNames() {
  const auto& nodes = snap_->nodes_;
  // Longest first, by counting: a wire name is at most 255 bytes.
  std::vector<uint32_t> first(wire::kMaxNameLength + 2, 0);
  for (const Node& node : nodes) ++first[wire::kMaxNameLength - node.name_size + 1];
  for (size_t size = 1; size < first.size(); ++size) first[size] += first[size - 1];
  std::vector<uint32_t> order(nodes.size());
  for (uint32_t i = 0; i < order.size(); ++i)
    order[first[wire::kMaxNameLength - nodes[i].name_size]++] = i;
  std::vector<bool> placed(order.size(), false);
  auto& names = snap_->names_;
  for (const uint32_t index : order) {
    if (placed[index]) continue;
    const uint8_t* name = node_names_[index];
    const size_t size = nodes[index].name_size;
    const auto at = static_cast<uint32_t>(names.size());
    names.insert(names.end(), name, name + size);
    placed[index] = true;
    snap_->nodes_[index].name_offset = at;
    // Each suffix that is a node not yet placed; one already placed has had its own
    // suffixes placed with it.
    uint8_t starts[wire::kMaxLabels + 1];
    uint64_t hashes[wire::kMaxLabels + 1];
    const size_t suffixes = suffixHashes(name, starts, hashes);
    for (size_t k = 1; k < suffixes; ++k) {
      const uint32_t node = nodeOf(name + starts[k], size - starts[k], hashes[k]);
      if (node == kNoNode) continue;
      if (placed[node]) break;
      placed[node] = true;
      snap_->nodes_[node].name_offset = at + starts[k];
    }
  }
}

void SnapshotBuilder::linkTargets() {
  for (const auto& [slot, target] : pending_links_) {
    size_t size = 0;
    while (target[size] != 0) size += target[size] + 1u;
    if (const Node* node = snap_->find(target, size + 1, wire::hashWire(target)))
      snap_->links_[slot] = static_cast<uint32_t>(node - snap_->nodes_.data());
  }
}

void SnapshotBuilder::zoneInfo() {
  for (const auto& zone : *zones_) {
    ZoneInfo info{zone.apex, zone.apex.hash(), zone.apex.labelCount(), kNoNode, {}, zone.ttl};
    const Node* apex = snap_->find(zone.apex.data(), zone.apex.size(), info.hash);
    info.apex_node = static_cast<uint32_t>(apex - snap_->nodes_.data());
    const StoredRRset* soa = snap_->rrset(*apex, wire::type::SOA);
    if (soa) {
      // RFC 2308 §5: the negative-answer TTL is min(SOA TTL, SOA minimum).
      for (size_t i = 0; i < zone.records.size(); ++i) {
        const RecordList::View r = zone.records[i];
        if (r.type != wire::type::SOA || !r.ownerIs(zone.apex)) continue;
        const uint32_t minimum = wire::load32(r.rdata + r.rdata_size - 4);
        storeRRset({r}, std::max<uint32_t>(1, std::min({r.ttl, minimum, 300u})),
                   info.negative_soa);
        break;
      }
    }
    snap_->zones_.push_back(std::move(info));
  }
}

base::Result<std::shared_ptr<const Snapshot>> SnapshotBuilder::build(
    std::vector<ZoneContent> zones, uint32_t serial) {
  zones_ = &zones;
  for (const auto& zone : zones) {
    bool has_soa = false;
    for (size_t i = 0; i < zone.records.size() && !has_soa; ++i)
      has_soa = zone.records[i].type == wire::type::SOA && zone.records[i].ownerIs(zone.apex);
    if (!has_soa) return base::Error{"zone " + zone.apex.text() + " has no SOA", ""};
  }
  auto status = collect();
  if (!status) return status.error();
  if (base::Status laid = layout(); !laid) return laid.error();
  hashTable();
  layoutNames();
  for (const auto& zone : zones)
    for (const auto& name : zone.pod_parents)
      if (const Node* n = snap_->find(name.data(), name.size(), name.hash()))
        snap_->nodes_[static_cast<size_t>(n - snap_->nodes_.data())].flags |= kPodParent;
  zoneInfo();
  linkTargets();
  for (const auto& zone : zones)
    for (const auto& [ip, domain] : zone.pod_search)
      if (const Node* n = snap_->find(domain.data(), domain.size(), domain.hash()))
        snap_->pod_search_.emplace_back(ip, static_cast<uint32_t>(n - snap_->nodes_.data()));
  std::sort(snap_->pod_search_.begin(), snap_->pod_search_.end());
  trim(snap_->names_);
  trim(snap_->blob_);
  trim(snap_->rrsets_);
  trim(snap_->links_);
  snap_->serial_ = serial;
  return std::shared_ptr<const Snapshot>(std::move(snap_));
}

base::Result<std::shared_ptr<const Snapshot>> buildSnapshot(std::vector<ZoneContent> zones,
                                                             uint32_t serial) {
  return SnapshotBuilder().build(std::move(zones), serial);
}

}  // namespace dnsd::zone
