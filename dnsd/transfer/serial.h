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

}  // namespace dnsd::transfer
