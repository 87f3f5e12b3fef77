// Writes a response into a caller-owned buffer: header, the question echoed as the client
// sent it, prerendered RRs whose owners are compression pointers, then OPT. Never allocates;
// every write checks the room first; an answer RRset that does not fit goes out in part, with TC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dnsd/wire/dns.h"
#include "dnsd/wire/query.h"

namespace dnsd::wire {

enum class Section : uint8_t { Answer, Authority, Additional };

// Where an RR's owner name is: a compression pointer when the name is already in the
// message below offset 0x4000, else the name itself written out.
struct Owner {
  uint16_t pointer = 0;           // 0: none
  const uint8_t* name = nullptr;  // lowercase wire form, used when pointer is 0
  uint8_t name_size = 0;
};

// A prerendered RRset: `count` RRs, each stored as [2-byte tail length][type class ttl
// rdlength rdata], with no owner (the writer adds it). `name_at` is the offset within the
// rdata of a domain name we may point to later (CNAME, NS, PTR: 0; SRV: 6; none: 0xFFFF).
struct RRsetView {
  uint16_t type = 0;
  uint16_t count = 0;
  const uint8_t* data = nullptr;
  uint32_t size = 0;
  uint16_t name_at = 0xFFFF;
};

// Writes one RR in RRsetView's stored form at `at` ([length][type, class IN, TTL, rdlength,
// rdata]) and returns the bytes written: 12 + rdata_size.
inline size_t storeRR(uint8_t* at, uint16_t type, uint32_t ttl, const uint8_t* rdata,
                      uint16_t rdata_size) noexcept {
  store16(at, static_cast<uint16_t>(10 + rdata_size));
  store16(at + 2, type);
  store16(at + 4, kClassIn);
  store32(at + 6, ttl);
  store16(at + 10, rdata_size);
  std::memcpy(at + 12, rdata, rdata_size);
  return 12u + rdata_size;
}

class ResponseWriter {
 public:
  static constexpr size_t kMaxTracked = 256;

  // `capacity` is what the client accepts (UDP limit or 65535 for TCP), at most the buffer.
  void begin(uint8_t* buffer, size_t capacity, const QueryView& q) noexcept;
  void setRcode(Rcode rcode) noexcept { rcode_ = rcode; }
  // Names inside rdata that end with `lower` (a zone apex, lowercase wire form) get those
  // bytes replaced by `original`, the same suffix as the client wrote it in the question:
  // generated targets keep the query's case (0x20; CoreDNS handler_case_test).
  void setCaseSuffix(const uint8_t* lower, const uint8_t* original, uint8_t size) noexcept {
    case_lower_ = lower;
    case_original_ = original;
    case_size_ = size;
  }
  void setAuthoritative() noexcept { buffer_[2] |= 0x04; }
  bool truncated() const noexcept { return (buffer_[2] & 0x02) != 0; }

  // Writes the RRset starting with RR `rotate % count`; false if it does not fit, and then
  // TC is set. In the answer section as many whole RRs as fit are written first (a partial
  // RRset); in the authority and additional sections nothing is, and only the authority
  // section's miss sets TC.
  bool put(Section section, const RRsetView& rrset, Owner owner, uint16_t rotate = 0) noexcept;
  // Offsets in the message of the names inside the RRs last written (see RRsetView::name_at),
  // in the order written; so later RRs can own them by pointer.
  const uint16_t* namesWritten() const noexcept { return names_; }
  uint16_t namesWrittenCount() const noexcept { return names_count_; }

  // Appends OPT when the query had EDNS, sets the counts and rcode; returns the size.
  size_t finish() noexcept;
  // A bare error response (FORMERR, NOTIMP, BADVERS, REFUSED): header and, when parsed, the
  // question; OPT when the query had one.
  size_t error(uint8_t* buffer, size_t capacity, const QueryView& q, Rcode rcode) noexcept;

 private:
  bool room(size_t n) const noexcept { return pos_ + n + reserve_ <= capacity_; }
  bool writeOwner(Owner owner) noexcept;
  void restoreCase(size_t name_at, size_t rdata_end) noexcept;

  uint8_t* buffer_ = nullptr;
  size_t capacity_ = 0;
  size_t pos_ = 0;
  size_t reserve_ = 0;  // room kept for OPT
  bool edns_ = false;
  bool do_bit_ = false;
  Rcode rcode_ = Rcode::NoError;
  uint16_t counts_[3] = {0, 0, 0};
  uint16_t names_[kMaxTracked];
  uint16_t names_count_ = 0;
  const uint8_t* case_lower_ = nullptr;
  const uint8_t* case_original_ = nullptr;
  uint8_t case_size_ = 0;
};

}  // namespace dnsd::wire
