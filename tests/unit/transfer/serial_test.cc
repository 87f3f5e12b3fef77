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

TEST_CASE("a publication takes the clock's serial once the clock has passed the last one") {
  CHECK(nextSerial(0, 1000).serial == 1000);
  CHECK_FALSE(nextSerial(0, 1000).held);
  CHECK(nextSerial(990, 1000).serial == 1000);
  CHECK_FALSE(nextSerial(990, 1000).held);
  CHECK(nextSerial(0xFFFFFFF0u, 3).serial == 3);  // the clock past the wrap
}

TEST_CASE("within the same second the serial is held, never run ahead of the clock") {
  NextSerial next = nextSerial(1000, 1000);
  CHECK(next.serial == 1000);
  CHECK(next.held);
  // Any number of publications in that second keep it; the next second moves it on.
  for (int i = 0; i < 50; ++i) next = nextSerial(next.serial, 1000);
  CHECK(next.serial == 1000);
  next = nextSerial(next.serial, 1001);
  CHECK(next.serial == 1001);
  CHECK_FALSE(next.held);
}

TEST_CASE("a clock behind the last serial moves the serial on by one") {
  CHECK(nextSerial(2000, 1000).serial == 2001);  // continued from a secondary's serial
  CHECK_FALSE(nextSerial(2000, 1000).held);
  CHECK(nextSerial(0xFFFFFFFFu, 0xFFFFFF00u).serial == 0);  // across the wrap
  // Half the circle away the two are not comparable: moving on by one is still forward.
  CHECK(serialLess(0x80000000u, nextSerial(0x80000000u, 0).serial));
}

}  // namespace
}  // namespace dnsd::transfer
