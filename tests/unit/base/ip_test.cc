// IpAddress and Cidr: parsing, canonical text, dashed hostnames, CIDR arithmetic.
#include "dnsd/base/ip.h"

#include <doctest/doctest.h>

#include <string>

namespace dnsd::base {
namespace {

IpAddress ip(const char* text) {
  std::optional<IpAddress> parsed = IpAddress::parse(text);
  REQUIRE_MESSAGE(parsed, text);
  return *parsed;
}

Cidr cidr(const char* text) {
  std::optional<Cidr> parsed = Cidr::parse(text);
  REQUIRE_MESSAGE(parsed, text);
  return *parsed;
}

TEST_CASE("IPv4 addresses parse and print as dotted quads") {
  CHECK(ip("10.0.0.1").str() == "10.0.0.1");
  CHECK_FALSE(ip("10.0.0.1").v6);
  CHECK(ip("10.0.0.1").size() == 4);
  CHECK(ip("255.255.255.255").str() == "255.255.255.255");
  CHECK(IpAddress::v4(0x0a600001).str() == "10.96.0.1");
  CHECK(IpAddress::v4(0x0a600001) == ip("10.96.0.1"));
}

TEST_CASE("IPv6 addresses print in RFC 5952 canonical form") {
  const std::pair<const char*, const char*> cases[] = {
      {"fd00:0010:0000::0001", "fd00:10::1"},
      {"FD00:10::1", "fd00:10::1"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"0:0:0:0:0:0:0:0", "::"},
      {"fd00:0:0:0:0:0:0:0", "fd00::"},
      // RFC 5952 §4.2.2: a single zero field is not compressed.
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
      // §4.2.3: the longest run is compressed; on a tie, the first.
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
  };
  for (const auto& [input, canonical] : cases) {
    const char* text = input;  // CAPTURE takes a lambda capture: clang 14 cannot
    CAPTURE(text);             // capture a structured binding
    CHECK(ip(text).v6);
    CHECK(ip(text).size() == 16);
    CHECK(ip(text).str() == canonical);
    CHECK(ip(text) == ip(canonical));
  }
}

TEST_CASE("malformed addresses are rejected") {
  const char* bad[] = {"",
                       "10.0.0",
                       "10.0.0.256",
                       "10.0.0.1.2",
                       "01.2.3.4",
                       " 10.0.0.1",
                       "10.0.0.1 ",
                       "10.0.0.0/8",
                       "fd00::g",
                       "fe80::1%eth0",
                       "1:2:3:4:5:6:7:8:9",
                       "fd00:::1",
                       "localhost",
                       "0000:0000:0000:0000:0000:0000:0000:0000:0"};
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(IpAddress::parse(text));
  }
}

TEST_CASE("addresses order by family, then bytes") {
  CHECK(ip("10.0.0.2") < ip("10.0.0.10"));
  CHECK(ip("255.255.255.255") < ip("::"));
  CHECK(ip("fd00::1") < ip("fd00::1:0"));
}

TEST_CASE("dashed addresses follow CoreDNS endpointHostname") {
  CHECK(ip("10.244.1.7").dashed() == "10-244-1-7");
  CHECK(ip("fd00:10::1").dashed() == "fd00-10--1");
  // A trailing '-' gets a '0' so the label does not end in a hyphen.
  CHECK(ip("fd00:10::").dashed() == "fd00-10--0");
  CHECK(ip("2001:db8:0:0:1:0:0:1").dashed() == "2001-db8--1-0-0-1");
}

TEST_CASE("an IPv4 CIDR knows its size, members and offsets") {
  Cidr range = cidr("10.96.0.0/12");
  CHECK(range.str() == "10.96.0.0/12");
  CHECK(range.size() == (uint64_t{1} << 20));
  CHECK(range.contains(ip("10.96.0.0")));
  CHECK(range.contains(ip("10.111.255.255")));
  CHECK_FALSE(range.contains(ip("10.112.0.0")));
  CHECK_FALSE(range.contains(ip("10.95.255.255")));
  CHECK_FALSE(range.contains(ip("::a60:1")));
  CHECK(*range.at(0) == ip("10.96.0.0"));
  CHECK(*range.at(1) == ip("10.96.0.1"));
  CHECK(*range.at(0x10203) == ip("10.97.2.3"));
  CHECK(*range.at(range.size() - 1) == ip("10.111.255.255"));
  CHECK_FALSE(range.at(range.size()));
}

TEST_CASE("a CIDR's membership holds at whole-byte and odd prefixes, /0 and full length") {
  CHECK(cidr("0.0.0.0/0").contains(ip("255.1.2.3")));
  CHECK_FALSE(cidr("0.0.0.0/0").contains(ip("::1")));
  CHECK(cidr("10.0.0.0/8").contains(ip("10.255.0.1")));
  CHECK_FALSE(cidr("10.0.0.0/8").contains(ip("11.0.0.1")));
  CHECK(cidr("192.168.1.6/31").contains(ip("192.168.1.7")));
  CHECK_FALSE(cidr("192.168.1.6/31").contains(ip("192.168.1.8")));
  CHECK_FALSE(cidr("192.168.1.6/31").contains(ip("192.168.1.5")));
  CHECK(cidr("192.168.1.7/32").contains(ip("192.168.1.7")));
  CHECK_FALSE(cidr("192.168.1.7/32").contains(ip("192.168.1.6")));
  CHECK(cidr("fd00:10:96::/64").contains(ip("fd00:10:96::ffff:1")));
  CHECK_FALSE(cidr("fd00:10:96::/64").contains(ip("fd00:10:97::1")));
  CHECK(cidr("fd00::/127").contains(ip("fd00::1")));
  CHECK_FALSE(cidr("fd00::/127").contains(ip("fd00::2")));
  CHECK_FALSE(cidr("fd00::/127").contains(ip("10.0.0.0")));
}

TEST_CASE("small and whole IPv4 CIDRs") {
  CHECK(cidr("10.0.0.4/30").size() == 4);
  CHECK(*cidr("10.0.0.4/30").at(3) == ip("10.0.0.7"));
  CHECK(cidr("10.0.0.1/32").size() == 1);
  CHECK(cidr("10.0.0.1/32").contains(ip("10.0.0.1")));
  CHECK(cidr("0.0.0.0/0").size() == (uint64_t{1} << 32));
  CHECK(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
}

TEST_CASE("an IPv6 CIDR saturates its size at 2^63") {
  Cidr range = cidr("fd00:10::/64");
  CHECK(range.str() == "fd00:10::/64");
  CHECK(range.size() == (uint64_t{1} << 63));
  CHECK(range.contains(ip("fd00:10::ffff:ffff:ffff:ffff")));
  CHECK_FALSE(range.contains(ip("fd00:11::")));
  CHECK_FALSE(range.contains(ip("10.0.0.1")));
  CHECK(*range.at(1) == ip("fd00:10::1"));
  CHECK(*range.at(0x10000) == ip("fd00:10::1:0"));
  CHECK(cidr("fd00::/120").size() == 256);
  CHECK(*cidr("fd00::/120").at(255) == ip("fd00::ff"));
  CHECK_FALSE(cidr("fd00::/120").at(256));
  CHECK(cidr("::/0").size() == (uint64_t{1} << 63));
}

TEST_CASE("malformed CIDRs are rejected") {
  const char* bad[] = {"10.96.0.1/12", "10.0.0.0/33", "10.0.0.0",      "10.0.0.0/",
                       "10.0.0.0/x",   "10.0.0.0/-1", "10.0.0.0/1000", "/8",
                       "fd00::/129",   "fd00::1/64",  "fd00::/64/1",   ""};
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(Cidr::parse(text));
  }
}

}  // namespace
}  // namespace dnsd::base
