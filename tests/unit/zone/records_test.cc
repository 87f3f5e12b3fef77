// zone::reverseName and reverseZoneOf: the PTR owner names of RFC 1035 §3.5 and RFC 3596 §2.5;
// the label of a headless Service's endpoint.
#include "dnsd/zone/records.h"

#include <doctest/doctest.h>

#include "dnsd/zone/presentation.h"
#include "tests/support/cluster_builder.h"

namespace dnsd::zone {
namespace {

std::string reverse(const char* ip) { return reverseName(*base::IpAddress::parse(ip)).text(); }

TEST_CASE("reverse names: one label per byte for IPv4, per nibble for IPv6") {
  CHECK(reverse("10.96.0.1") == "1.0.96.10.in-addr.arpa.");
  CHECK(reverse("192.168.255.100") == "100.255.168.192.in-addr.arpa.");
  CHECK(reverse("0.0.0.0") == "0.0.0.0.in-addr.arpa.");
  CHECK(reverse("2001:db8::567:89ab") ==
        "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
  // The same name as parsing its text gives, so lookups by either agree.
  const wire::Name parsed = *wire::Name::parse("7.6.244.10.in-addr.arpa");
  const wire::Name built = reverseName(*base::IpAddress::parse("10.244.6.7"));
  CHECK(built == parsed);
  CHECK(built.hash() == parsed.hash());
}

TEST_CASE("the reverse zone of a CIDR rounds its prefix down to a whole label") {
  CHECK(reverseZoneOf(*base::Cidr::parse("10.96.0.0/12")).text() == "10.in-addr.arpa.");
  CHECK(reverseZoneOf(*base::Cidr::parse("10.244.0.0/16")).text() == "244.10.in-addr.arpa.");
  CHECK(reverseZoneOf(*base::Cidr::parse("fd00:10:96::/112")).text() ==
        "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.");
}

TEST_CASE("endpoint-pod-names takes a Pod's name only when it is one DNS label") {
  cluster::Cluster c;
  c.namespaces = {"default"};
  auto headless = testing::service("default", "web");
  headless.service.headless = true;
  headless.endpoints = {testing::endpoint("10.244.1.8", ""), testing::endpoint("10.244.1.9", "")};
  headless.endpoints[0].pod_name = "web-0";
  // A Pod's name may be a DNS subdomain: as a label it would make a name two labels deeper.
  headless.endpoints[1].pod_name = "web.v2-0";
  c.services.push_back(headless);
  RecordOptions options;
  options.endpoint_pod_names = true;
  const std::string zone = zonesText({clusterZone(c, options)});
  CHECK(zone.find("web-0.web.default.svc.cluster.local. 5 IN A 10.244.1.8") != std::string::npos);
  CHECK(zone.find("10-244-1-9.web.default.svc.cluster.local. 5 IN A 10.244.1.9") !=
        std::string::npos);
  CHECK(zone.find("v2-0") == std::string::npos);
}

}  // namespace
}  // namespace dnsd::zone
