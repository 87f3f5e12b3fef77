#include "dnsd/wire/splice.h"

#include <cstring>

#include "dnsd/wire/dns.h"

namespace dnsd::wire {
namespace {

// Copies the possibly compressed name at `pos` in `msg` to `out` uncompressed. Advances
// `pos` past the name as stored; false on a malformed name or no room.
bool copyName(const uint8_t* msg, size_t size, size_t& pos, uint8_t* out, size_t& at,
              size_t capacity) noexcept {
  size_t p = pos, total = 0;
  bool jumped = false;
  for (int hops = 0; hops < 64; ++hops) {
    if (p >= size) return false;
    uint8_t len = msg[p];
    if ((len & 0xC0) == 0xC0) {
      if (p + 1 >= size) return false;
      if (!jumped) pos = p + 2;
      jumped = true;
      p = static_cast<size_t>((len & 0x3F) << 8 | msg[p + 1]);
      continue;
    }
    if (len > kMaxLabelLength || p + 1 + len > size) return false;
    total += len + 1u;
    if (total > kMaxNameLength || at + len + 1 > capacity) return false;
    std::memcpy(out + at, msg + p, len + 1u);
    at += len + 1u;
    p += len + 1u;
    if (len == 0) {
      if (!jumped) pos = p;
      return true;
    }
  }
  return false;
}

// Offset in the rdata of a name to decompress, or -1 (the rest is copied as is).
int nameInRdata(uint16_t type) {
  switch (type) {
    case type::CNAME: case type::NS: case type::PTR: return 0;
    case type::MX: return 2;
    case type::SRV: return 6;
    default: return -1;
  }
}

// Copies one RR; false when malformed or out of room.
bool copyRecord(const uint8_t* msg, size_t size, size_t& pos, uint8_t* out, size_t& at,
                size_t capacity) noexcept {
  if (!copyName(msg, size, pos, out, at, capacity) || pos + 10 > size || at + 10 > capacity)
    return false;
  uint16_t type = load16(msg + pos), rdlen = load16(msg + pos + 8);
  size_t rdata = pos + 10, end = rdata + rdlen;
  if (end > size) return false;
  std::memcpy(out + at, msg + pos, 8);  // type, class, ttl
  size_t rdlen_at = at + 8, start = at + 10;
  at = start;
  int name_at = nameInRdata(type);
  size_t copied = rdata;
  if (name_at >= 0 && rdlen > name_at) {
    if (at + name_at > capacity) return false;
    std::memcpy(out + at, msg + rdata, name_at);
    at += name_at;
    copied = rdata + name_at;
    if (!copyName(msg, size, copied, out, at, capacity)) return false;
  }
  if (copied > end || at + (end - copied) > capacity) return false;
  std::memcpy(out + at, msg + copied, end - copied);
  at += end - copied;
  store16(out + rdlen_at, static_cast<uint16_t>(at - start));
  pos = end;
  return true;
}

bool skipQuestion(const uint8_t* msg, size_t size, size_t& pos) noexcept {
  while (pos < size && msg[pos] != 0) {
    if ((msg[pos] & 0xC0) == 0xC0) {
      pos += 1;
      break;
    }
    pos += msg[pos] + 1u;
  }
  pos += 1 + 4;
  return pos <= size;
}

}  // namespace

size_t writeQuery(uint8_t* out, uint16_t id, const uint8_t* name, size_t name_size,
                  uint16_t qtype, bool edns, bool do_bit) noexcept {
  store16(out, id);
  out[2] = 0x01;  // RD
  out[3] = 0;
  store16(out + 4, 1);
  store16(out + 6, 0);
  store16(out + 8, 0);
  store16(out + 10, edns ? 1 : 0);
  std::memcpy(out + kHeaderSize, name, name_size);
  size_t at = kHeaderSize + name_size;
  store16(out + at, qtype);
  store16(out + at + 2, kClassIn);
  at += 4;
  if (edns) {
    uint8_t opt[kOptSize] = {0, 0, 41, kEdnsUdpSize >> 8, kEdnsUdpSize & 0xFF, 0, 0,
                             static_cast<uint8_t>(do_bit ? 0x80 : 0), 0, 0, 0};
    std::memcpy(out + at, opt, kOptSize);
    at += kOptSize;
  }
  return at;
}

size_t spliceAnswers(uint8_t* out, size_t size, size_t capacity, const uint8_t* reply,
                     size_t reply_size) noexcept {
  if (reply_size < kHeaderSize || size < kHeaderSize || load16(reply + 4) != 1) return 0;
  // Our OPT, if any, is the last 11 bytes (a CNAME chain has no other additional data).
  bool opt = load16(out + 10) == 1 && size >= kOptSize && out[size - kOptSize] == 0 &&
             load16(out + size - kOptSize + 1) == type::OPT;
  uint8_t saved_opt[kOptSize];
  if (opt) std::memcpy(saved_opt, out + size - kOptSize, kOptSize);
  size_t at = opt ? size - kOptSize : size;
  size_t limit = capacity - (opt ? kOptSize : 0);
  size_t pos = kHeaderSize;
  if (!skipQuestion(reply, reply_size, pos)) return 0;
  uint16_t count = load16(reply + 6);
  for (uint16_t i = 0; i < count; ++i)
    if (!copyRecord(reply, reply_size, pos, out, at, limit)) return 0;
  store16(out + 6, static_cast<uint16_t>(load16(out + 6) + count));
  out[3] = static_cast<uint8_t>((out[3] & 0xF0) | (reply[3] & 0x0F));  // the last name's rcode
  out[3] |= reply[3] & 0x80;                                            // RA as the upstream
  out[2] |= reply[2] & 0x02;  // a truncated upstream answer truncates ours (coredns#4684)
  if (opt) {
    std::memcpy(out + at, saved_opt, kOptSize);
    at += kOptSize;
  }
  return at;
}

size_t spliceReply(const uint8_t* ours, size_t ours_size, const uint8_t* reply, size_t reply_size,
                   uint8_t* out, size_t capacity, bool udp) noexcept {
  std::memcpy(out, ours, ours_size);
  if (size_t n = spliceAnswers(out, ours_size, capacity, reply, reply_size)) return n;
  std::memcpy(out, ours, ours_size);  // a failed splice may have written past our part
  if (udp) setTruncated(out);
  return ours_size;
}

}  // namespace dnsd::wire
