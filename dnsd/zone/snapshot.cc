#include "dnsd/zone/snapshot.h"

#include <algorithm>
#include <map>
#include <cstring>

#include "dnsd/wire/dns.h"

namespace dnsd::zone {

const Node* Snapshot::find(const uint8_t* name, size_t size, uint64_t hash) const noexcept {
  if (table_.empty()) return nullptr;
  for (uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
    uint32_t slot = table_[i];
    if (slot == 0) return nullptr;
    const Node& n = nodes_[slot - 1];
    if (n.hash == hash && n.name_size == size && std::memcmp(nameOf(n), name, size) == 0)
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
    if (r[i].view.type == type) return &r[i];
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
  using Group = std::map<uint16_t, std::vector<const Record*>>;  // type -> RRs
  base::Status collect(const std::vector<ZoneContent>& zones);
  void addNode(const wire::Name& name, uint8_t zone, const wire::Name& apex);
  void layout();
  void storeRRset(const std::vector<const Record*>& rrs, uint32_t ttl, StoredRRset& out);
  void hashTable();
  void linkTargets();
  void zoneInfo(const std::vector<ZoneContent>& zones);

  std::shared_ptr<Snapshot> snap_ = std::make_shared<Snapshot>();
  std::map<wire::Name, std::pair<uint8_t, Group>> names_;  // sorted: stable layout
  std::map<wire::Name, uint8_t> flags_;
  std::vector<std::pair<uint32_t, const Record*>> pending_links_;  // link slot, record
};

base::Status SnapshotBuilder::collect(const std::vector<ZoneContent>& zones) {
  for (size_t z = 0; z < zones.size(); ++z) {
    const ZoneContent& zone = zones[z];
    addNode(zone.apex, static_cast<uint8_t>(z), zone.apex);
    for (const auto& name : zone.empty_names)
      if (name.isSubdomainOf(zone.apex)) addNode(name, static_cast<uint8_t>(z), zone.apex);
    for (const auto& name : zone.pod_parents) {
      if (!name.isSubdomainOf(zone.apex)) continue;
      addNode(name, static_cast<uint8_t>(z), zone.apex);
      flags_[name] |= kPodParent;
    }
    for (const auto& r : zone.records) {
      if (!r.owner.isSubdomainOf(zone.apex))
        return base::Error{r.owner.text() + " is outside zone " + zone.apex.text(), ""};
      addNode(r.owner, static_cast<uint8_t>(z), zone.apex);
      auto& rrs = names_[r.owner].second[r.type];
      bool dup = std::any_of(rrs.begin(), rrs.end(),
                             [&](const Record* o) { return o->rdata == r.rdata; });
      if (!dup) rrs.push_back(&r);
    }
  }
  for (const auto& [name, entry] : names_) {
    const Group& g = entry.second;
    if (g.count(wire::type::CNAME) && g.size() > 1)
      return base::Error{name.text() + " has a CNAME and other records (RFC 1034 §3.6.2)", ""};
  }
  return base::Ok{};
}

// A name and every ancestor up to its zone's apex: empty non-terminals exist (RFC 8020).
void SnapshotBuilder::addNode(const wire::Name& name, uint8_t zone, const wire::Name& apex) {
  for (wire::Name n = name;; n = n.parent()) {
    names_.try_emplace(n, zone, Group{});
    if (n == apex || n.isRoot()) return;
  }
}

void SnapshotBuilder::storeRRset(const std::vector<const Record*>& rrs, uint32_t ttl,
                                 StoredRRset& out) {
  auto& blob = snap_->blob_;
  out.view.type = rrs.front()->type;
  out.view.count = static_cast<uint16_t>(rrs.size());
  out.view.name_at = 0xFFFF;
  if (out.view.type == wire::type::CNAME || out.view.type == wire::type::NS ||
      out.view.type == wire::type::PTR)
    out.view.name_at = 0;
  if (out.view.type == wire::type::SRV) out.view.name_at = 6;
  out.view.data = reinterpret_cast<const uint8_t*>(blob.size());  // offset; fixed in layout()
  out.links = static_cast<uint32_t>(snap_->links_.size());
  size_t start = blob.size();
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
  out.view.size = static_cast<uint32_t>(blob.size() - start);
  snap_->record_count_ += rrs.size();
}

void SnapshotBuilder::layout() {
  for (const auto& [name, entry] : names_) {
    Node node;
    node.hash = name.hash();
    node.name_offset = static_cast<uint32_t>(snap_->names_.size());
    node.name_size = static_cast<uint8_t>(name.size());
    node.zone = entry.first;
    if (auto f = flags_.find(name); f != flags_.end()) node.flags = f->second;
    node.first_rrset = static_cast<uint32_t>(snap_->rrsets_.size());
    node.rrset_count = static_cast<uint16_t>(entry.second.size());
    snap_->names_.insert(snap_->names_.end(), name.data(), name.data() + name.size());
    for (const auto& [type, rrs] : entry.second) {
      snap_->rrsets_.emplace_back();
      storeRRset(rrs, 0, snap_->rrsets_.back());
    }
    snap_->nodes_.push_back(node);
  }
}

void SnapshotBuilder::hashTable() {
  size_t size = 16;
  while (size < snap_->nodes_.size() * 2) size <<= 1;
  snap_->table_.assign(size, 0);
  snap_->mask_ = size - 1;
  for (uint32_t i = 0; i < snap_->nodes_.size(); ++i) {
    uint64_t slot = snap_->nodes_[i].hash & snap_->mask_;
    while (snap_->table_[slot]) slot = (slot + 1) & snap_->mask_;
    snap_->table_[slot] = i + 1;
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
  layout();
  hashTable();
  zoneInfo(zones);
  linkTargets();
  for (const auto& zone : zones)
    for (const auto& [ip, domain] : zone.pod_search)
      if (const Node* n = snap_->find(domain.data(), domain.size(), domain.hash()))
        snap_->pod_search_.emplace_back(ip, static_cast<uint32_t>(n - snap_->nodes_.data()));
  std::sort(snap_->pod_search_.begin(), snap_->pod_search_.end());
  // The blob no longer grows: turn stored offsets into pointers.
  auto fix = [&](StoredRRset& r) {
    r.view.data = snap_->blob_.data() + reinterpret_cast<uintptr_t>(r.view.data);
  };
  for (auto& r : snap_->rrsets_) fix(r);
  for (auto& z : snap_->zones_) fix(z.negative_soa);
  snap_->serial_ = serial;
  return std::shared_ptr<const Snapshot>(std::move(snap_));
}

base::Result<std::shared_ptr<const Snapshot>> buildSnapshot(std::vector<ZoneContent> zones,
                                                             uint32_t serial) {
  return SnapshotBuilder().build(std::move(zones), serial);
}

}  // namespace dnsd::zone
