// ZoneEditor: a change to a published snapshot that costs what it touches. The new snapshot
// shares the old one's blob and links (appended to, never rewritten) and the pages of its
// slot table it does not change; the nodes whose records change get new regions, names that come
// get slots, names that go stay as tombstones (kGone). Runs on the control plane; the full build
// (buildSnapshot) stays the path for starts, reloads and changes the editor refuses.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/zone/record_list.h"
#include "dnsd/zone/snapshot.h"

namespace dnsd::zone {

// A change to a zone, as the records and names that go and come.
struct Patch {
  // Records taken out: each must be in the zone as given (owner, type, TTL, rdata).
  RecordList removed;
  // Records put in: none may be in the zone already (with the same rdata), as no two
  // sources of a zone make the same record.
  RecordList added;
  // ZoneContent::empty_names and pod_parents that go and come. Each makes a name exist
  // without records, as in a full build: a name in both lists stays while it is in either.
  std::vector<wire::Name> kept_removed, kept_added;
  std::vector<wire::Name> pod_parents_removed, pod_parents_added;
  uint32_t serial = 0;  // of the new snapshot (its SOA records come in removed and added)
};

class ZoneEditor {
 public:
  // Starts from a snapshot buildSnapshot() made, or one made by withHosts() from it. With
  // the EditState the build filled, it follows it as it is; without, the first apply()
  // copies its blob and links to an arena with room and walks every name to count
  // children and find unlinked targets.
  void adopt(std::shared_ptr<const Snapshot> full, EditState edit = {});

  // The current snapshot with the patch applied: it answers as buildSnapshot() of the same
  // records would. An error changes nothing (the caller builds the zone whole and adopts
  // it): a record to remove that is not there, one to add that is, an owner in no zone, a
  // CNAME beside other data, more than 255 types at a name, the table too full, the arena
  // out of room or too much of it dead.
  base::Result<std::shared_ptr<const Snapshot>> apply(const Patch& patch);

  const std::shared_ptr<const Snapshot>& current() const { return current_; }

 private:
  struct Rr {
    uint16_t type = 0;
    uint32_t ttl = 0;
    std::string rdata;
    uint16_t target_at = RecordList::kNoTarget;
  };
  // A touched name: its slot (kNoNode until it has one) and records after the patch.
  struct Change {
    std::string name;
    uint32_t slot = kNoNode;
    int zone = -1;
    bool records = false;  // its records change
    std::vector<Rr> rrs;
    int kept = 0;        // +1 kept, -1 not
    int pod_parent = 0;  // +1 flagged, -1 not
  };

  void prepare();
  // The slot of a name, live or gone, or kNoNode.
  uint32_t findSlot(const Snapshot& s, const uint8_t* name, size_t size) const;
  std::vector<Rr> recordsOf(const Node& node) const;
  base::Status change(Change& c, const Patch& patch);
  size_t regionBytes(const std::vector<Rr>& rrs) const;
  Node& writable(Snapshot& next, uint32_t slot);
  uint32_t createSlot(Snapshot& next, const uint8_t* name, size_t size, int zone);
  void storeRegion(Snapshot& next, uint32_t slot, const std::vector<Rr>& rrs);
  uint32_t parentOf(const Snapshot& next, uint32_t slot) const;
  void settle(Snapshot& next, uint32_t slot);

  std::shared_ptr<const Snapshot> current_;
  bool prepared_ = false;
  EditState edit_;                              // adopt()'s, until prepare()
  std::shared_ptr<std::vector<uint8_t>> blob_;  // the lineage's arena (prepare())
  std::shared_ptr<std::vector<uint32_t>> links_;
  std::vector<uint32_t> children_;   // by slot: live nodes one label below
  std::vector<bool> copied_;         // by page: copied by the apply() under way
  std::vector<bool> copied_groups_;  // by page group: the same
  size_t used_slots_ = 0;            // slots with a name, live or gone
  size_t dead_bytes_ = 0;            // of the blob, read by no later snapshot
  // In-zone names linked before they existed: target name → the owners whose RRsets link
  // it, to be stored again (and so linked) once it has a slot.
  std::unordered_map<std::string, std::vector<std::string>> waiting_;
  // Links of the regions stored by one apply(): link index, target, owner.
  std::vector<std::tuple<uint32_t, std::string, std::string>> pending_links_;
};

}  // namespace dnsd::zone
