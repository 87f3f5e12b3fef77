// SnapshotBuilder: lays out a Snapshot from the zones' records, once per load, on the
// control plane. buildSnapshot() (snapshot.h) is its entry point.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/zone/records.h"
#include "dnsd/zone/snapshot.h"

namespace dnsd::zone {

// Lays out names, RRsets and the hash table. Runs on the control plane, once per load: it
// reads the zones' records in place and keeps no object per record or per name beyond the
// flat arrays below.
class SnapshotBuilder {
 public:
  base::Result<std::shared_ptr<const Snapshot>> build(
      std::vector<ZoneContent> zones, uint32_t serial,
      std::shared_ptr<const hosts::HostsTable> hosts = nullptr, EditState* edit = nullptr);

 private:
  base::Status collect();
  uint32_t exists(const uint8_t* name, size_t size, uint8_t zone, size_t apex_size);
  uint32_t see(const uint8_t* name, size_t size, uint64_t hash, uint8_t zone, bool& added);
  uint64_t probe(const uint8_t* name, size_t size, uint64_t hash) const;
  void growTable();
  void groupRecords();
  base::Status layout();
  StoredRRset storeRRset(const std::vector<RecordList::View>& rrs, uint32_t ttl,
                         uint32_t owner = kNoNode);
  base::Status storeNode(uint32_t node);
  void layoutNames();
  void placeNodes();
  void linkTargets();
  void zoneInfo();

  const std::vector<ZoneContent>* zones_ = nullptr;
  std::shared_ptr<Snapshot> snap_ = [] {
    auto snap = std::make_shared<Snapshot>();
    snap->blob_store_ = std::make_shared<std::vector<uint8_t>>();
    snap->links_store_ = std::make_shared<std::vector<uint32_t>>();
    return snap;
  }();
  // A node is made when its name is first seen, numbered in that order; a table of node
  // index + 1 (a power of two, grown to keep it at most half full) finds it by name until
  // placeNodes() moves every node into the snapshot's slots, where its slot is its index.
  std::vector<Node> nodes_;
  std::vector<uint32_t> table_;
  uint64_t mask_ = 0;
  std::vector<const uint8_t*> node_names_;  // by node index, until placeNodes(); in the zones
  std::vector<uint64_t> node_hashes_;       // by node index
  std::vector<uint32_t> parents_;           // by node index: the node one label up, or
                                            // kNoNode for an apex
  // A record: its zone and its index in that zone's list.
  struct Ref {
    uint32_t zone;
    uint32_t record;
  };
  RecordList::View recordOf(Ref ref) const { return (*zones_)[ref.zone].records[ref.record]; }
  // Each record's node, in record order (zone by zone); then, by groupRecords(), the
  // records of node n at by_node_[first_[n] .. first_[n + 1]), by type and rdata.
  std::vector<uint32_t> owner_;
  std::vector<uint32_t> first_;
  std::vector<Ref> by_node_;
  struct PendingLink {
    uint32_t link;          // index in the links
    const uint8_t* target;  // its name, in the zones' records
    uint32_t owner;         // the node whose RRset it is in
  };
  std::vector<PendingLink> pending_links_;
  EditState* edit_ = nullptr;      // build()'s `edit`
  std::vector<uint32_t> slot_of_;  // with edit_: by node index, its slot
  // layoutNames()' groups: each a stored name's node, then the nodes that are its suffixes,
  // longest first; group g is groups_[group_first_[g] .. group_first_[g + 1]).
  std::vector<uint32_t> groups_;
  std::vector<uint32_t> group_first_;
  size_t names_size_ = 0;              // bytes of the stored names
  size_t rrset_total_ = 0;             // by groupRecords(): RRsets of all nodes
  uint32_t crowded_ = kNoNode;         // by groupRecords(): a node with over 255 types
  std::vector<RecordList::View> rrs_;  // storeNode()'s RRset being gathered
};

}  // namespace dnsd::zone
