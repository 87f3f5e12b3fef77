// DNS protocol constants (RFC 1035, 6891, 2308) shared by the wire, zone and answer modules.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dnsd::wire {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameLength = 255;  // RFC 1035 §2.3.4, wire form
inline constexpr size_t kMaxLabelLength = 63;
inline constexpr size_t kMaxLabels = 128;
inline constexpr size_t kMinUdpSize = 512;     // RFC 1035 §4.2.1
inline constexpr uint16_t kEdnsUdpSize = 1232;  // DNS Flag Day 2020: advertised and max honoured
inline constexpr size_t kOptSize = 11;          // root owner, type, class, ttl, rdlen 0
inline constexpr size_t kMaxMessage = 65535;    // TCP

namespace type {
inline constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16,
                          AAAA = 28, SRV = 33, OPT = 41, AXFR = 252, IXFR = 251, ANY = 255;
}
inline constexpr uint16_t kClassIn = 1;
inline constexpr uint16_t kClassAny = 255;

enum class Rcode : uint8_t {
  NoError = 0,
  FormErr = 1,
  ServFail = 2,
  NxDomain = 3,
  NotImp = 4,
  Refused = 5,
  BadVers = 16,  // extended: upper 8 bits in OPT (RFC 6891 §6.1.3)
};

enum class Opcode : uint8_t { Query = 0 };

inline uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline void store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
// Header bits of a message (RFC 1035 §4.1.1), for whoever finishes a response.
inline void setRecursionAvailable(uint8_t* msg) { msg[3] |= 0x80; }
inline void setTruncated(uint8_t* msg) { msg[2] |= 0x02; }
inline uint8_t rcodeOf(const uint8_t* msg) { return msg[3] & 0x0F; }

inline void store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace dnsd::wire
