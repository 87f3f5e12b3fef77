// A zone of a snapshot as a transfer sends it: its names in canonical order (RFC 4034 §6.1)
// and, at each name, its records, read in place from the snapshot's prerendered RRs.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "dnsd/zone/snapshot.h"

namespace dnsd::transfer {

// One record: its owner (lowercase wire form) and what follows the owner on the wire (type,
// class, TTL, rdlength, rdata), both pointing into storage that outlives the walk.
struct Rr {
  const uint8_t* owner = nullptr;
  uint8_t owner_size = 0;
  const uint8_t* data = nullptr;
  uint16_t size = 0;  // 10 + rdlength

  uint16_t type() const noexcept { return static_cast<uint16_t>(data[0] << 8 | data[1]); }
  std::string_view bytes() const noexcept { return {reinterpret_cast<const char*>(data), size}; }
};

// RFC 4034 §6.1: labels compared from the right, each as lowercase bytes; <0, 0, >0.
int compareCanonical(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size) noexcept;

// The zone whose apex is the lowercase wire name `apex`, or -1.
int findZone(const zone::Snapshot& snapshot, const uint8_t* apex, size_t size) noexcept;

// The nodes of zone `z` that hold records, in canonical order of their names.
std::vector<uint32_t> zoneNodes(const zone::Snapshot& snapshot, int z);

// The records of one node, sorted by their bytes (type first), appended to `out`.
void nodeRecords(const zone::Snapshot& snapshot, uint32_t node, std::vector<Rr>& out);

// The SOA at the apex of zone `z` (every zone has one: the builder refuses a zone without).
Rr apexSoa(const zone::Snapshot& snapshot, int z);

// The serial in an SOA record's bytes.
uint32_t soaSerial(const Rr& soa) noexcept;

}  // namespace dnsd::transfer
