#include "dnsd/transfer/zone_walk.h"

#include <algorithm>
#include <cstring>

#include "dnsd/wire/dns.h"

namespace dnsd::transfer {
namespace {

// Offsets of the labels of a wire name, the leftmost first; returns how many.
size_t labelStarts(const uint8_t* name, size_t size, uint8_t (&starts)[wire::kMaxLabels]) {
  size_t n = 0;
  for (size_t at = 0; at < size && name[at] != 0 && n < wire::kMaxLabels; at += name[at] + 1u)
    starts[n++] = static_cast<uint8_t>(at);
  return n;
}

// The length of the rdata's names: SOA's two names and its five numbers.
size_t nameSize(const uint8_t* p, const uint8_t* end) {
  const uint8_t* start = p;
  while (p < end && *p != 0) p += *p + 1;
  return static_cast<size_t>(p - start) + 1;
}

}  // namespace

int compareCanonical(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size) noexcept {
  uint8_t as[wire::kMaxLabels], bs[wire::kMaxLabels];
  size_t an = labelStarts(a, a_size, as), bn = labelStarts(b, b_size, bs);
  while (an > 0 && bn > 0) {
    const uint8_t* la = a + as[--an];
    const uint8_t* lb = b + bs[--bn];
    size_t common = std::min(la[0], lb[0]);
    if (int c = std::memcmp(la + 1, lb + 1, common)) return c;
    if (la[0] != lb[0]) return la[0] < lb[0] ? -1 : 1;
  }
  return an == bn ? 0 : (an < bn ? -1 : 1);
}

int findZone(const zone::Snapshot& snapshot, const uint8_t* apex, size_t size) noexcept {
  for (size_t z = 0; z < snapshot.zoneCount(); ++z) {
    const wire::Name& name = snapshot.zone(static_cast<int>(z)).apex;
    if (name.size() == size && std::memcmp(name.data(), apex, size) == 0)
      return static_cast<int>(z);
  }
  return -1;
}

std::vector<uint32_t> zoneNodes(const zone::Snapshot& snapshot, int z) {
  std::vector<uint32_t> nodes;
  for (uint32_t i = 0; i < snapshot.slotCount(); ++i) {
    const zone::Node& n = snapshot.node(i);
    if (n.name_size != 0 && n.zone == z && n.rrset_count != 0) nodes.push_back(i);
  }
  std::sort(nodes.begin(), nodes.end(), [&](uint32_t x, uint32_t y) {
    const zone::Node& a = snapshot.node(x);
    const zone::Node& b = snapshot.node(y);
    return compareCanonical(snapshot.nameOf(a), a.name_size, snapshot.nameOf(b), b.name_size) < 0;
  });
  return nodes;
}

void nodeRecords(const zone::Snapshot& snapshot, uint32_t node, std::vector<Rr>& out) {
  const zone::Node& n = snapshot.node(node);
  const size_t first = out.size();
  const zone::StoredRRset* rrsets = snapshot.rrsetsOf(n);
  for (uint8_t k = 0; k < n.rrset_count; ++k) {
    zone::StoredRRset header;
    std::memcpy(&header, rrsets + k, sizeof header);  // packed: copied, not referenced
    const wire::RRsetView view = snapshot.view(header);
    const uint8_t* at = view.data;
    for (uint16_t i = 0; i < view.count; ++i) {
      const uint16_t size = wire::load16(at);
      out.push_back({snapshot.nameOf(n), n.name_size, at + 2, size});
      at += 2 + size;
    }
  }
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
            [](const Rr& a, const Rr& b) { return a.bytes() < b.bytes(); });
}

Rr apexSoa(const zone::Snapshot& snapshot, int z) {
  const wire::Name& apex = snapshot.zone(z).apex;
  const uint32_t node = snapshot.findIndex(apex.data(), apex.size(), apex.hash());
  std::vector<Rr> rrs;
  if (node != zone::kNoNode) nodeRecords(snapshot, node, rrs);
  for (const Rr& rr : rrs)
    if (rr.type() == wire::type::SOA) return rr;
  return {};
}

uint32_t soaSerial(const Rr& soa) noexcept {
  const uint8_t* rdata = soa.data + 10;
  const uint8_t* end = soa.data + soa.size;
  size_t at = nameSize(rdata, end);
  at += nameSize(rdata + at, end);
  return rdata + at + 4 <= end ? wire::load32(rdata + at) : 0;
}

}  // namespace dnsd::transfer
