#include "dnsd/zone/snapshot_builder.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "dnsd/wire/dns.h"

namespace dnsd::zone {

namespace {

std::string text(const uint8_t* name, size_t size) {
  return wire::Name::fromWire(std::string(reinterpret_cast<const char*>(name), size)).text();
}

// Frees what doubling left unused when it is worth a copy.
template <typename T>
void trim(std::vector<T>& v) {
  if (v.capacity() - v.size() > v.size() / 8) v.shrink_to_fit();
}

// The room reserved past a vector's end for a ZoneEditor to append to is resident only
// once written, if its pages are fresh; pages malloc recycled (the zone before this one)
// are resident already. They go back to the system here, and come back zeroed as the
// editor appends. Whole pages strictly inside the block only: malloc's own bookkeeping
// lies outside it.
template <typename T>
void releaseRoom(std::vector<T>& v) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<uintptr_t>(v.data() + v.size()) + page - 1) & ~(page - 1);
  const auto end = reinterpret_cast<uintptr_t>(v.data() + v.capacity()) & ~(page - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace

base::Status SnapshotBuilder::collect() {
  size_t total = 0;
  for (const auto& zone : *zones_) total += zone.records.size();
  owner_.reserve(total);
  // Names are at most records and ancestors; most names own a record.
  node_names_.reserve(total + total / 2);
  node_hashes_.reserve(total + total / 2);
  nodes_.reserve(total + total / 2);
  parents_.reserve(total + total / 2);
  table_.assign(std::bit_ceil(std::max<size_t>(16, 2 * (total + total / 2))), 0);
  mask_ = table_.size() - 1;
  for (size_t z = 0; z < zones_->size(); ++z) {
    const ZoneContent& zone = (*zones_)[z];
    const auto index = static_cast<uint8_t>(z);
    const size_t apex_size = zone.apex.size();
    exists(zone.apex.data(), apex_size, index, apex_size);
    for (const auto& name : zone.empty_names)
      if (name.isSubdomainOf(zone.apex)) exists(name.data(), name.size(), index, apex_size);
    for (const auto& name : zone.pod_parents)
      if (name.isSubdomainOf(zone.apex)) exists(name.data(), name.size(), index, apex_size);
    // A run of records of one name shares its owner bytes (RecordList::add): its node is
    // the last record's, with no hashing.
    const uint8_t* last_owner = nullptr;
    for (uint32_t i = 0; i < zone.records.size(); ++i) {
      const RecordList::View r = zone.records[i];
      if (r.owner == last_owner) {
        owner_.push_back(owner_.back());
        continue;
      }
      if (!wire::isSubdomain(r.owner, r.owner_size, zone.apex.data(), zone.apex.size()))
        return base::Error{text(r.owner, r.owner_size) + " is outside zone " + zone.apex.text(),
                           ""};
      owner_.push_back(exists(r.owner, r.owner_size, index, apex_size));
      last_owner = r.owner;
    }
  }
  groupRecords();
  return base::Ok{};
}

// A name and every ancestor down to its zone's apex: empty non-terminals exist (RFC 8020).
// Each suffix is a name in place, so nothing is allocated. Each new node learns its parent
// (layoutNames() walks them). Returns the name's node.
uint32_t SnapshotBuilder::exists(const uint8_t* name, size_t size, uint8_t zone, size_t apex_size) {
  uint8_t starts[wire::kMaxLabels + 1];
  uint64_t hashes[wire::kMaxLabels + 1];
  const size_t suffixes = wire::suffixHashes(name, starts, hashes);
  bool added = false;
  const uint32_t node = see(name, size, hashes[0], zone, added);
  for (uint32_t child = node, k = 1; added && k < suffixes && size - starts[k] >= apex_size; ++k) {
    // see() may grow parents_: look the parent up first, then store it.
    const uint32_t parent = see(name + starts[k], size - starts[k], hashes[k], zone, added);
    parents_[child] = parent;
    child = parent;
  }
  return node;
}

// The slot of a name in the table: its node's, or the empty one where it would go.
uint64_t SnapshotBuilder::probe(const uint8_t* name, size_t size, uint64_t hash) const {
  for (uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
    const uint32_t slot = table_[i];
    if (slot == 0) return i;
    if (node_hashes_[slot - 1] == hash && nodes_[slot - 1].name_size == size &&
        std::memcmp(node_names_[slot - 1], name, size) == 0)
      return i;
  }
}

// The node of a name, made if it is new (`added`).
uint32_t SnapshotBuilder::see(const uint8_t* name, size_t size, uint64_t hash, uint8_t zone,
                              bool& added) {
  if ((node_names_.size() + 1) * 2 > table_.size()) growTable();
  const uint64_t i = probe(name, size, hash);
  added = table_[i] == 0;
  if (!added) return table_[i] - 1;
  Node node;
  node.hash_high = static_cast<uint32_t>(hash >> 32);
  node.name_size = static_cast<uint8_t>(size);
  node.zone = zone;
  nodes_.push_back(node);
  node_names_.push_back(name);
  node_hashes_.push_back(hash);
  parents_.push_back(kNoNode);
  table_[i] = static_cast<uint32_t>(node_names_.size());
  return table_[i] - 1;
}

void SnapshotBuilder::growTable() {
  table_.assign(table_.size() * 2, 0);
  mask_ = table_.size() - 1;
  for (uint32_t node = 0; node < node_hashes_.size(); ++node) {
    uint64_t i = node_hashes_[node] & mask_;
    while (table_[i]) i = (i + 1) & mask_;
    table_[i] = node + 1;
  }
}

// Records grouped by node with one counting pass, not a sort of every record: only each
// node's few records are sorted, by type and then rdata.
void SnapshotBuilder::groupRecords() {
  const size_t nodes = node_names_.size();
  first_.assign(nodes + 1, 0);
  for (const uint32_t node : owner_) ++first_[node + 1];
  for (size_t n = 0; n < nodes; ++n) first_[n + 1] += first_[n];
  by_node_.resize(owner_.size());
  std::vector<uint32_t> next(first_.begin(), first_.end() - 1);
  size_t i = 0;
  for (uint32_t z = 0; z < zones_->size(); ++z)
    for (uint32_t r = 0; r < (*zones_)[z].records.size(); ++r, ++i)
      by_node_[next[owner_[i]]++] = {z, r};
  owner_ = {};
  // Each node's RRset count too (its distinct types), while its records are at hand.
  rrset_total_ = 0;
  for (size_t n = 0; n < nodes; ++n) {
    const uint32_t records = first_[n + 1] - first_[n];
    size_t types = records;
    if (records >= 2) {
      std::sort(by_node_.begin() + first_[n], by_node_.begin() + first_[n + 1], [&](Ref a, Ref b) {
        const RecordList::View x = recordOf(a), y = recordOf(b);
        if (x.type != y.type) return x.type < y.type;
        return x.rdataBytes() < y.rdataBytes();
      });
      types = 1;
      uint16_t last = recordOf(by_node_[first_[n]]).type;
      for (uint32_t k = first_[n] + 1; k < first_[n + 1]; ++k) {
        const uint16_t type = recordOf(by_node_[k]).type;
        types += type != last;
        last = type;
      }
    }
    if (types > UINT8_MAX && crowded_ == kNoNode) crowded_ = static_cast<uint32_t>(n);
    nodes_[n].rrset_count = static_cast<uint8_t>(std::min<size_t>(types, UINT8_MAX));
    rrset_total_ += types;
  }
}

// Appends the RRs of one RRset to the blob; returns its header, for the caller to place.
StoredRRset SnapshotBuilder::storeRRset(const std::vector<RecordList::View>& rrs, uint32_t ttl,
                                        uint32_t owner) {
  auto& blob = *snap_->blob_store_;
  auto& links = *snap_->links_store_;
  StoredRRset out;
  out.type = rrs.front().type;
  out.count = static_cast<uint16_t>(rrs.size());
  out.data = static_cast<uint32_t>(blob.size());
  out.links = static_cast<uint32_t>(links.size());
  size_t bytes = 0;
  for (const RecordList::View& r : rrs) bytes += 12 + r.rdata_size;
  blob.resize(blob.size() + bytes);  // within what layout() reserved
  links.resize(links.size() + rrs.size(), kNoNode);
  uint8_t* at = blob.data() + out.data;
  uint32_t link = out.links;
  for (const RecordList::View& r : rrs) {
    at += wire::storeRR(at, r.type, ttl ? ttl : r.ttl, r.rdata, r.rdata_size);
    if (const uint8_t* target = r.target()) pending_links_.push_back({link, target, owner});
    ++link;
  }
  out.size = static_cast<uint32_t>(bytes);
  snap_->record_count_ += rrs.size();
  return out;
}

// The blob, name group by name group (see layoutNames()): the group's name bytes, then each
// of its nodes' regions, the shortest name's first. A node's region is its StoredRRset
// headers, then the RRs of each RRset in the same order. So a hit reads its name and, right
// after it, its headers and records: for svc.ns.svc.cluster.local, whose name is the tail of
// _http._tcp.svc.ns.svc.cluster.local, usually two cache lines in all.
base::Status SnapshotBuilder::layout() {
  size_t blob = names_size_;
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
  if (crowded_ != kNoNode)
    return base::Error{
        text(node_names_[crowded_], nodes_[crowded_].name_size) + " has more than 255 record types",
        ""};
  blob += rrset_total_ * sizeof(StoredRRset);  // one header per (node, type)
  auto& out = *snap_->blob_store_;
  // For an editor, room to append: pages never written are not resident.
  out.reserve(edit_ ? blob * 2 + (1u << 20) : blob);
  snap_->links_store_->reserve(edit_ ? records * 2 + (1u << 16) : records);
  pending_links_.reserve(records);
  for (size_t g = 0; g + 1 < group_first_.size(); ++g) {
    const uint32_t* members = groups_.data() + group_first_[g];
    const size_t count = group_first_[g + 1] - group_first_[g];
    const auto at = static_cast<uint32_t>(out.size());
    const uint8_t* name = node_names_[members[0]];
    out.insert(out.end(), name, name + nodes_[members[0]].name_size);
    for (size_t m = 0; m < count; ++m) nodes_[members[m]].name_offset += at;
    for (size_t m = count; m-- > 0;)
      if (base::Status stored = storeNode(members[m]); !stored) return stored.error();
  }
  groups_ = {};
  group_first_ = {};
  return base::Ok{};
}

// One node's region: its RRsets in type order, identical records once.
// RFC 1034 §3.6.2: a name with a CNAME has no other data.
base::Status SnapshotBuilder::storeNode(uint32_t n) {
  auto& out = *snap_->blob_store_;
  Node& node = nodes_[n];
  const size_t types = node.rrset_count;  // counted by groupRecords()
  node.rrsets = static_cast<uint32_t>(out.size());
  if (types == 0) return base::Ok{};
  out.resize(out.size() + types * sizeof(StoredRRset));
  size_t stored = 0;
  auto store = [&] {
    const StoredRRset header = storeRRset(rrs_, 0, n);
    std::memcpy(out.data() + node.rrsets + stored++ * sizeof(StoredRRset), &header, sizeof header);
    rrs_.clear();
  };
  for (uint32_t k = first_[n]; k < first_[n + 1]; ++k) {
    const RecordList::View r = recordOf(by_node_[k]);
    if (!rrs_.empty() && rrs_.back().type != r.type) {
      if (rrs_.back().type == wire::type::CNAME || r.type == wire::type::CNAME)
        return base::Error{text(node_names_[n], node.name_size) +
                               " has a CNAME and other records (RFC 1034 §3.6.2)",
                           ""};
      store();
    }
    if (rrs_.empty() || rrs_.back().rdataBytes() != r.rdataBytes()) rrs_.push_back(r);
  }
  store();
  return base::Ok{};
}

// Every suffix of a wire name is a wire name, and a node's ancestors are nodes too: so only
// names that are no other name's suffix are stored, longest first, and each suffix that is a
// node points into them. `svc.ns.svc.cluster.local` costs nothing beside
// `_http._tcp.svc.ns.svc.cluster.local`; in a cluster zone this halves the names. Here
// each stored name makes a group: it and the nodes that are its suffixes, placed by it;
// name_offset is their offset within its bytes until layout() places the group in the blob.
void SnapshotBuilder::layoutNames() {
  const auto& nodes = nodes_;
  // Longest first, by counting: a wire name is at most 255 bytes.
  std::vector<uint32_t> first(wire::kMaxNameLength + 2, 0);
  for (const Node& node : nodes) ++first[wire::kMaxNameLength - node.name_size + 1];
  for (size_t size = 1; size < first.size(); ++size) first[size] += first[size - 1];
  std::vector<uint32_t> order(nodes.size());
  for (uint32_t i = 0; i < order.size(); ++i)
    order[first[wire::kMaxNameLength - nodes[i].name_size]++] = i;
  std::vector<bool> placed(order.size(), false);
  groups_.reserve(nodes.size());
  names_size_ = 0;
  for (const uint32_t index : order) {
    if (placed[index]) continue;
    const size_t size = nodes[index].name_size;
    group_first_.push_back(static_cast<uint32_t>(groups_.size()));
    groups_.push_back(index);
    names_size_ += size;
    placed[index] = true;
    nodes_[index].name_offset = 0;
    // Its ancestors (its suffixes that are nodes of its zone) not yet placed; one already
    // placed has had its own ancestors placed with it.
    for (uint32_t node = parents_[index]; node != kNoNode && !placed[node]; node = parents_[node]) {
      placed[node] = true;
      groups_.push_back(node);
      nodes_[node].name_offset = static_cast<uint32_t>(size - nodes[node].name_size);
    }
  }
  group_first_.push_back(static_cast<uint32_t>(groups_.size()));
}

// Moves every node into the snapshot's table, whose slots are the nodes: about 1.5 slots a
// node (at most two thirds full; a power of two at most half full would take up to 2x), and at
// least one slot empty so every probe ends. From here a node is named by its slot.
// A build for ZoneEditor takes two slots a node: a name a patch removes keeps its slot until
// the next full build, and the editor builds whole past 72 % used, so churn of names (Services
// and endpoints that come and go under new names) would otherwise force a full build after
// every twelfth of the zone's names; half full, a zone takes on 44 % more first.
void SnapshotBuilder::placeNodes() {
  const size_t count = nodes_.size();
  // A few more for a small zone, so that ZoneEditor can add names to it for a while.
  const size_t slots = (edit_ ? 2 * count : count + count / 2 + 1) + 64;
  const size_t pages = (slots + Snapshot::kPageMask) >> Snapshot::kPageShift;
  const std::shared_ptr<Node[]> block = std::make_shared<Node[]>(pages << Snapshot::kPageShift);
  Node* table = block.get();
  snap_->page_table_.resize(pages);
  snap_->page_groups_.resize((pages + Snapshot::kGroupMask) >> Snapshot::kGroupShift);
  for (size_t p = 0; p < pages; ++p) {
    Node* page = table + (p << Snapshot::kPageShift);
    snap_->page_table_[p] = page;
    auto& group = snap_->page_groups_[p >> Snapshot::kGroupShift];
    if (!group) group = std::make_shared<Snapshot::PageGroup>();
    group->pages[p & Snapshot::kGroupMask] = std::shared_ptr<Node[]>(block, page);
  }
  snap_->slot_count_ = slots;
  if (edit_) slot_of_.resize(count);
  for (size_t n = 0; n < count; ++n) {
    size_t i = homeSlot(node_hashes_[n], slots);
    while (table[i].name_size != 0)
      if (++i == slots) i = 0;
    table[i] = nodes_[n];
    if (edit_) slot_of_[n] = static_cast<uint32_t>(i);
  }
  if (edit_) {
    edit_->children.assign(slots, 0);
    for (size_t n = 0; n < count; ++n)
      if (parents_[n] != kNoNode) ++edit_->children[slot_of_[parents_[n]]];
  }
  snap_->node_count_ = count;
  nodes_ = {};
  table_ = {};
  node_hashes_ = {};
  node_names_ = {};
  parents_ = {};
}

// Each link is a lookup in the finished table, on one thread: split in two halves they saved
// nothing measurable (docs/benchmarks.md, "Startup").
void SnapshotBuilder::linkTargets() {
  auto& links = *snap_->links_store_;
  for (const PendingLink& p : pending_links_) {
    const size_t size = wire::nameSize(p.target);
    links[p.link] = snap_->findIndex(p.target, size, wire::hashWire(p.target));
    if (edit_ && links[p.link] == kNoNode && p.owner != kNoNode &&
        snap_->zoneOfName(p.target, size) >= 0) {
      const Node& owner = snap_->node(slot_of_[p.owner]);
      edit_->waiting.emplace_back(
          std::string(reinterpret_cast<const char*>(p.target), size),
          std::string(reinterpret_cast<const char*>(snap_->nameOf(owner)), owner.name_size));
    }
  }
}

void SnapshotBuilder::zoneInfo() {
  for (const auto& zone : *zones_) {
    ZoneInfo info{zone.apex, zone.apex.hash(), zone.apex.labelCount(), {}, zone.ttl, zone.unsynced};
    const Node* apex = snap_->find(zone.apex.data(), zone.apex.size(), info.hash);
    const StoredRRset* soa = snap_->rrset(*apex, wire::type::SOA);
    if (soa) {
      // RFC 2308 §5: the negative-answer TTL is min(SOA TTL, SOA minimum).
      for (size_t i = 0; i < zone.records.size(); ++i) {
        const RecordList::View r = zone.records[i];
        if (r.type != wire::type::SOA || !r.ownerIs(zone.apex)) continue;
        const uint32_t minimum = wire::load32(r.rdata + r.rdata_size - 4);
        info.negative_soa =
            storeRRset({r}, std::max<uint32_t>(1, std::min({r.ttl, minimum, 300u})));
        break;
      }
    }
    snap_->zones_.push_back(std::move(info));
  }
}

base::Result<std::shared_ptr<const Snapshot>> SnapshotBuilder::build(
    std::vector<ZoneContent> zones, uint32_t serial, std::shared_ptr<const hosts::HostsTable> hosts,
    EditState* edit) {
  zones_ = &zones;
  edit_ = edit;
  for (const auto& zone : zones) {
    bool has_soa = false;
    for (size_t i = 0; i < zone.records.size() && !has_soa; ++i)
      has_soa = zone.records[i].type == wire::type::SOA && zone.records[i].ownerIs(zone.apex);
    if (!has_soa) return base::Error{"zone " + zone.apex.text() + " has no SOA", ""};
  }
  auto status = collect();
  if (!status) return status.error();
  layoutNames();
  if (base::Status laid = layout(); !laid) return laid.error();
  placeNodes();
  snap_->bind();  // find() reads names
  for (const auto& zone : zones) {
    for (const auto& name : zone.pod_parents)
      if (const uint32_t n = snap_->findIndex(name.data(), name.size(), name.hash()); n != kNoNode)
        snap_->slotAt(n).flags |= kPodParent;
    for (const auto& name : zone.empty_names)
      if (const uint32_t n = snap_->findIndex(name.data(), name.size(), name.hash()); n != kNoNode)
        snap_->slotAt(n).flags |= kKept;
  }
  zoneInfo();
  linkTargets();
  for (const auto& zone : zones)
    for (const auto& [ip, domain] : zone.pod_search)
      if (const uint32_t n = snap_->findIndex(domain.data(), domain.size(), domain.hash());
          n != kNoNode)
        snap_->pod_search_.emplace_back(ip, n);
  std::sort(snap_->pod_search_.begin(), snap_->pod_search_.end());
  if (!edit_) {
    trim(*snap_->blob_store_);
    trim(*snap_->links_store_);
  } else {
    releaseRoom(*snap_->blob_store_);
    releaseRoom(*snap_->links_store_);
    edit_->made = true;
  }
  snap_->bind();
  snap_->blob_size_ = snap_->blob_store_->size();
  snap_->links_size_ = snap_->links_store_->size();
  snap_->serial_ = serial;
  snap_->hosts_ = std::move(hosts);
  return std::shared_ptr<const Snapshot>(std::move(snap_));
}

base::Result<std::shared_ptr<const Snapshot>> buildSnapshot(
    std::vector<ZoneContent> zones, uint32_t serial, std::shared_ptr<const hosts::HostsTable> hosts,
    EditState* edit) {
  return SnapshotBuilder().build(std::move(zones), serial, std::move(hosts), edit);
}

}  // namespace dnsd::zone
