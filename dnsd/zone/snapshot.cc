#include "dnsd/zone/snapshot.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string_view>
#include <thread>

#include "dnsd/wire/dns.h"

namespace dnsd::zone {

const Node* Snapshot::find(const uint8_t* name, size_t size, uint64_t hash) const noexcept {
  const size_t slots = slot_count_;
  if (slots == 0) return nullptr;
  const auto high = static_cast<uint32_t>(hash >> 32);
  for (size_t i = homeSlot(hash, slots);;) {
    const Node& n = node(static_cast<uint32_t>(i));
    if (n.name_size == 0) return nullptr;
    if (n.hash_high == high && n.name_size == size && std::memcmp(nameOf(n), name, size) == 0)
      return n.flags & kGone ? nullptr : &n;
    if (++i == slots) i = 0;
  }
}

uint32_t Snapshot::findIndex(const uint8_t* name, size_t size, uint64_t hash) const noexcept {
  const size_t slots = slot_count_;
  if (slots == 0) return kNoNode;
  const auto high = static_cast<uint32_t>(hash >> 32);
  for (size_t i = homeSlot(hash, slots);;) {
    const Node& n = node(static_cast<uint32_t>(i));
    if (n.name_size == 0) return kNoNode;
    if (n.hash_high == high && n.name_size == size && std::memcmp(nameOf(n), name, size) == 0)
      return n.flags & kGone ? kNoNode : static_cast<uint32_t>(i);
    if (++i == slots) i = 0;
  }
}

void Snapshot::prefetchSlot(uint64_t hash) const noexcept {
  if (slot_count_) __builtin_prefetch(&node(static_cast<uint32_t>(homeSlot(hash, slot_count_))));
}

bool Snapshot::prefetchNode(uint64_t hash) const noexcept {
  const size_t slots = slot_count_;
  if (slots == 0) return false;
  const auto high = static_cast<uint32_t>(hash >> 32);
  // A few probes only: a hint, and the slots past the home one share its cache line or
  // the next.
  for (size_t i = homeSlot(hash, slots), probes = 0; probes < 4; ++probes) {
    const Node& n = node(static_cast<uint32_t>(i));
    if (n.name_size == 0) return false;
    if (n.hash_high == high) {
      __builtin_prefetch(blob_ + n.name_offset);
      __builtin_prefetch(blob_ + n.rrsets);
      return true;
    }
    if (++i == slots) i = 0;
  }
  return true;
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
  auto it = std::lower_bound(
      pod_search_.begin(), pod_search_.end(), client,
      [](const auto& entry, const base::IpAddress& ip) { return entry.first < ip; });
  if (it == pod_search_.end() || !(it->first == client)) return nullptr;
  return &node(it->second);
}

const StoredRRset* Snapshot::rrset(const Node& node, uint16_t type) const noexcept {
  const StoredRRset* r = rrsetsOf(node);
  for (uint16_t i = 0; i < node.rrset_count; ++i)
    if (r[i].type == type) return &r[i];
  return nullptr;
}

std::shared_ptr<const Snapshot> Snapshot::withHosts(
    std::shared_ptr<const hosts::HostsTable> hosts) const {
  auto copy = std::make_shared<Snapshot>(*this);
  copy->hosts_ = std::move(hosts);
  return copy;
}

size_t Snapshot::bytes() const { return blob_size_ + slot_count_ * sizeof(Node) + links_size_ * 4; }

}  // namespace dnsd::zone
