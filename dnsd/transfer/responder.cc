#include "dnsd/transfer/responder.h"

#include <cstring>

#include "dnsd/wire/dns.h"
#include "dnsd/wire/writer.h"

namespace dnsd::transfer {
namespace {

// Skips a possibly compressed name; false when it runs past `end`.
bool skipName(const uint8_t*& p, const uint8_t* end) noexcept {
  while (p < end) {
    if (*p == 0) return ++p, true;
    if ((*p & 0xC0) == 0xC0) return p + 2 <= end ? (p += 2, true) : false;
    if (*p & 0xC0) return false;
    p += *p + 1;
  }
  return false;
}

// Skips one RR; false when malformed.
bool skipRr(const uint8_t*& p, const uint8_t* end) noexcept {
  if (!skipName(p, end) || p + 10 > end) return false;
  size_t rdlength = wire::load16(p + 8);
  p += 10 + rdlength;
  return p <= end;
}

Summary error(const wire::QueryView& q, uint8_t rcode, const char* why, const Sink& sink) {
  uint8_t out[2 + 512];
  wire::ResponseWriter w;
  size_t n = w.error(out + 2, 512, q, static_cast<wire::Rcode>(rcode));
  Summary s;
  s.rcode = rcode;
  s.how = why;
  if (n == 0) return s;
  wire::store16(out, static_cast<uint16_t>(n));
  s.messages = 1;
  s.complete = sink(out, n + 2);
  return s;
}

// The whole zone: SOA, every other record, SOA (RFC 5936 §2.2; RFC 1995 §4 for IXFR). Each
// node's records go out as the snapshot stores them (by type, then rdata), read in place.
bool sendZone(const JournalState& state, int z, const Rr& soa, MessageStream& out) {
  if (!out.add(soa)) return false;
  const zone::Snapshot& snap = *state.snapshot;
  const std::vector<uint32_t>& nodes = state.nodes(z);
  // Canonical order is not the snapshot's memory order, so each node would be a cache miss:
  // its slot is fetched well ahead, its name and RRsets once the slot has arrived.
  constexpr size_t kSlotAhead = 16, kNodeAhead = 8;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (i + kSlotAhead < nodes.size()) snap.prefetchSlotAt(nodes[i + kSlotAhead]);
    if (i + kNodeAhead < nodes.size()) snap.prefetchNodeAt(nodes[i + kNodeAhead]);
    const zone::Node& n = snap.node(nodes[i]);
    const uint8_t* owner = snap.nameOf(n);
    // The apex SOA goes first and last only.
    const bool apex = owner == soa.owner && n.name_size == soa.owner_size;
    const zone::StoredRRset* rrsets = snap.rrsetsOf(n);
    for (uint8_t k = 0; k < n.rrset_count; ++k) {
      zone::StoredRRset header;
      std::memcpy(&header, rrsets + k, sizeof header);  // packed: copied, not referenced
      if (apex && header.type == wire::type::SOA) continue;
      const wire::RRsetView view = snap.view(header);
      const uint8_t* at = view.data;
      for (uint16_t r = 0; r < view.count; ++r) {
        const uint16_t size = wire::load16(at);
        if (!out.add(owner, n.name_size, at + 2, size)) return false;
        at += 2 + size;
      }
    }
  }
  return out.add(soa);
}

// RFC 1995 §4: the new SOA, then per change the old SOA, what it removed, the new SOA and
// what it added, then the new SOA again.
bool sendDiffs(const std::vector<std::shared_ptr<const Diff>>& diffs, const Rr& soa,
               MessageStream& out) {
  if (!out.add(soa)) return false;
  bool ok = true;
  auto add = [&](const Rr& rr) { ok = ok && out.add(rr); };
  auto addSoa = [&](const std::string& bytes) {
    ok = ok && out.add(soa.owner, soa.owner_size, reinterpret_cast<const uint8_t*>(bytes.data()),
                       bytes.size());
  };
  for (const auto& d : diffs) {
    addSoa(d->from_soa);
    forEachRr(d->removed, add);
    addSoa(d->to_soa);
    forEachRr(d->added, add);
    if (!ok) return false;
  }
  return out.add(soa);
}

}  // namespace

bool isTransferQuery(const uint8_t* query, size_t size) noexcept {
  if (size < wire::kHeaderSize + 5 || wire::load16(query + 4) != 1) return false;
  const uint8_t* p = query + wire::kHeaderSize;
  const uint8_t* end = query + size;
  while (p < end && *p != 0 && !(*p & 0xC0)) p += *p + 1;
  if (p + 3 > end || *p != 0) return false;
  uint16_t qtype = wire::load16(p + 1);
  return qtype == wire::type::AXFR || qtype == wire::type::IXFR;
}

bool ixfrClientSerial(const wire::QueryView& q, uint32_t& serial) noexcept {
  const uint8_t* p = q.packet + q.question_end;
  const uint8_t* end = q.packet + q.size;
  const uint16_t answers = wire::load16(q.packet + 6);
  const uint16_t authority = wire::load16(q.packet + 8);
  for (uint16_t i = 0; i < answers; ++i)
    if (!skipRr(p, end)) return false;
  if (authority == 0 || !skipName(p, end) || p + 10 > end) return false;
  if (wire::load16(p) != wire::type::SOA) return false;
  const uint8_t* rdata = p + 10;
  const uint8_t* rdata_end = rdata + wire::load16(p + 8);
  if (rdata_end > end) return false;
  if (!skipName(rdata, rdata_end) || !skipName(rdata, rdata_end) || rdata + 20 > rdata_end)
    return false;
  serial = wire::load32(rdata);
  return true;
}

bool replySerial(const uint8_t* reply, size_t size, uint16_t id, uint32_t& serial) noexcept {
  if (size < wire::kHeaderSize || wire::load16(reply) != id || !(reply[2] & 0x80) ||
      (reply[3] & 0x0F) != 0 || wire::load16(reply + 4) != 1 || wire::load16(reply + 6) == 0)
    return false;
  const uint8_t* p = reply + wire::kHeaderSize;
  const uint8_t* end = reply + size;
  if (!skipName(p, end) || p + 4 > end) return false;
  p += 4;
  if (!skipName(p, end) || p + 10 > end || wire::load16(p) != wire::type::SOA) return false;
  const uint8_t* rdata = p + 10;
  const uint8_t* rdata_end = rdata + wire::load16(p + 8);
  if (rdata_end > end || !skipName(rdata, rdata_end) || !skipName(rdata, rdata_end) ||
      rdata + 4 > rdata_end)
    return false;
  serial = wire::load32(rdata);
  return true;
}

Summary respond(const JournalState& state, const uint8_t* query, size_t size, const Sink& sink) {
  wire::QueryView q;
  switch (wire::parseQuery(query, size, q)) {
    case wire::ParseStatus::Ok:
      break;
    case wire::ParseStatus::Drop:
      return {};
    case wire::ParseStatus::FormErr:
      return error(q, 1, "malformed", sink);
    case wire::ParseStatus::NotImp:
      return error(q, 4, "not a query", sink);
    case wire::ParseStatus::BadVers:
      return error(q, 16, "bad EDNS version", sink);
  }
  const bool ixfr = q.qtype == wire::type::IXFR;
  const zone::Snapshot& snap = *state.snapshot;
  const int z = findZone(snap, q.qname_lower, q.qname_size);
  if (q.qclass != wire::kClassIn || z < 0) return error(q, kRcodeNotAuth, "not our zone", sink);
  if (snap.zone(z).unsynced) return error(q, 2, "zone not synced yet", sink);
  uint32_t client = 0;
  if (ixfr && !ixfrClientSerial(q, client))
    return error(q, 1, "IXFR without an SOA in the authority section", sink);

  const Rr soa = apexSoa(snap, z);
  Summary s;
  s.zone = snap.zone(z).apex.text();
  s.serial = soaSerial(soa);
  MessageStream out(q, sink);
  bool ok;
  if (!ixfr) {
    s.how = "AXFR";
    s.kind = Summary::Kind::Axfr;
    ok = sendZone(state, z, soa, out);
  } else if (client == s.serial || serialLess(s.serial, client)) {
    // RFC 1995 §2: a client as new as we are, or newer, gets our SOA alone.
    s.how = "IXFR up to date";
    s.kind = Summary::Kind::UpToDate;
    ok = out.add(soa);
  } else if (auto diffs = state.since(snap.zone(z).apex.wire(), client); !diffs.empty()) {
    s.how = "IXFR";
    s.kind = Summary::Kind::Ixfr;
    ok = sendDiffs(diffs, soa, out);
  } else {
    s.how = "IXFR as AXFR";
    s.kind = Summary::Kind::IxfrAsAxfr;
    ok = sendZone(state, z, soa, out);
  }
  s.complete = ok && out.finish();
  s.records = out.records();
  s.messages = out.messages();
  return s;
}

size_t errorResponse(const uint8_t* query, size_t size, uint8_t rcode, uint8_t* out) noexcept {
  wire::QueryView q;
  if (wire::parseQuery(query, size, q) == wire::ParseStatus::Drop) return 0;
  wire::ResponseWriter w;
  size_t n = w.error(out + 2, 512, q, static_cast<wire::Rcode>(rcode));
  if (n == 0) return 0;
  wire::store16(out, static_cast<uint16_t>(n));
  return n + 2;
}

}  // namespace dnsd::transfer
