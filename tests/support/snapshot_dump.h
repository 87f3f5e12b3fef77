// Everything a snapshot answers with, as text, for comparing two snapshots that must answer
// alike however they were made (a full build, or patches by zone::ZoneEditor): every node
// by name with its flags, RRsets (bytes as served, in order) and what each RR links to by
// the target's name, each zone's negative-answer SOA, and the counts.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "dnsd/wire/dns.h"
#include "dnsd/zone/snapshot.h"

namespace dnsd::testing {

inline std::string hexOf(const uint8_t* p, size_t n) {
  std::string out;
  char two[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(two, sizeof two, "%02x", p[i]);
    out += two;
  }
  return out;
}

inline std::string nodeName(const zone::Snapshot& snap, const zone::Node& node) {
  return wire::Name::fromWire(
             std::string(reinterpret_cast<const char*>(snap.nameOf(node)), node.name_size))
      .text();
}

inline std::string rrsetDump(const zone::Snapshot& snap, const zone::StoredRRset& rrset) {
  const wire::RRsetView view = snap.view(rrset);
  std::string out = " type " + std::to_string(rrset.type) + " x" + std::to_string(rrset.count);
  const uint8_t* p = view.data;
  for (uint16_t i = 0; i < rrset.count; ++i) {
    const uint16_t length = wire::load16(p);
    out += "\n    " + hexOf(p + 2, length);
    const uint32_t link = snap.link(rrset.links, i);
    out += link == zone::kNoNode ? " -> -" : " -> " + nodeName(snap, snap.node(link));
    p += 2u + length;
  }
  return out;
}

inline std::string snapshotDump(const zone::Snapshot& snap) {
  std::vector<std::string> nodes;
  for (uint32_t i = 0; i < snap.slotCount(); ++i) {
    const zone::Node& n = snap.node(i);
    if (n.name_size == 0 || (n.flags & zone::kGone)) continue;
    std::string line = nodeName(snap, n) + " zone " + std::to_string(n.zone) +
                       ((n.flags & zone::kPodParent) ? " pod-parent" : "");
    // The node the query path finds by this name is this one.
    if (snap.find(snap.nameOf(n), n.name_size, wire::hashWire(snap.nameOf(n))) != &n)
      line += " (not found by its name)";
    const zone::StoredRRset* rrsets = snap.rrsetsOf(n);
    for (uint16_t r = 0; r < n.rrset_count; ++r) line += "\n  " + rrsetDump(snap, rrsets[r]);
    nodes.push_back(std::move(line));
  }
  std::sort(nodes.begin(), nodes.end());
  std::string out = "serial " + std::to_string(snap.serial()) + ", " +
                    std::to_string(snap.nodeCount()) + " nodes, " +
                    std::to_string(snap.recordCount()) + " records\n";
  if (nodes.size() != snap.nodeCount())
    out += "(" + std::to_string(nodes.size()) + " nodes in the table)\n";
  for (size_t z = 0; z < snap.zoneCount(); ++z) {
    const zone::ZoneInfo& info = snap.zone(static_cast<int>(z));
    out += "zone " + std::to_string(z) + " " + info.apex.text() + " ttl " +
           std::to_string(info.ttl) + (info.unsynced ? " unsynced" : "") + " negative" +
           rrsetDump(snap, info.negative_soa) + "\n";
  }
  for (const std::string& line : nodes) out += line + "\n";
  return out;
}

}  // namespace dnsd::testing
