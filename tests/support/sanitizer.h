// Randomized tests run many rounds. Under a sanitizer (scripts/sanitize.sh runs the unit
// tests so) each round costs several to many times as much: such a test runs fewer, so that
// it stays within the tests' timeout.
#pragma once

#include <cstdint>

namespace dnsd::testing {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// `normal` rounds, or `sanitized` under a sanitizer.
template <class T>
constexpr T rounds(T normal, T sanitized) {
  return kSanitized ? sanitized : normal;
}

}  // namespace dnsd::testing
