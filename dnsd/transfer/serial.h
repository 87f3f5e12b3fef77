// SOA serial arithmetic (RFC 1982): serials live on a circle of 2^32, and s1 is less than s2
// when s2 is ahead of it by less than half the circle. A secondary compares serials this way
// to decide whether a primary has news, so a serial must only ever move forward.
#pragma once

#include <cstdint>

namespace dnsd::transfer {

// RFC 1982 §3.2: s1 < s2. Serials exactly half the circle apart are not comparable; both
// directions are false then.
constexpr bool serialLess(uint32_t s1, uint32_t s2) noexcept {
  return s1 != s2 && static_cast<uint32_t>(s2 - s1) < 0x80000000u;
}

// RFC 1982 §3.1: s + n for n below 2^31.
constexpr uint32_t serialAdd(uint32_t s, uint32_t n) noexcept { return s + n; }

struct NextSerial {
  uint32_t serial;
  bool held;  // the serial of the last publication, kept: publish again in the next second
};

// The serial of a publication at Unix time `now` (seconds) after one at `last` (0: none).
// Once the clock has passed the last serial, the clock's. Within the same second the serial
// stays as it is: the new data is served at once, and the serial moves on with a
// publication once the second is over. A serial is thus never ahead of the clock that chose
// it, and a server restarted in a later second, starting from the clock, is above every
// serial served before, without a file to remember it by. A clock behind the last serial
// (set back, or a serial continued from a secondary's) moves it on by one.
constexpr NextSerial nextSerial(uint32_t last, uint32_t now) noexcept {
  if (last == 0 || serialLess(last, now)) return {now, false};
  if (last == now) return {last, true};
  return {serialAdd(last, 1), false};
}

}  // namespace dnsd::transfer
