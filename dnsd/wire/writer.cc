#include "dnsd/wire/writer.h"

#include <cstring>

namespace dnsd::wire {

void ResponseWriter::begin(uint8_t* buffer, size_t capacity, const QueryView& q) noexcept {
  buffer_ = buffer;
  capacity_ = capacity;
  edns_ = q.has_edns;
  do_bit_ = q.do_bit;
  reserve_ = edns_ ? kOptSize : 0;
  rcode_ = Rcode::NoError;
  case_size_ = 0;
  counts_[0] = counts_[1] = counts_[2] = 0;
  names_count_ = 0;
  // Header: the client's ID, QR, its opcode and RD; RA clear (no recursion here yet).
  store16(buffer_, q.id);
  buffer_[2] = static_cast<uint8_t>(0x80 | (q.opcode << 3) | (q.rd ? 1 : 0));
  buffer_[3] = q.cd ? 0x10 : 0;
  std::memset(buffer_ + 4, 0, 8);
  pos_ = kHeaderSize;
  if (q.has_question && q.question_end <= capacity_) {
    // The question exactly as sent: 0x20 case randomisation must survive.
    std::memcpy(buffer_ + kHeaderSize, q.packet + kHeaderSize, q.question_end - kHeaderSize);
    pos_ = q.question_end;
    store16(buffer_ + 4, 1);
  }
}

bool ResponseWriter::writeOwner(Owner owner) noexcept {
  if (owner.pointer && owner.pointer < 0x4000) {
    store16(buffer_ + pos_, 0xC000 | owner.pointer);
    pos_ += 2;
    return true;
  }
  std::memcpy(buffer_ + pos_, owner.name, owner.name_size);
  pos_ += owner.name_size;
  return true;
}

bool ResponseWriter::put(Section section, const RRsetView& rrset, Owner owner,
                         uint16_t rotate) noexcept {
  size_t owner_size = (owner.pointer && owner.pointer < 0x4000) ? 2 : owner.name_size;
  // Stored bytes = RR tails with 2-byte length prefixes; each RR adds an owner instead.
  size_t need = rrset.size - 2u * rrset.count + owner_size * rrset.count;
  int s = static_cast<int>(section);
  bool fits = room(need) && counts_[s] + rrset.count <= 0xFFFF;
  if (!fits && section != Section::Answer) {
    if (section == Section::Authority) buffer_[2] |= 0x02;  // TC (RFC 2181 §9)
    return false;
  }
  // Find RR number `rotate` and write from there, wrapping around.
  uint16_t first = rrset.count ? rotate % rrset.count : 0;
  const uint8_t* start = rrset.data;
  for (uint16_t i = 0; i < first; ++i) start += 2 + load16(start);
  const uint8_t* end = rrset.data + rrset.size;
  const uint8_t* rr = start;
  names_count_ = 0;
  for (uint16_t i = 0; i < rrset.count; ++i) {
    if (rr == end) rr = rrset.data;
    uint16_t tail = load16(rr);
    if (!fits && (!room(owner_size + tail) || counts_[s] == 0xFFFF)) {
      // An answer RRset that does not fit goes out in part: as many whole RRs as fit, from
      // the rotation's start, with TC. RFC 2181 §9 asks for TC when required data is left
      // out, and a resolver that honours it retries over TCP and gets every RR; one that
      // never does (musl before 1.2.4) still gets usable addresses, and the rotation spreads
      // those clients over the set. CoreDNS does the same through miekg/dns Msg.Truncate.
      buffer_[2] |= 0x02;
      return false;
    }
    writeOwner(owner);
    size_t name_at = pos_ + 10 + rrset.name_at;
    if (rrset.name_at != 0xFFFF && names_count_ < kMaxTracked)
      names_[names_count_++] = static_cast<uint16_t>(name_at);
    std::memcpy(buffer_ + pos_, rr + 2, tail);
    pos_ += tail;
    rr += 2 + tail;
    if (rrset.name_at != 0xFFFF && case_size_) restoreCase(name_at, pos_);
    ++counts_[s];
  }
  return true;
}

void ResponseWriter::restoreCase(size_t name_at, size_t rdata_end) noexcept {
  // Find the end of the (uncompressed) name, then compare its last case_size_ bytes.
  size_t end = name_at;
  while (end < rdata_end && buffer_[end] != 0) end += buffer_[end] + 1u;
  if (end >= rdata_end) return;
  ++end;
  if (end - name_at < case_size_) return;
  uint8_t* suffix = buffer_ + end - case_size_;
  if (std::memcmp(suffix, case_lower_, case_size_) == 0)
    std::memcpy(suffix, case_original_, case_size_);
}

size_t ResponseWriter::finish() noexcept {
  store16(buffer_ + 6, counts_[0]);
  store16(buffer_ + 8, counts_[1]);
  uint16_t arcount = counts_[2];
  uint8_t rcode = static_cast<uint8_t>(rcode_);
  buffer_[3] = static_cast<uint8_t>((buffer_[3] & 0xF0) | (rcode & 0x0F));
  if (edns_ && pos_ + kOptSize <= capacity_) {
    uint8_t* o = buffer_ + pos_;
    o[0] = 0;  // root owner
    store16(o + 1, type::OPT);
    store16(o + 3, kEdnsUdpSize);
    o[5] = static_cast<uint8_t>(rcode >> 4);  // extended rcode, upper bits
    o[6] = 0;                                 // version 0
    o[7] = do_bit_ ? 0x80 : 0;                // DO copied (RFC 3225 §3); no DNSSEC data
    o[8] = 0;
    store16(o + 9, 0);
    pos_ += kOptSize;
    ++arcount;
  }
  store16(buffer_ + 10, arcount);
  return pos_;
}

size_t ResponseWriter::error(uint8_t* buffer, size_t capacity, const QueryView& q,
                             Rcode rcode) noexcept {
  begin(buffer, capacity, q);
  // BADVERS answers with version 0 (RFC 6891 §6.1.3); FORMERR for a broken OPT still
  // carries one only when we understood it.
  setRcode(rcode);
  return finish();
}

}  // namespace dnsd::wire
