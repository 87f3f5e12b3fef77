// zone::reverseName and reverseZoneOf: the PTR owner names of RFC 1035 §3.5 and RFC 3596 §2.5;
// the label of a headless Service's endpoint.
#include "dnsd/zone/records.h"

#include <doctest/doctest.h>

#include <set>
#include <sstream>

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


// Incremental updates (server/incremental_zone.h) patch a changed Service's records alone:
// that is right only if every zone is its apexes' records, the namespaces' names and each
// Service's serviceRecords(), none made by two Services.
TEST_CASE("the zones are their apexes' records and each Service's own") {
  cluster::Cluster c;
  c.namespaces = {"default", "db"};
  auto web = testing::service("default", "web");
  web.service.cluster_ips = {testing::ip("10.96.0.10")};
  web.service.ports = {{"http", "TCP", 80}};
  web.service.external_ips = {testing::ip("34.1.2.3")};
  web.endpoints = {testing::endpoint("10.244.1.8", "", {{"http", "TCP", 8080}}),
                   testing::endpoint("10.244.1.9", "", {{"http", "TCP", 8080}})};
  auto db = testing::service("db", "cassandra");
  db.service.headless = true;
  db.service.external_hostnames = {"lb.example.net"};
  db.service.ports = {{"cql", "TCP", 9042}};
  // The same Pod behind two Services: one address, a PTR from each.
  db.endpoints = {testing::endpoint("10.244.1.8", "cassandra-0", {{"cql", "TCP", 9042}}),
                  testing::endpoint("fd00::5", "cassandra-1", {{"cql", "TCP", 9042}})};
  auto mysql = testing::service("db", "mysql");
  mysql.service.type = cluster::ServiceType::ExternalName;
  mysql.service.external_name = "mysql.prod.example.com";
  c.services = {db, mysql, web};
  RecordOptions options;
  options.reverse_cidrs = {*base::Cidr::parse("10.96.0.0/12"), *base::Cidr::parse("10.244.0.0/16"),
                           *base::Cidr::parse("fd00::/64")};
  options.external_zones = {*wire::Name::parse("example.org")};
  options.endpoint_pod_names = true;

  std::multiset<std::string> all, services;
  auto lines = [](const std::vector<ZoneContent>& zones, std::multiset<std::string>& into) {
    std::istringstream text(zonesText(zones));
    for (std::string line; std::getline(text, line);)
      if (!line.empty() && line[0] != ';') into.insert(line);
  };
  const std::vector<ZoneContent> zones = allZones(c, options);
  lines(zones, all);
  std::set<std::string> own = {"ns.dns.cluster.local.", "dns-version.cluster.local."};
  for (const auto& z : zones) own.insert(z.apex.text());
  for (const auto& rs : c.services) {
    ZoneContent one{options.domain, {}, {}, {}, options.ttl, {}};
    serviceRecords(rs, options, one.records);
    CHECK(one.records.size() > 0);
    lines({one}, services);
  }
  // Every Service record is in the zones, once.
  for (const std::string& line : services) {
    INFO(line);
    CHECK(all.count(line) == 1);
    CHECK(services.count(line) == 1);
  }
  // The rest are the apexes' own: SOA, NS, ns.dns's address and the schema version.
  for (const std::string& line : all) {
    if (services.count(line)) continue;
    INFO(line);
    CHECK(own.count(line.substr(0, line.find(' '))) == 1);
  }
  CHECK(services.size() > 20);
}

}  // namespace
}  // namespace dnsd::zone
