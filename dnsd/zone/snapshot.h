// The immutable zone snapshot the hot path reads: every name (with empty non-terminals) in
// one open-addressing hash table, RRsets prerendered in wire form, target names linked to
// their nodes, and each zone's negative-answer SOA. Built once by buildSnapshot().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/hosts/hosts_table.h"
#include "dnsd/wire/query.h"
#include "dnsd/wire/writer.h"
#include "dnsd/zone/records.h"

namespace dnsd::zone {

inline constexpr uint32_t kNoNode = 0xFFFFFFFF;

// A hash's home slot among `slots`: the low 32 bits scaled onto the slot count.
inline size_t homeSlot(uint64_t hash, size_t slots) noexcept {
  return static_cast<size_t>((static_cast<uint64_t>(static_cast<uint32_t>(hash)) * slots) >> 32);
}

// One RRset, prerendered in Snapshot's blob: per RR a 2-byte length, then type, class, TTL,
// rdlength and rdata, ready to follow an owner name. Snapshot::view() gives the writer's view.
// A node's headers sit in the blob right before that node's RRs (see Node::rrsets), so a
// lookup reads one region after the name; packed, because the blob keeps no alignment and
// padding every node's headers to 4 bytes would cost memory. The offset of a domain name
// in each rdata (wire::RRsetView::name_at) follows from the type, so it is not stored.
struct __attribute__((packed)) StoredRRset {
  uint32_t data = 0;   // offset into the blob
  uint32_t size = 0;   // bytes in the blob
  uint32_t links = 0;  // index into Snapshot link table: one node per RR (kNoNode if none)
  uint16_t type = 0;
  uint16_t count = 0;
};
static_assert(sizeof(StoredRRset) == 16);

// Where a name we may point to later sits in each rdata of a type: CNAME, NS, PTR at 0,
// SRV's target at 6; other types' names are not tracked (0xFFFF).
constexpr uint16_t nameAtOf(uint16_t type) noexcept {
  if (type == wire::type::CNAME || type == wire::type::NS || type == wire::type::PTR) return 0;
  if (type == wire::type::SRV) return 6;
  return 0xFFFF;
}

// Where the name the builder links sits in each rdata of a type (RecordList's target:
// CNAME, NS, PTR at 0, MX's exchange at 2, SRV's target at 6), or 0xFFFF.
constexpr uint16_t linkAtOf(uint16_t type) noexcept {
  return type == wire::type::MX ? 2 : nameAtOf(type);
}

// Node flags, computed at build time so the query path only tests bits.
inline constexpr uint8_t kPodParent = 1;  // children are Pod IP names made at query time
inline constexpr uint8_t kKept = 2;  // exists with no records or children (empty_names)
// A name a patch removed (ZoneEditor): its slot stays, so that the links to it and the probe
// sequences through it stay valid, and it comes back there if the name does. It is no node:
// find() and link() never give it.
inline constexpr uint8_t kGone = 4;

// 16 bytes a name, and a slot of the snapshot's hash table: the table's slots are the nodes,
// so a hit reads the slot, the name bytes and the node's blob region, nothing in between.
// The low half of the 64-bit hash places a node (multiply-shift onto the slot count, then
// linear probing with wrap); the high half kept here rejects almost every other name before
// a byte is compared. An empty slot has name_size 0 (the root's wire name is 1 byte).
struct Node {
  uint32_t hash_high = 0;
  uint32_t name_offset = 0;  // into the blob: lowercase wire form, shared with the names
                             // it is a suffix of
  uint32_t rrsets = 0;       // blob offset of the node's rrset_count StoredRRset headers,
                             // which its RRs follow
  uint8_t name_size = 0;     // 0: an empty slot
  uint8_t zone = 0;
  uint8_t flags = 0;
  uint8_t rrset_count = 0;  // distinct types at the name; the builder refuses more than 255
};
static_assert(sizeof(Node) == 16);

struct ZoneInfo {
  wire::Name apex;
  uint64_t hash = 0;
  int labels = 0;
  StoredRRset negative_soa;    // the SOA with TTL min(TTL, minimum) for the authority section
  uint32_t ttl = kDefaultTtl;  // of records made at query time
  bool unsynced = false;       // ZoneContent::unsynced: SERVFAIL for every name
};

class Snapshot {
 public:
  // The node of a lowercase wire name, or nullptr.
  const Node* find(const uint8_t* name, size_t size, uint64_t hash) const noexcept;
  // Cache hints for a find() of `hash` soon: prefetchSlot() asks for its home slot;
  // prefetchNode(), once that slot is in cache, for the name and RRsets of the node there.
  // prefetchNode() is false when no node has the hash (an empty slot comes first).
  void prefetchSlot(uint64_t hash) const noexcept;
  bool prefetchNode(uint64_t hash) const noexcept;
  // The zone the query name falls in (the longest apex that is a suffix), or -1.
  int zoneOf(const wire::QueryView& q) const noexcept;
  // The zone an uncompressed lowercase wire name (at most `room` bytes readable) falls in.
  int zoneOfName(const uint8_t* name, size_t room) const noexcept;
  const StoredRRset* rrset(const Node& node, uint16_t type) const noexcept;
  const StoredRRset* rrsetsOf(const Node& node) const noexcept {
    return reinterpret_cast<const StoredRRset*>(blob_ + node.rrsets);
  }
  wire::RRsetView view(const StoredRRset& r) const noexcept {
    return {r.type, r.count, blob_ + r.data, r.size, nameAtOf(r.type)};
  }
  // Nodes are named by slot index.
  const Node& node(uint32_t index) const noexcept {
    return page_table_[index >> kPageShift][index & kPageMask];
  }
  // The index of the node of a lowercase wire name, or kNoNode (control plane).
  uint32_t findIndex(const uint8_t* name, size_t size, uint64_t hash) const noexcept;
  // Cache hints for a walk by index (zone transfers): the node's slot, then, once that is
  // in cache, its name and RRsets.
  void prefetchSlotAt(uint32_t index) const noexcept { __builtin_prefetch(&node(index)); }
  void prefetchNodeAt(uint32_t index) const noexcept {
    const Node& n = node(index);
    __builtin_prefetch(blob_ + n.name_offset);
    __builtin_prefetch(blob_ + n.rrsets);
  }
  // The node RR `i` of an RRset points to, or kNoNode (a target that is not a node).
  uint32_t link(uint32_t links, uint16_t i) const noexcept {
    const uint32_t target = links_[links + i];
    return target == kNoNode || (node(target).flags & kGone) ? kNoNode : target;
  }
  const uint8_t* nameOf(const Node& node) const noexcept { return blob_ + node.name_offset; }
  const ZoneInfo& zone(int index) const noexcept { return zones_[index]; }
  size_t zoneCount() const noexcept { return zones_.size(); }
  // Every slot of the hash table, for a walk over all nodes (zone transfers): a slot with
  // name_size 0 is empty, one flagged kGone holds no node (and no RRsets).
  size_t slotCount() const noexcept { return slot_count_; }
  // --autopath: the node of NS.svc.DOMAIN for a Pod's address, or nullptr.
  const Node* searchDomainOf(const base::IpAddress& client) const noexcept;
  bool autopath() const noexcept { return !pod_search_.empty(); }
  // --hosts: the hosts file's names, answered before the zones; nullptr without one.
  const hosts::HostsTable* hosts() const noexcept { return hosts_.get(); }
  // This snapshot with another hosts table: a changed hosts file is published without
  // rebuilding the zones (a copy, so readers of this one are undisturbed).
  std::shared_ptr<const Snapshot> withHosts(std::shared_ptr<const hosts::HostsTable> hosts) const;

  uint32_t serial() const { return serial_; }
  size_t nodeCount() const { return node_count_; }
  size_t recordCount() const { return record_count_; }
  size_t bytes() const;

 private:
  friend class SnapshotBuilder;
  friend class ZoneEditor;
  // Stored names, each followed by the regions of the nodes it names (itself and those of
  // its suffixes that are nodes): a region is the node's StoredRRset headers, then its
  // prerendered RRs. The zones' negative-answer SOAs' RRs come last. The snapshots a
  // ZoneEditor makes from this one share it: they append to it (within its capacity, so it
  // never moves) and never rewrite a byte an older one reads.
  std::shared_ptr<std::vector<uint8_t>> blob_store_;
  const uint8_t* blob_ = nullptr;  // blob_store_'s bytes
  // The hash table, about 1.5 slots a node, in pages of 256 slots (4 KiB), read through
  // `page_table_`: a patch (ZoneEditor) copies the pages it changes and shares the rest with
  // the snapshot it patched. A full build's pages are one allocation. Pages are owned in
  // groups of 16, so that copying a snapshot for a patch takes one reference a group rather
  // than one a page (each an atomic increment, and its decrement when the snapshot goes).
  static constexpr uint32_t kPageShift = 8;
  static constexpr uint32_t kPageMask = (1u << kPageShift) - 1;
  static constexpr uint32_t kGroupShift = 4;
  static constexpr uint32_t kGroupMask = (1u << kGroupShift) - 1;
  struct PageGroup {
    std::shared_ptr<Node[]> pages[1u << kGroupShift];
  };
  std::vector<Node*> page_table_;
  std::vector<std::shared_ptr<PageGroup>> page_groups_;
  size_t slot_count_ = 0;
  Node& slotAt(uint32_t index) { return page_table_[index >> kPageShift][index & kPageMask]; }
  size_t node_count_ = 0;
  std::shared_ptr<std::vector<uint32_t>> links_store_;  // shared as blob_store_ is
  const uint32_t* links_ = nullptr;
  size_t blob_size_ = 0, links_size_ = 0;  // of the stores, as this snapshot uses them
  void bind() {
    blob_ = blob_store_->data();
    links_ = links_store_->data();
  }
  std::vector<ZoneInfo> zones_;
  std::vector<std::pair<base::IpAddress, uint32_t>> pod_search_;  // sorted: IP -> node
  std::shared_ptr<const hosts::HostsTable> hosts_;
  uint32_t serial_ = 0;
  size_t record_count_ = 0;
};

// What a ZoneEditor needs to follow a snapshot beside the snapshot itself, which the builder
// knows for nothing and the editor would otherwise find by a walk of every name.
struct EditState {
  std::vector<uint32_t> children;  // by slot: the node's children
  // Links to names of our zones that have no node: target, owner (lowercase wire forms).
  std::vector<std::pair<std::string, std::string>> waiting;
  bool made = false;
};

// Builds a snapshot of the given zones. Fails (and builds nothing) on records that cannot
// coexist: a name with a CNAME and other data, an owner outside its zone.
// `hosts` (may be null) is served with it. With `edit`, the snapshot is made for a
// ZoneEditor to follow: its blob and links have room to append (reserved, not resident
// until written), and `edit` is filled.
base::Result<std::shared_ptr<const Snapshot>> buildSnapshot(
    std::vector<ZoneContent> zones, uint32_t serial,
    std::shared_ptr<const hosts::HostsTable> hosts = nullptr, EditState* edit = nullptr);

}  // namespace dnsd::zone
