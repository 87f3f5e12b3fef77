// AddressAllocator: hash-chosen, probed, never the network or IPv4 broadcast address.
#include "dnsd/cluster/address_allocator.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace dnsd::cluster {
namespace {

base::Cidr cidr(const char* text) { return *base::Cidr::parse(text); }
base::IpAddress ip(const char* text) { return *base::IpAddress::parse(text); }

TEST_CASE("FNV-1a 64 matches the published test vectors") {
  CHECK(fnv1a64("") == 0xcbf29ce484222325ull);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ull);
}

TEST_CASE("an allocation is the key's hash offset into the CIDR") {
  base::Cidr range = cidr("10.96.0.0/12");
  AddressAllocator allocator(range);
  CHECK(*allocator.allocate("default/web") == *range.at(fnv1a64("default/web") % range.size()));
}

TEST_CASE("a taken address moves the allocation to the next free one") {
  base::Cidr range = cidr("10.96.0.0/12");
  base::IpAddress first = *range.at(fnv1a64("default/web") % range.size());
  AddressAllocator allocator(range);
  CHECK(allocator.reserve(first));
  CHECK_FALSE(allocator.reserve(first));
  base::IpAddress second = *allocator.allocate("default/web");
  CHECK(second != first);
  CHECK(range.contains(second));
}

TEST_CASE("an IPv4 CIDR hands out every address but network and broadcast, then is full") {
  AddressAllocator allocator(cidr("10.0.0.0/29"));
  std::set<base::IpAddress> got;
  for (int i = 0; i < 6; ++i) got.insert(*allocator.allocate("key" + std::to_string(i)));
  CHECK(got.size() == 6);
  CHECK(*got.begin() == ip("10.0.0.1"));
  CHECK(*got.rbegin() == ip("10.0.0.6"));
  CHECK_FALSE(allocator.allocate("one-too-many"));
  CHECK_FALSE(AddressAllocator(cidr("10.0.0.0/31")).allocate("x"));
  CHECK_FALSE(AddressAllocator(cidr("10.0.0.0/32")).allocate("x"));
}

TEST_CASE("an IPv6 CIDR keeps its last address usable") {
  AddressAllocator allocator(cidr("fd00::/126"));
  std::set<base::IpAddress> got;
  for (int i = 0; i < 3; ++i) got.insert(*allocator.allocate("key" + std::to_string(i)));
  CHECK(got == std::set<base::IpAddress>{ip("fd00::1"), ip("fd00::2"), ip("fd00::3")});
  CHECK_FALSE(allocator.allocate("full"));
}

TEST_CASE("a large IPv6 CIDR allocates inside the range") {
  base::Cidr range = cidr("fd00:10::/64");
  AddressAllocator allocator(range);
  base::IpAddress got = *allocator.allocate("default/web");
  CHECK(range.contains(got));
  CHECK(got == *range.at(fnv1a64("default/web") % range.size()));
}

}  // namespace
}  // namespace dnsd::cluster
