#include "dnsd/zone/snapshot.h"

#include <algorithm>
#include <deque>
#include <map>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
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

// Lays out names, RRsets and the hash table. Runs on the control plane; may allocate freely.
class SnapshotBuilder {
 public:
  base::Result<std::shared_ptr<const Snapshot>> build(std::vector<ZoneContent> zones,
                                                      uint32_t serial);

 private:
  // One record, or (record null) one name that exists; sorted by name, then type, the whole
  // zone's layout follows from one sort instead of a map of maps.
  struct Item {
    const std::string* name;  // lowercase wire form, owned by the zones or ancestors_
    uint64_t hash;            // wire::hashWire(*name): sorting and grouping compare it first
    uint16_t type;
    uint8_t zone;
    const Record* record;
    bool sameName(const Item& o) const { return hash == o.hash && *name == *o.name; }
  };
  // A name in seen_, hashed once.
  struct Seen {
    uint64_t hash;
    const std::string* name;
    bool operator==(const Seen& o) const { return hash == o.hash && *name == *o.name; }
  };
  struct SeenHash {
    size_t operator()(const Seen& s) const { return s.hash; }
  };
  base::Status collect(const std::vector<ZoneContent>& zones);
  uint64_t exists(const wire::Name& name, uint8_t zone, const wire::Name& apex);
  base::Status checkCnames() const;
  base::Status layout();
  void storeRRset(const std::vector<const Record*>& rrs, uint32_t ttl, StoredRRset& out);
  void hashTable();
  uint32_t nodeOf(const uint8_t* name, size_t size) const;
  void layoutNames();
  void linkTargets();
  void zoneInfo(const std::vector<ZoneContent>& zones);

  std::shared_ptr<Snapshot> snap_ = std::make_shared<Snapshot>();
  std::vector<Item> items_;
  std::deque<wire::Name> ancestors_;            // empty non-terminals nobody else owns
  std::unordered_set<Seen, SeenHash> seen_;     // names already in items_
  std::unordered_map<std::string, uint8_t> flags_;
  std::vector<std::pair<uint32_t, const Record*>> pending_links_;  // link slot, record
  std::vector<const std::string*> node_names_;  // by node index, until layoutNames()
  std::vector<uint64_t> node_hashes_;           // by node index
};

base::Status SnapshotBuilder::collect(const std::vector<ZoneContent>& zones) {
  for (size_t z = 0; z < zones.size(); ++z) {
    const ZoneContent& zone = zones[z];
    auto index = static_cast<uint8_t>(z);
    exists(zone.apex, index, zone.apex);
    for (const auto& name : zone.empty_names)
      if (name.isSubdomainOf(zone.apex)) exists(name, index, zone.apex);
    for (const auto& name : zone.pod_parents) {
      if (!name.isSubdomainOf(zone.apex)) continue;
      exists(name, index, zone.apex);
      flags_[name.wire()] |= kPodParent;
    }
    for (const auto& r : zone.records) {
      if (!r.owner.isSubdomainOf(zone.apex))
        return base::Error{r.owner.text() + " is outside zone " + zone.apex.text(), ""};
      const uint64_t hash = exists(r.owner, index, zone.apex);
      items_.push_back({&r.owner.wire(), hash, r.type, index, &r});
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
      std::sort(items_.begin() + i, items_.begin() + end, [](const Item& a, const Item& b) {
        if (int c = a.name->compare(*b.name)) return c < 0;
        if (a.type != b.type) return a.type < b.type;
        if (!a.record || !b.record) return !a.record && b.record;
        return a.record->rdata < b.record->rdata;
      });
    }
    i = end;
  }
  return checkCnames();
}

// A name and every ancestor up to its zone's apex: empty non-terminals exist (RFC 8020).
// Returns the name's hash.
uint64_t SnapshotBuilder::exists(const wire::Name& name, uint8_t zone, const wire::Name& apex) {
  const uint64_t hash = name.hash();
  if (!seen_.insert({hash, &name.wire()}).second) return hash;
  items_.push_back({&name.wire(), hash, 0, zone, nullptr});
  for (const wire::Name* n = &name; !(*n == apex) && !n->isRoot();) {
    wire::Name up = n->parent();
    const uint64_t up_hash = up.hash();
    if (seen_.count({up_hash, &up.wire()})) break;
    ancestors_.push_back(std::move(up));
    n = &ancestors_.back();
    seen_.insert({up_hash, &n->wire()});
    items_.push_back({&n->wire(), up_hash, 0, zone, nullptr});
  }
  return hash;
}

// RFC 1034 §3.6.2: a name with a CNAME has no other data.
base::Status SnapshotBuilder::checkCnames() const {
  for (size_t i = 0; i < items_.size(); ++i) {
    if (items_[i].type != wire::type::CNAME || !items_[i].record) continue;
    for (size_t j = i + 1; j < items_.size() && items_[j].sameName(items_[i]); ++j)
      if (items_[j].type != wire::type::CNAME)
        return base::Error{items_[i].record->owner.text() +
                               " has a CNAME and other records (RFC 1034 §3.6.2)", ""};
  }
  return base::Ok{};
}

void SnapshotBuilder::storeRRset(const std::vector<const Record*>& rrs, uint32_t ttl,
                                 StoredRRset& out) {
  auto& blob = snap_->blob_;
  out.type = rrs.front()->type;
  out.count = static_cast<uint16_t>(rrs.size());
  out.name_at = 0xFFFF;
  if (out.type == wire::type::CNAME || out.type == wire::type::NS || out.type == wire::type::PTR)
    out.name_at = 0;
  if (out.type == wire::type::SRV) out.name_at = 6;
  out.data = static_cast<uint32_t>(blob.size());
  out.links = static_cast<uint32_t>(snap_->links_.size());
  for (const Record* r : rrs) {
    size_t tail = 10 + r->rdata.size();
    uint8_t head[12];
    wire::store16(head, static_cast<uint16_t>(tail));
    wire::store16(head + 2, r->type);
    wire::store16(head + 4, wire::kClassIn);
    wire::store32(head + 6, ttl ? ttl : r->ttl);
    wire::store16(head + 10, static_cast<uint16_t>(r->rdata.size()));
    blob.insert(blob.end(), head, head + 12);
    blob.insert(blob.end(), r->rdata.begin(), r->rdata.end());
    if (r->target) pending_links_.emplace_back(snap_->links_.size(), r);
    snap_->links_.push_back(kNoNode);
  }
  out.size = static_cast<uint32_t>(blob.size() - out.data);
  snap_->record_count_ += rrs.size();
}

// One node per name, its RRsets in type order; identical records once. Names are placed
// later, by layoutNames().
base::Status SnapshotBuilder::layout() {
  std::vector<const Record*> rrs;
  for (size_t i = 0; i < items_.size();) {
    const Item& first = items_[i];
    const std::string& name = *first.name;
    Node node;
    node.hash_high = static_cast<uint32_t>(first.hash >> 32);
    node.name_size = static_cast<uint8_t>(name.size());
    node.zone = items_[i].zone;
    if (auto f = flags_.find(name); f != flags_.end()) node.flags = f->second;
    node.first_rrset = static_cast<uint32_t>(snap_->rrsets_.size());
    for (; i < items_.size() && items_[i].sameName(first); ++i) {
      const Record* r = items_[i].record;
      if (!r) continue;
      if (!rrs.empty() && rrs.back()->type != r->type) {
        snap_->rrsets_.emplace_back();
        storeRRset(rrs, 0, snap_->rrsets_.back());
        rrs.clear();
      }
      if (rrs.empty() || rrs.back()->rdata != r->rdata) rrs.push_back(r);
    }
    if (!rrs.empty()) {
      snap_->rrsets_.emplace_back();
      storeRRset(rrs, 0, snap_->rrsets_.back());
      rrs.clear();
    }
    const size_t types = snap_->rrsets_.size() - node.first_rrset;
    if (types > UINT8_MAX)
      return base::Error{wire::Name::fromWire(name).text() + " has more than 255 record types", ""};
    node.rrset_count = static_cast<uint8_t>(types);
    snap_->nodes_.push_back(node);
    node_names_.push_back(&name);
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
uint32_t SnapshotBuilder::nodeOf(const uint8_t* name, size_t size) const {
  const uint64_t hash = wire::hashWire(name);
  for (uint64_t i = hash & snap_->mask_;; i = (i + 1) & snap_->mask_) {
    const uint32_t slot = snap_->table_[i];
    if (slot == 0) return kNoNode;
    const std::string& other = *node_names_[slot - 1];
    if (node_hashes_[slot - 1] == hash && other.size() == size &&
        std::memcmp(other.data(), name, size) == 0)
      return slot - 1;
  }
}

// Every suffix of a wire name is a wire name, and a node's ancestors are nodes too: so only
// names that are no other name's suffix are stored, longest first, and each suffix that is a
// node points into them. `svc.ns.svc.cluster.local` costs nothing beside
// `_http._tcp.svc.ns.svc.cluster.local`; at 50,000 Services this halves the names.
void SnapshotBuilder::layoutNames() {
  // Longest first, by counting: a wire name is at most 255 bytes.
  std::vector<uint32_t> first(wire::kMaxNameLength + 2, 0);
  for (const std::string* name : node_names_) ++first[wire::kMaxNameLength - name->size() + 1];
  for (size_t size = 1; size < first.size(); ++size) first[size] += first[size - 1];
  std::vector<uint32_t> order(snap_->nodes_.size());
  for (uint32_t i = 0; i < order.size(); ++i)
    order[first[wire::kMaxNameLength - node_names_[i]->size()]++] = i;
  std::vector<bool> placed(order.size(), false);
  auto& names = snap_->names_;
  for (const uint32_t index : order) {
    if (placed[index]) continue;
    const std::string& name = *node_names_[index];
    const auto at = static_cast<uint32_t>(names.size());
    names.insert(names.end(), name.begin(), name.end());
    const auto* wire = reinterpret_cast<const uint8_t*>(name.data());
    // This name, then each suffix that is a node not yet placed; one already placed has
    // had its own suffixes placed with it.
    for (size_t skip = 0; skip < name.size();) {
      const uint32_t node = skip == 0 ? index : nodeOf(wire + skip, name.size() - skip);
      if (node != kNoNode) {
        if (skip > 0 && placed[node]) break;
        placed[node] = true;
        snap_->nodes_[node].name_offset = at + static_cast<uint32_t>(skip);
      }
      if (wire[skip] == 0) break;
      skip += wire[skip] + 1u;
    }
  }
}

void SnapshotBuilder::linkTargets() {
  for (const auto& [slot, record] : pending_links_) {
    const wire::Name& t = *record->target;
    const Node* n = snap_->find(t.data(), t.size(), t.hash());
    if (n) snap_->links_[slot] = static_cast<uint32_t>(n - snap_->nodes_.data());
  }
}

void SnapshotBuilder::zoneInfo(const std::vector<ZoneContent>& zones) {
  for (const auto& zone : zones) {
    ZoneInfo info{zone.apex, zone.apex.hash(), zone.apex.labelCount(), kNoNode, {}, zone.ttl};
    const Node* apex = snap_->find(zone.apex.data(), zone.apex.size(), info.hash);
    info.apex_node = static_cast<uint32_t>(apex - snap_->nodes_.data());
    const StoredRRset* soa = snap_->rrset(*apex, wire::type::SOA);
    if (soa) {
      // RFC 2308 §5: the negative-answer TTL is min(SOA TTL, SOA minimum).
      const Record* rec = nullptr;
      for (const auto& r : zone.records)
        if (r.type == wire::type::SOA && r.owner == zone.apex) rec = &r;
      uint32_t minimum = wire::load32(reinterpret_cast<const uint8_t*>(rec->rdata.data()) +
                                      rec->rdata.size() - 4);
      storeRRset({rec}, std::max<uint32_t>(1, std::min({rec->ttl, minimum, 300u})),
                 info.negative_soa);
    }
    snap_->zones_.push_back(std::move(info));
  }
}

base::Result<std::shared_ptr<const Snapshot>> SnapshotBuilder::build(
    std::vector<ZoneContent> zones, uint32_t serial) {
  auto status = collect(zones);
  if (!status) return status.error();
  for (const auto& zone : zones) {
    bool has_soa = false;
    for (const auto& r : zone.records) has_soa |= r.type == wire::type::SOA && r.owner == zone.apex;
    if (!has_soa) return base::Error{"zone " + zone.apex.text() + " has no SOA", ""};
  }
  if (base::Status laid = layout(); !laid) return laid.error();
  hashTable();
  layoutNames();
  zoneInfo(zones);
  linkTargets();
  for (const auto& zone : zones)
    for (const auto& [ip, domain] : zone.pod_search)
      if (const Node* n = snap_->find(domain.data(), domain.size(), domain.hash()))
        snap_->pod_search_.emplace_back(ip, static_cast<uint32_t>(n - snap_->nodes_.data()));
  std::sort(snap_->pod_search_.begin(), snap_->pod_search_.end());
  // Vectors grown by doubling hold up to twice what they need, for the life of the zone.
  snap_->names_.shrink_to_fit();
  snap_->blob_.shrink_to_fit();
  snap_->nodes_.shrink_to_fit();
  snap_->rrsets_.shrink_to_fit();
  snap_->links_.shrink_to_fit();
  snap_->serial_ = serial;
  return std::shared_ptr<const Snapshot>(std::move(snap_));
}

base::Result<std::shared_ptr<const Snapshot>> buildSnapshot(std::vector<ZoneContent> zones,
                                                             uint32_t serial) {
  return SnapshotBuilder().build(std::move(zones), serial);
}

}  // namespace dnsd::zone
