// zone::externalZones: the public zones of Services' external addresses, as CoreDNS's
// k8s_external serves them: only external addresses and load balancer hostnames, never a
// ClusterIP or an endpoint.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dnsd/zone/presentation.h"
#include "dnsd/zone/records.h"
#include "dnsd/zone/snapshot.h"
#include "tests/support/cluster_builder.h"

namespace dnsd::zone {
namespace {

using testing::ip;
using testing::service;

wire::Name name(const char* text) { return *wire::Name::parse(text); }

cluster::Cluster externalCluster() {
  cluster::Cluster c;
  c.namespaces = {"default", "kube-system", "quiet"};
  auto lb = service("default", "inference-api");
  lb.service.type = cluster::ServiceType::LoadBalancer;
  lb.service.cluster_ips = {ip("10.0.0.52")};
  lb.service.external_ips = {ip("34.120.83.23"), ip("2001:db8::23")};
  lb.service.ports = {{"http", "TCP", 80, 5000, ""}, {"", "UDP", 53, 0, ""}};
  lb.endpoints = {testing::endpoint("10.244.0.5", "")};
  c.services.push_back(lb);
  auto aws = service("default", "shop");
  aws.service.type = cluster::ServiceType::LoadBalancer;
  aws.service.cluster_ips = {ip("10.0.0.53")};
  aws.service.external_hostnames = {"a1.elb.example.net", "a2.elb.example.net"};
  aws.service.ports = {{"https", "TCP", 443, 8443, ""}};
  c.services.push_back(aws);
  auto both = service("default", "both");
  both.service.type = cluster::ServiceType::LoadBalancer;
  both.service.cluster_ips = {ip("10.0.0.54")};
  both.service.external_ips = {ip("198.51.100.4")};
  both.service.external_hostnames = {"both.elb.example.net"};
  c.services.push_back(both);
  auto headless = service("default", "peers");
  headless.service.headless = true;
  headless.service.external_ips = {ip("192.0.2.10")};
  headless.endpoints = {testing::endpoint("10.244.0.6", "peer-0")};
  c.services.push_back(headless);
  auto internal = service("default", "backend");
  internal.service.cluster_ips = {ip("10.0.0.10")};
  internal.service.ports = {{"http", "TCP", 80, 8080, ""}};
  c.services.push_back(internal);
  auto dns = service("kube-system", "kube-dns");
  dns.service.cluster_ips = {ip("10.96.0.10")};
  dns.service.external_ips = {ip("203.0.113.53")};
  c.services.push_back(dns);
  return c;
}

RecordOptions externalOptions() {
  RecordOptions options;
  options.serial = 42;
  options.external_zones = {name("example.com")};
  return options;
}

std::string text(const std::vector<ZoneContent>& zones) { return zonesText(zones); }

TEST_CASE("an external zone holds external addresses, load balancer hostnames and apex records") {
  const auto zones = externalZones(externalCluster(), externalOptions());
  REQUIRE(zones.size() == 1);
  CHECK(zones[0].apex == name("example.com"));
  // ClusterIPs (10.0.0.x), endpoints and the ClusterIP-only Service `backend` are absent.
  CHECK(text(zones) ==
        "; zone example.com.\n"
        "example.com. 5 IN NS ns1.example.com.\n"
        "example.com. 5 IN SOA ns1.example.com. hostmaster.example.com. 42 7200 1800 86400 5\n"
        "both.default.example.com. 5 IN A 198.51.100.4\n"
        "inference-api.default.example.com. 5 IN A 34.120.83.23\n"
        "inference-api.default.example.com. 5 IN AAAA 2001:db8::23\n"
        "inference-api.default.example.com. 5 IN SRV 0 50 53 inference-api.default.example.com.\n"
        "inference-api.default.example.com. 5 IN SRV 0 50 80 inference-api.default.example.com.\n"
        "_http._tcp.inference-api.default.example.com. 5 IN SRV 0 100 80 "
        "inference-api.default.example.com.\n"
        "peers.default.example.com. 5 IN A 192.0.2.10\n"
        "shop.default.example.com. 5 IN CNAME a1.elb.example.net.\n"
        "_https._tcp.shop.default.example.com. 5 IN SRV 0 100 443 a1.elb.example.net.\n"
        "kube-dns.kube-system.example.com. 5 IN A 203.0.113.53\n"
        "ns1.example.com. 5 IN A 203.0.113.53\n");
  // Every namespace exists, with external Services or without: NODATA, not NXDOMAIN.
  std::vector<std::string> empty;
  for (const auto& n : zones[0].empty_names) empty.push_back(n.text());
  CHECK(empty == std::vector<std::string>{"default.example.com.", "kube-system.example.com.",
                                          "quiet.example.com."});
}

TEST_CASE("the zone is served: a CNAME stands alone, and the snapshot builds") {
  auto snap = buildSnapshot(externalZones(externalCluster(), externalOptions()), 42);
  REQUIRE_MESSAGE(snap.ok(), (snap.ok() ? "" : snap.error().str()));
  const wire::Name shop = name("shop.default.example.com");
  const Node* node = (*snap)->find(shop.data(), shop.size(), shop.hash());
  REQUIRE(node != nullptr);
  CHECK(node->rrset_count == 1);
  const wire::Name quiet = name("quiet.example.com");
  CHECK((*snap)->find(quiet.data(), quiet.size(), quiet.hash()) != nullptr);
}

TEST_CASE("the NS and its address: --external-ns, --external-ns-ip, and no address at all") {
  cluster::Cluster cluster = externalCluster();
  RecordOptions options = externalOptions();
  options.external_ns_ips = {ip("192.0.2.53"), ip("2001:db8::53")};
  std::string zone = text(externalZones(cluster, options));
  CHECK(zone.find("ns1.example.com. 5 IN A 192.0.2.53\n") != std::string::npos);
  CHECK(zone.find("ns1.example.com. 5 IN AAAA 2001:db8::53\n") != std::string::npos);
  CHECK(zone.find("ns1.example.com. 5 IN A 203.0.113.53") == std::string::npos);

  // A nameserver in another domain has its addresses there: no glue here.
  options.external_ns = name("ns.provider.net");
  zone = text(externalZones(cluster, options));
  CHECK(zone.find("example.com. 5 IN NS ns.provider.net.\n") != std::string::npos);
  CHECK(zone.find("example.com. 5 IN SOA ns.provider.net. hostmaster.example.com.") !=
        std::string::npos);
  CHECK(zone.find("ns.provider.net. 5 IN A") == std::string::npos);
  CHECK(externalNsName(name("example.com"), options) == name("ns.provider.net"));

  // No flag and a kube-dns without an external address: an NS name without an address.
  options = externalOptions();
  for (auto& rs : cluster.services)
    if (rs.service.meta.name == "kube-dns") rs.service.external_ips.clear();
  CHECK(externalNsAddresses(cluster, options).empty());
  zone = text(externalZones(cluster, options));
  CHECK(zone.find("ns1.example.com. 5 IN A") == std::string::npos);
  CHECK(externalNsName(name("example.com"), options) == name("ns1.example.com"));
}

TEST_CASE("each external zone has the same names under its own apex; --ttl applies") {
  RecordOptions options = externalOptions();
  options.external_zones = {name("example.com"), name("lb.example.org")};
  options.ttl = 30;
  const auto zones = externalZones(externalCluster(), options);
  REQUIRE(zones.size() == 2);
  const std::string second = text({zones[1]});
  CHECK(second.find("lb.example.org. 30 IN SOA ns1.lb.example.org. hostmaster.lb.example.org. "
                    "42 7200 1800 86400 30\n") != std::string::npos);
  CHECK(second.find("inference-api.default.lb.example.org. 30 IN A 34.120.83.23\n") !=
        std::string::npos);
  CHECK(second.find("example.com") == std::string::npos);
  CHECK(zones[1].ttl == 30);
}

TEST_CASE("allZones serves the external zones after the cluster and reverse zones") {
  RecordOptions options = externalOptions();
  options.reverse_cidrs = {*base::Cidr::parse("10.0.0.0/16")};
  const auto zones = allZones(externalCluster(), options);
  REQUIRE(zones.size() >= 3);
  CHECK(zones.front().apex == name("cluster.local"));
  CHECK(zones.back().apex == name("example.com"));
  // No external address reaches the cluster zone or a reverse zone.
  const std::string rest = text({zones.begin(), zones.end() - 1});
  CHECK(rest.find("34.120.83.23") == std::string::npos);
  CHECK(rest.find("23.83.120.34") == std::string::npos);
  CHECK(rest.find("elb.example.net") == std::string::npos);
  // Without --external-zone there is none.
  CHECK(allZones(externalCluster(), RecordOptions{}).back().apex != name("example.com"));
  CHECK(externalZones(externalCluster(), RecordOptions{}).empty());
}

}  // namespace
}  // namespace dnsd::zone
