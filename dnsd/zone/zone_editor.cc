#include "dnsd/zone/zone_editor.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <tuple>

#include "dnsd/wire/dns.h"
#include "dnsd/wire/name.h"

namespace dnsd::zone {
namespace {

// Past this share of used slots (live or gone) a probe for a name that is not there grows
// long: the zone is built whole again, with a table sized for what it holds. A full build
// fills about two thirds.
constexpr size_t kMaxLoadPercent = 72;
// Dead bytes are not worth a full build before there are this many of them, or a third of
// the blob: a small zone would be built again every few changes.
constexpr size_t kDeadFloor = 256 * 1024;

std::string nameText(std::string_view wire) {
  return wire::Name::fromWire(std::string(wire)).text();
}

std::string_view bytes(const uint8_t* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

}  // namespace

void ZoneEditor::adopt(std::shared_ptr<const Snapshot> full, EditState edit) {
  current_ = std::move(full);
  edit_ = std::move(edit);
  prepared_ = false;
  blob_.reset();
  links_.reset();
  children_.clear();
  waiting_.clear();
  used_slots_ = 0;
  dead_bytes_ = 0;
}

uint32_t ZoneEditor::findSlot(const Snapshot& s, const uint8_t* name, size_t size) const {
  const size_t slots = s.slot_count_;
  if (slots == 0) return kNoNode;
  const uint64_t hash = wire::hashWire(name);
  const auto high = static_cast<uint32_t>(hash >> 32);
  for (size_t i = homeSlot(hash, slots);;) {
    const Node& n = s.node(static_cast<uint32_t>(i));
    if (n.name_size == 0) return kNoNode;
    if (n.hash_high == high && n.name_size == size &&
        std::memcmp(s.blob_ + n.name_offset, name, size) == 0)
      return static_cast<uint32_t>(i);
    if (++i == slots) i = 0;
  }
}

uint32_t ZoneEditor::parentOf(const Snapshot& s, uint32_t slot) const {
  const Node& n = s.node(slot);
  if (n.name_size <= s.zones_[n.zone].apex.size()) return kNoNode;  // the apex
  const uint8_t* name = s.blob_ + n.name_offset;
  const size_t skip = name[0] + 1u;
  return findSlot(s, name + skip, n.name_size - skip);
}

std::vector<ZoneEditor::Rr> ZoneEditor::recordsOf(const Node& node) const {
  std::vector<Rr> rrs;
  const auto* headers = reinterpret_cast<const StoredRRset*>(blob_->data() + node.rrsets);
  for (uint16_t h = 0; h < node.rrset_count; ++h) {
    StoredRRset header;
    std::memcpy(&header, headers + h, sizeof header);
    const uint8_t* p = blob_->data() + header.data;
    for (uint16_t i = 0; i < header.count; ++i) {
      const uint16_t length = wire::load16(p);
      const uint16_t rdata_size = wire::load16(p + 10);
      rrs.push_back({wire::load16(p + 2), wire::load32(p + 6),
                     std::string(bytes(p + 12, rdata_size)), linkAtOf(header.type)});
      p += 2u + length;
    }
  }
  return rrs;
}

// The lineage's own arena, with room to append (pages never written are not resident), the
// snapshot's bytes at the same offsets; the count of each node's live children; the links
// that wait for a name of ours to exist.
void ZoneEditor::prepare() {
  const Snapshot& s = *current_;
  if (edit_.made && s.blob_store_->size() == s.blob_size_ &&
      s.blob_store_->capacity() > s.blob_size_ && s.links_store_->size() == s.links_size_) {
    // Built for this: its arena has room, and the builder counted the rest.
    blob_ = s.blob_store_;
    links_ = s.links_store_;
    children_ = std::move(edit_.children);
    used_slots_ = s.node_count_;
    dead_bytes_ = 0;
    waiting_.clear();
    for (auto& [target, owner] : edit_.waiting)
      waiting_[std::move(target)].push_back(std::move(owner));
    edit_ = {};
    prepared_ = true;
    return;
  }
  edit_ = {};
  blob_ = std::make_shared<std::vector<uint8_t>>();
  blob_->reserve(s.blob_size_ * 2 + (1u << 20));
  blob_->assign(s.blob_, s.blob_ + s.blob_size_);
  links_ = std::make_shared<std::vector<uint32_t>>();
  links_->reserve(s.links_size_ * 2 + (1u << 16));
  links_->assign(s.links_, s.links_ + s.links_size_);
  children_.assign(s.slot_count_, 0);
  used_slots_ = 0;
  dead_bytes_ = 0;
  waiting_.clear();
  for (uint32_t i = 0; i < s.slot_count_; ++i) {
    const Node& n = s.node(static_cast<uint32_t>(i));
    if (n.name_size == 0) continue;
    ++used_slots_;
    if (n.flags & kGone) continue;
    if (const uint32_t parent = parentOf(s, i); parent != kNoNode) ++children_[parent];
    const auto* headers = reinterpret_cast<const StoredRRset*>(s.blob_ + n.rrsets);
    for (uint16_t h = 0; h < n.rrset_count; ++h) {
      StoredRRset header;
      std::memcpy(&header, headers + h, sizeof header);
      const uint16_t at = linkAtOf(header.type);
      if (at == RecordList::kNoTarget) continue;
      const uint8_t* p = s.blob_ + header.data;
      for (uint16_t k = 0; k < header.count; ++k) {
        const uint8_t* target = p + 12 + at;
        const uint16_t rdata_size = wire::load16(p + 10);
        if (s.links_[header.links + k] == kNoNode && s.zoneOfName(target, rdata_size - at) >= 0)
          waiting_[std::string(bytes(target, wire::nameSize(target)))].push_back(
              std::string(bytes(s.blob_ + n.name_offset, n.name_size)));
        p += 2u + wire::load16(p);
      }
    }
  }
  prepared_ = true;
}

size_t ZoneEditor::regionBytes(const std::vector<Rr>& rrs) const {
  size_t total = 0;
  for (size_t i = 0; i < rrs.size(); ++i) {
    if (i == 0 || rrs[i].type != rrs[i - 1].type) total += sizeof(StoredRRset);
    total += 12 + rrs[i].rdata.size();
  }
  return total;
}

// A touched name's records after the patch, checked as the builder checks them.
base::Status ZoneEditor::change(Change& c, const Patch& patch) {
  const Snapshot& s = *current_;
  const auto* name = reinterpret_cast<const uint8_t*>(c.name.data());
  c.slot = findSlot(s, name, c.name.size());
  c.zone = c.slot != kNoNode ? s.node(c.slot).zone : s.zoneOfName(name, c.name.size());
  if (c.zone < 0) return base::Error{nameText(c.name) + " is in no zone", ""};
  const bool live = c.slot != kNoNode && !(s.node(c.slot).flags & kGone);
  if (c.kept < 0 && !(live && (s.node(c.slot).flags & kKept)))
    return base::Error{nameText(c.name) + " is not a kept name", ""};
  if (!c.records) return base::Ok{};
  if (live) c.rrs = recordsOf(s.node(c.slot));
  auto same = [](const Rr& a, const RecordList::View& b) {
    return a.type == b.type && a.rdata == b.rdataBytes();
  };
  for (size_t i = 0; i < patch.removed.size(); ++i) {
    const RecordList::View r = patch.removed[i];
    if (bytes(r.owner, r.owner_size) != c.name) continue;
    auto it = std::find_if(c.rrs.begin(), c.rrs.end(),
                           [&](const Rr& rr) { return same(rr, r) && rr.ttl == r.ttl; });
    if (it == c.rrs.end())
      return base::Error{
          nameText(c.name) + " has no such record of type " + std::to_string(r.type) + " to remove",
          ""};
    c.rrs.erase(it);
  }
  for (size_t i = 0; i < patch.added.size(); ++i) {
    const RecordList::View r = patch.added[i];
    if (bytes(r.owner, r.owner_size) != c.name) continue;
    if (std::any_of(c.rrs.begin(), c.rrs.end(), [&](const Rr& rr) { return same(rr, r); }))
      return base::Error{
          nameText(c.name) + " has a record of type " + std::to_string(r.type) + " added twice",
          ""};
    c.rrs.push_back({r.type, r.ttl, std::string(r.rdataBytes()), r.target_at});
  }
  std::sort(c.rrs.begin(), c.rrs.end(), [](const Rr& a, const Rr& b) {
    return std::tie(a.type, a.rdata) < std::tie(b.type, b.rdata);
  });
  size_t types = 0;
  bool cname = false, soa = false;
  for (size_t i = 0; i < c.rrs.size(); ++i) {
    types += i == 0 || c.rrs[i].type != c.rrs[i - 1].type;
    cname |= c.rrs[i].type == wire::type::CNAME;
    soa |= c.rrs[i].type == wire::type::SOA;
  }
  // RFC 1034 §3.6.2: a name with a CNAME has no other data.
  if (cname && types > 1)
    return base::Error{nameText(c.name) + " has a CNAME and other records (RFC 1034 §3.6.2)", ""};
  if (types > UINT8_MAX)
    return base::Error{nameText(c.name) + " has more than 255 record types", ""};
  if (c.name.size() == s.zones_[c.zone].apex.size() && !soa)
    return base::Error{"zone " + nameText(c.name) + " has no SOA", ""};
  return base::Ok{};
}

// A slot of the snapshot being made, to change: its page is copied first, once per patch,
// so that the pages the published snapshots read are never written.
Node& ZoneEditor::writable(Snapshot& next, uint32_t slot) {
  const uint32_t page = slot >> Snapshot::kPageShift;
  if (!copied_[page]) {
    // The page's group first, so the published snapshots' groups are never written either.
    const uint32_t group = page >> Snapshot::kGroupShift;
    auto& owner = next.page_groups_[group];
    if (!copied_groups_[group]) {
      owner = std::make_shared<Snapshot::PageGroup>(*owner);
      copied_groups_[group] = true;
    }
    auto copy = std::make_shared<Node[]>(size_t{1} << Snapshot::kPageShift);
    std::memcpy(copy.get(), next.page_table_[page], sizeof(Node) << Snapshot::kPageShift);
    next.page_table_[page] = copy.get();
    owner->pages[page & Snapshot::kGroupMask] = std::move(copy);
    copied_[page] = true;
  }
  return next.slotAt(slot);
}

uint32_t ZoneEditor::createSlot(Snapshot& next, const uint8_t* name, size_t size, int zone) {
  auto& blob = *blob_;
  Node node;
  const uint64_t hash = wire::hashWire(name);
  node.hash_high = static_cast<uint32_t>(hash >> 32);
  node.name_offset = static_cast<uint32_t>(blob.size());
  blob.insert(blob.end(), name, name + size);
  node.name_size = static_cast<uint8_t>(size);
  node.zone = static_cast<uint8_t>(zone);
  node.flags = kGone;  // settle() brings it to life
  const size_t slots = next.slot_count_;
  size_t i = homeSlot(hash, slots);
  while (next.node(static_cast<uint32_t>(i)).name_size != 0)
    if (++i == slots) i = 0;
  writable(next, static_cast<uint32_t>(i)) = node;
  ++used_slots_;
  return static_cast<uint32_t>(i);
}

// A node's new region: its RRsets' headers, then their RRs, appended; the old one is dead.
void ZoneEditor::storeRegion(Snapshot& next, uint32_t slot, const std::vector<Rr>& rrs) {
  auto& blob = *blob_;
  auto& links = *links_;
  Node& node = writable(next, slot);
  const std::string owner(bytes(next.blob_ + node.name_offset, node.name_size));
  for (uint16_t h = 0; h < node.rrset_count; ++h) {
    StoredRRset header;
    std::memcpy(&header, blob.data() + node.rrsets + h * sizeof header, sizeof header);
    dead_bytes_ += sizeof header + header.size;
    next.record_count_ -= header.count;
  }
  size_t types = 0;
  for (size_t i = 0; i < rrs.size(); ++i) types += i == 0 || rrs[i].type != rrs[i - 1].type;
  node.rrsets = static_cast<uint32_t>(blob.size());
  node.rrset_count = static_cast<uint8_t>(types);
  blob.resize(blob.size() + types * sizeof(StoredRRset));  // within the room apply() checked
  for (size_t i = 0, h = 0; i < rrs.size(); ++h) {
    StoredRRset header;
    header.type = rrs[i].type;
    header.data = static_cast<uint32_t>(blob.size());
    header.links = static_cast<uint32_t>(links.size());
    for (; i < rrs.size() && rrs[i].type == header.type; ++i, ++header.count) {
      const Rr& rr = rrs[i];
      const size_t at = blob.size();
      blob.resize(at + 12 + rr.rdata.size());
      wire::storeRR(blob.data() + at, rr.type, rr.ttl,
                    reinterpret_cast<const uint8_t*>(rr.rdata.data()),
                    static_cast<uint16_t>(rr.rdata.size()));
      if (rr.target_at != RecordList::kNoTarget)
        pending_links_.push_back(
            {static_cast<uint32_t>(links.size()), rr.rdata.substr(rr.target_at), owner});
      links.push_back(kNoNode);
    }
    header.size = static_cast<uint32_t>(blob.size() - header.data);
    std::memcpy(blob.data() + node.rrsets + h * sizeof header, &header, sizeof header);
  }
  next.record_count_ += rrs.size();
}

// A node lives while it has records, is kept or a pod parent (as the builder makes every
// name of empty_names and pod_parents), has a live child or is its zone's apex (RFC 8020:
// empty non-terminals exist). A change of that is its parent's child count's, and so
// on up.
void ZoneEditor::settle(Snapshot& next, uint32_t slot) {
  for (uint32_t s = slot; s != kNoNode;) {
    const Node& seen = next.node(s);
    const bool live = !(seen.flags & kGone);
    const bool apex = seen.name_size <= next.zones_[seen.zone].apex.size();
    const bool wanted =
        seen.rrset_count > 0 || (seen.flags & (kKept | kPodParent)) || children_[s] > 0 || apex;
    if (live == wanted) return;
    const uint32_t parent = parentOf(next, s);
    Node& n = writable(next, s);
    if (wanted) {
      n.flags &= static_cast<uint8_t>(~kGone);
      ++next.node_count_;
      if (parent != kNoNode) ++children_[parent];
    } else {
      n.flags = static_cast<uint8_t>((n.flags & ~kPodParent) | kGone);
      --next.node_count_;
      if (parent != kNoNode) --children_[parent];
    }
    s = parent;
  }
}

base::Result<std::shared_ptr<const Snapshot>> ZoneEditor::apply(const Patch& patch) {
  if (!current_) return base::Error{"no snapshot to change", ""};
  if (!prepared_) prepare();
  const Snapshot& s = *current_;

  // Every name touched, and its records afterwards; nothing is changed before all are
  // checked, so that a refused patch leaves everything as it was.
  std::map<std::string, Change> changes;
  auto touch = [&](std::string_view name) -> Change& {
    Change& c = changes[std::string(name)];
    c.name = name;
    return c;
  };
  for (const RecordList* list : {&patch.removed, &patch.added})
    for (size_t i = 0; i < list->size(); ++i)
      touch(bytes((*list)[i].owner, (*list)[i].owner_size)).records = true;
  for (const auto& name : patch.kept_removed) touch(name.wire()).kept = -1;
  for (const auto& name : patch.kept_added) touch(name.wire()).kept = 1;
  for (const auto& name : patch.pod_parents_removed) touch(name.wire()).pod_parent = -1;
  for (const auto& name : patch.pod_parents_added) touch(name.wire()).pod_parent = 1;
  for (auto& [name, c] : changes)
    if (base::Status checked = change(c, patch); !checked) return checked.error();

  // Room: the names to make (and their missing ancestors), the regions, the regions of the
  // names that wait for a new name, the zones' negative SOAs.
  size_t blob_need = 4096, link_need = 64;
  std::set<std::string> made;
  for (const auto& [name, c] : changes) {
    blob_need += regionBytes(c.rrs);
    link_need += c.rrs.size();
    const auto* p = reinterpret_cast<const uint8_t*>(name.data());
    const size_t apex_size = s.zones_[c.zone].apex.size();
    for (size_t size = name.size(); findSlot(s, p, size) == kNoNode;) {
      if (!made.insert(std::string(bytes(p, size))).second) break;
      blob_need += size;
      if (size <= apex_size) break;
      size -= p[0] + 1u;
      p += p[0] + 1u;
    }
  }
  for (const std::string& name : made)
    if (auto waiting = waiting_.find(name); waiting != waiting_.end())
      for (const std::string& owner : waiting->second) {
        const uint32_t slot =
            findSlot(s, reinterpret_cast<const uint8_t*>(owner.data()), owner.size());
        if (slot == kNoNode) continue;
        const auto rrs = recordsOf(s.node(slot));
        blob_need += regionBytes(rrs);
        link_need += rrs.size();
      }
  if ((used_slots_ + made.size()) * 100 > s.slot_count_ * kMaxLoadPercent)
    return base::Error{"the name table is full", ""};
  if (blob_->size() + blob_need > blob_->capacity() ||
      links_->size() + link_need > links_->capacity())
    return base::Error{"the arena is full", ""};
  if (dead_bytes_ > std::max<size_t>(blob_->size() / 3, kDeadFloor))
    return base::Error{"a third of the arena is dead", ""};

  auto next = std::make_shared<Snapshot>(s);  // shares the pages, the blob and the links
  copied_.assign(s.page_table_.size(), false);
  copied_groups_.assign(s.page_groups_.size(), false);
  next->blob_store_ = blob_;
  next->links_store_ = links_;
  next->bind();
  pending_links_.clear();
  std::vector<uint32_t> settled, created;
  std::set<uint32_t> apexes_changed;
  for (auto& [name, c] : changes) {
    const auto* p = reinterpret_cast<const uint8_t*>(name.data());
    // Another name's ancestors may have given it a slot by now.
    if (c.slot == kNoNode) c.slot = findSlot(*next, p, name.size());
    if (c.slot == kNoNode) {
      // The name and its missing ancestors, up to one that has a slot.
      const size_t apex_size = next->zones_[c.zone].apex.size();
      for (size_t size = name.size(); findSlot(*next, p, size) == kNoNode;) {
        const uint32_t slot = createSlot(*next, p, size, c.zone);
        created.push_back(slot);
        if (c.slot == kNoNode) c.slot = slot;
        if (size <= apex_size) break;
        size -= p[0] + 1u;
        p += p[0] + 1u;
      }
    }
    Node& node = writable(*next, c.slot);
    if (c.records) {
      storeRegion(*next, c.slot, c.rrs);
      if (node.name_size == next->zones_[c.zone].apex.size())
        apexes_changed.insert(static_cast<uint32_t>(c.zone));
    }
    if (c.kept > 0) node.flags |= kKept;
    if (c.kept < 0) node.flags &= static_cast<uint8_t>(~kKept);
    if (c.pod_parent > 0) node.flags |= kPodParent;
    if (c.pod_parent < 0) node.flags &= static_cast<uint8_t>(~kPodParent);
    settled.push_back(c.slot);
  }
  // Links that waited for a name made now: their owners are stored again, and so linked.
  for (const uint32_t slot : created) {
    const Node& n = next->node(slot);
    auto waiting = waiting_.find(std::string(bytes(next->blob_ + n.name_offset, n.name_size)));
    if (waiting == waiting_.end()) continue;
    const std::vector<std::string> owners = std::move(waiting->second);
    waiting_.erase(waiting);
    for (const std::string& owner : owners) {
      if (changes.count(owner)) continue;  // stored already
      const uint32_t at =
          findSlot(*next, reinterpret_cast<const uint8_t*>(owner.data()), owner.size());
      if (at == kNoNode || (next->node(at).flags & kGone)) continue;
      storeRegion(*next, at, recordsOf(next->node(at)));
    }
  }
  for (const uint32_t slot : created) settled.push_back(slot);
  for (const uint32_t slot : settled) settle(*next, slot);
  // Links to a slot hold while its name is gone and come back with it; a name with no slot
  // waits for one.
  auto& links = *links_;
  for (const auto& [link, target, owner] : pending_links_) {
    const auto* t = reinterpret_cast<const uint8_t*>(target.data());
    links[link] = findSlot(*next, t, target.size());
    if (links[link] == kNoNode && next->zoneOfName(t, target.size()) >= 0)
      waiting_[target].push_back(owner);
  }
  pending_links_.clear();
  // RFC 2308 §5: the negative answers' SOA, TTL min(SOA TTL, SOA minimum), as the builder.
  for (const uint32_t z : apexes_changed) {
    ZoneInfo& zone = next->zones_[z];
    const uint32_t apex = findSlot(*next, zone.apex.data(), zone.apex.size());
    for (const Rr& rr : recordsOf(next->node(apex))) {
      if (rr.type != wire::type::SOA) continue;
      const uint32_t minimum =
          wire::load32(reinterpret_cast<const uint8_t*>(rr.rdata.data()) + rr.rdata.size() - 4);
      dead_bytes_ += zone.negative_soa.size;
      StoredRRset header;
      header.type = wire::type::SOA;
      header.count = 1;
      header.data = static_cast<uint32_t>(blob_->size());
      header.links = static_cast<uint32_t>(links.size());
      header.size = static_cast<uint32_t>(12 + rr.rdata.size());
      blob_->resize(blob_->size() + header.size);
      wire::storeRR(blob_->data() + header.data, rr.type,
                    std::max<uint32_t>(1, std::min({rr.ttl, minimum, 300u})),
                    reinterpret_cast<const uint8_t*>(rr.rdata.data()),
                    static_cast<uint16_t>(rr.rdata.size()));
      links.push_back(kNoNode);
      zone.negative_soa = header;
      break;
    }
  }
  next->serial_ = patch.serial;
  next->blob_size_ = blob_->size();
  next->links_size_ = links.size();
  next->bind();
  current_ = next;
  return std::shared_ptr<const Snapshot>(std::move(next));
}

}  // namespace dnsd::zone
