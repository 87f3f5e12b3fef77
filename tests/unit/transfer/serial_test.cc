// RFC 1982 serial arithmetic: what a secondary concludes from two serials.
#include "dnsd/transfer/serial.h"

#include <doctest/doctest.h>

namespace dnsd::transfer {
namespace {

TEST_CASE("a serial is less than the serials up to half the circle ahead of it") {
  CHECK(serialLess(1, 2));
  CHECK_FALSE(serialLess(2, 1));
  CHECK_FALSE(serialLess(7, 7));
  CHECK(serialLess(1, 0x80000000u));  // 2^31 - 1 ahead
  CHECK_FALSE(serialLess(0x80000000u, 1));
}

TEST_CASE("across the wrap, a small serial is ahead of a large one (RFC 1982 §3.2)") {
  CHECK(serialLess(0xFFFFFFF0u, 5));
  CHECK_FALSE(serialLess(5, 0xFFFFFFF0u));
  CHECK(serialLess(serialAdd(0xFFFFFFFFu, 0), serialAdd(0xFFFFFFFFu, 1)));
  CHECK(serialAdd(0xFFFFFFFFu, 2) == 1);
}

TEST_CASE("serials exactly half the circle apart are not comparable") {
  CHECK_FALSE(serialLess(0, 0x80000000u));
  CHECK_FALSE(serialLess(0x80000000u, 0));
}

}  // namespace
}  // namespace dnsd::transfer
