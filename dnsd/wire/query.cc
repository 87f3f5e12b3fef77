#include "dnsd/wire/query.h"

#include "dnsd/wire/name.h"

namespace dnsd::wire {
namespace {

constexpr uint16_t kTypeTsig = 250;

// Eight bytes lowercased (ASCII): a byte in 'A'..'Z' gets 0x20.
inline void lowerWord(uint8_t* to, const uint8_t* from) noexcept {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  uint64_t w;
  __builtin_memcpy(&w, from, 8);
  const uint64_t low7 = w & (0x7F * kOnes);
  const uint64_t from_a = low7 + (0x80 - 'A') * kOnes;     // high bit: byte >= 'A'
  const uint64_t past_z = low7 + (0x80 - 'Z' - 1) * kOnes;  // high bit: byte > 'Z'
  w |= ((from_a & ~past_z & ~w) & (0x80 * kOnes)) >> 2;   // ~w: not a byte >= 0x80
  __builtin_memcpy(to, &w, 8);
}

// `n` bytes lowercased, eight at a time; the last word overlaps the one before it rather
// than ending in a loop of single bytes (`to` and `from` do not overlap).
void lowerCopy(uint8_t* to, const uint8_t* from, size_t n) noexcept {
  if (n < 8) {
    for (size_t i = 0; i < n; ++i) to[i] = toLower(from[i]);
    return;
  }
  for (size_t i = 0; i + 8 < n; i += 8) lowerWord(to + i, from + i);
  lowerWord(to + n - 8, from + n - 8);
}

// The question name must be uncompressed: it is the first name in the message, so a
// pointer could only point into the header.
bool parseQname(const uint8_t* p, size_t size, size_t& pos, QueryView& q) noexcept {
  // The labels first, then the whole name lowercased in one pass: a length byte is at most
  // 63, never 'A'..'Z', so it goes through unchanged. Every byte read, the root's included,
  // lies before the packet's end and within 255 bytes of the name's start (RFC 1035 §2.3.4),
  // so one bound checks both; and a name of 255 bytes has at most 127 labels.
  static_assert(kMaxLabels >= (kMaxNameLength - 1) / 2);
  const size_t start = pos;
  const size_t limit = size < start + kMaxNameLength ? size : start + kMaxNameLength;
  int count = 0;
  q.label_count = 0;
  for (;;) {
    if (pos >= limit) return false;
    const uint8_t len = p[pos];
    if (len == 0) break;
    if (len > kMaxLabelLength) return false;  // compression or reserved label type
    q.label_offset[count++] = static_cast<uint8_t>(pos - start);
    pos += 1 + len;
  }
  const size_t out = pos - start;
  ++pos;
  lowerCopy(q.qname_lower, p + start, out);
  q.qname_lower[out] = 0;
  q.qname_size = static_cast<uint8_t>(out + 1);
  q.label_count = static_cast<uint8_t>(count);
  // Suffix hashes, right to left.
  uint64_t h = kRootHash;
  q.suffix_hash[count] = h;
  for (int i = count - 1; i >= 0; --i) {
    h = hashLabel(h, q.qname_lower + q.label_offset[i]);
    q.suffix_hash[i] = h;
  }
  return true;
}

// Skips a possibly compressed name in a record after the question, checking it as a reader
// that follows it would: every pointer goes to a prior occurrence after the header (RFC 1035
// §4.1.4), so there are no loops and no forward or out-of-packet pointers, and the name is
// at most 255 bytes. `pos` ends after the name's first pointer or its root label.
bool skipName(const uint8_t* p, size_t size, size_t& pos) noexcept {
  size_t at = pos, length = 0;
  bool jumped = false;
  for (;;) {
    if (at >= size) return false;
    uint8_t len = p[at];
    if ((len & 0xC0) == 0xC0) {
      if (at + 2 > size) return false;
      size_t target = (len & 0x3Fu) << 8 | p[at + 1];
      if (!jumped) pos = at + 2;
      jumped = true;
      if (target < kHeaderSize || target >= at) return false;
      at = target;
      continue;
    }
    if (len > kMaxLabelLength) return false;  // 0x40 and 0x80 label types
    length += 1 + len;
    if (length > kMaxNameLength) return false;
    if (len == 0) break;
    at += 1 + len;
  }
  if (!jumped) pos = at + 1;
  return true;
}

ParseStatus parseAdditional(const uint8_t* p, size_t size, size_t pos, uint16_t count,
                            QueryView& q) noexcept {
  for (uint16_t i = 0; i < count; ++i) {
    bool root_owner = pos < size && p[pos] == 0;
    if (!skipName(p, size, pos) || pos + 10 > size) return ParseStatus::FormErr;
    uint16_t type = load16(p + pos);
    uint16_t rdlen = load16(p + pos + 8);
    if (pos + 10 + rdlen > size) return ParseStatus::FormErr;
    // RFC 8945 §5.1: a TSIG anywhere but last is FORMERR (dnsd does not verify TSIG).
    if (type == kTypeTsig && i + 1 != count) return ParseStatus::FormErr;
    if (type == type::OPT) {
      // RFC 6891 §6.1.1: one OPT, owned by the root.
      if (q.has_edns || !root_owner) return ParseStatus::FormErr;
      q.has_edns = true;
      q.udp_size = load16(p + pos + 2);
      q.edns_version = p[pos + 5];
      q.do_bit = (p[pos + 6] & 0x80) != 0;
    }
    pos += 10 + rdlen;
  }
  if (pos != size) return ParseStatus::FormErr;  // trailing garbage
  return q.has_edns && q.edns_version != 0 ? ParseStatus::BadVers : ParseStatus::Ok;
}

}  // namespace

size_t QueryView::udpLimit() const noexcept {
  if (!has_edns) return kMinUdpSize;
  if (udp_size < kMinUdpSize) return kMinUdpSize;
  return udp_size > kEdnsUdpSize ? kEdnsUdpSize : udp_size;
}

ParseStatus parseQuery(const uint8_t* p, size_t size, QueryView& q) noexcept {
  q.packet = p;
  q.size = size;
  q.has_question = false;
  q.has_edns = false;
  q.do_bit = false;
  q.edns_version = 0;
  if (size < kHeaderSize) return ParseStatus::Drop;
  if (p[2] & 0x80) return ParseStatus::Drop;  // QR: a response; answering could loop
  q.id = load16(p);
  q.opcode = (p[2] >> 3) & 0x0F;
  q.rd = p[2] & 0x01;
  q.cd = p[3] & 0x10;
  uint16_t qdcount = load16(p + 4), ancount = load16(p + 6), nscount = load16(p + 8);
  uint16_t arcount = load16(p + 10);
  bool query = q.opcode == static_cast<uint8_t>(Opcode::Query);
  size_t pos = kHeaderSize;
  if (qdcount != 1 || !parseQname(p, size, pos, q) || pos + 4 > size) {
    return query ? ParseStatus::FormErr : ParseStatus::NotImp;
  }
  q.qtype = load16(p + pos);
  q.qclass = load16(p + pos + 2);
  pos += 4;
  q.question_end = pos;
  q.has_question = true;
  // An unknown opcode gets NOTIMP with its question echoed (RFC 1035 §4.1.1).
  if (!query) return ParseStatus::NotImp;
  if (ancount != 0) return ParseStatus::FormErr;
  // An IXFR carries the client's SOA in its authority section (RFC 1995 §3): skipped here,
  // read by the zone transfer code from the packet. Any other query has none.
  if (nscount != 0 && q.qtype != type::IXFR) return ParseStatus::FormErr;
  for (uint16_t i = 0; i < nscount; ++i) {
    if (!skipName(p, size, pos) || pos + 10 > size) return ParseStatus::FormErr;
    pos += 10u + load16(p + pos + 8);
    if (pos > size) return ParseStatus::FormErr;
  }
  return parseAdditional(p, size, pos, arcount, q);
}

}  // namespace dnsd::wire
