// The test zone, built once per process: the responder fuzz target answers from it, the
// allocation and dispatch unit tests too. A hand-made cluster with every kind of Service name (ClusterIP, dual-stack, headless with enough endpoints to truncate,
// ExternalName in and out of the zone, a CNAME loop), `pods insecure`, the reverse zones,
// and a static zone file beside them. Built once per process.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "dnsd/zone/records.h"
#include "dnsd/zone/snapshot.h"
#include "dnsd/zone/static_zone.h"
#include "dnsd/zonefile/load.h"
#include "tests/support/cluster_builder.h"

namespace dnsd::testing {


// An endpoint with the two named ports every endpoint of this cluster has.
inline cluster::ResolvedEndpoint twoPortEndpoint(const std::string& addr, std::string hostname) {
  return endpoint(addr, std::move(hostname), {{"cql", "TCP", 9042}, {"gossip", "UDP", 7000}});
}

inline cluster::Cluster testCluster() {
  cluster::Cluster c;
  c.namespaces = {"default", "other", "kube-system", "empty-ns"};

  auto web = service("default", "web");
  web.service.cluster_ips = {ip("10.96.0.20")};
  web.service.ports = {{"http", "TCP", 80, 8080, ""}, {"", "UDP", 53, 0, ""}};
  web.endpoints = {twoPortEndpoint("10.244.1.10", "")};
  web.endpoints[0].pod_name = "web-7d4b9";
  c.services.push_back(web);

  auto dual = service("default", "dual");  // dual-stack
  dual.service.cluster_ips = {ip("10.96.0.30"), ip("fd00:10:96::30")};
  dual.service.ports = {{"https", "TCP", 443, 443, ""}};
  c.services.push_back(dual);

  // 200 endpoints, half of them IPv6, each with hostnames and two named ports: the A, AAAA
  // and SRV answers exceed 512, 1232 and (SRV + additional) approach 64 KiB.
  auto many = service("default", "many");
  many.service.headless = true;
  many.service.ports = {{"cql", "TCP", 9042, 9042, ""}, {"gossip", "UDP", 7000, 7000, ""}};
  for (int i = 0; i < 200; ++i) {
    std::string addr = i % 2 ? "fd00:10:244::" + std::to_string(i)
                             : "10.244.2." + std::to_string(i / 2 + 1);
    many.endpoints.push_back(twoPortEndpoint(addr, i % 3 ? "node-" + std::to_string(i) : ""));
  }
  c.services.push_back(many);

  auto empty = service("other", "empty-headless");
  empty.service.headless = true;
  c.services.push_back(empty);

  auto out = service("default", "orders-db");  // ExternalName out of the zone
  out.service.type = cluster::ServiceType::ExternalName;
  out.service.external_name = "orders-db.production.company.net";
  c.services.push_back(out);

  auto in = service("default", "alias");  // ExternalName in the zone
  in.service.type = cluster::ServiceType::ExternalName;
  in.service.external_name = "web.default.svc.cluster.local";
  c.services.push_back(in);

  auto chain = service("other", "chain");  // alias → alias → web
  chain.service.type = cluster::ServiceType::ExternalName;
  chain.service.external_name = "alias.default.svc.cluster.local";
  c.services.push_back(chain);

  auto dangling = service("default", "dangling");
  dangling.service.type = cluster::ServiceType::ExternalName;
  dangling.service.external_name = "gone.default.svc.cluster.local";
  c.services.push_back(dangling);

  auto loop_a = service("other", "loop-a");  // a CNAME loop: the chase must stop
  loop_a.service.type = cluster::ServiceType::ExternalName;
  loop_a.service.external_name = "loop-b.other.svc.cluster.local";
  c.services.push_back(loop_a);
  auto loop_b = service("other", "loop-b");
  loop_b.service.type = cluster::ServiceType::ExternalName;
  loop_b.service.external_name = "loop-a.other.svc.cluster.local";
  c.services.push_back(loop_b);

  auto to_static = service("default", "intranet");  // into the static zone
  to_static.service.type = cluster::ServiceType::ExternalName;
  to_static.service.external_name = "intranet.corp.internal";
  c.services.push_back(to_static);

  auto dns = service("kube-system", "kube-dns");
  dns.service.cluster_ips = {ip("10.96.0.10")};
  dns.service.ports = {{"dns", "UDP", 53, 53, ""}, {"dns-tcp", "TCP", 53, 53, ""}};
  c.services.push_back(dns);

  cluster::Pod pod;
  pod.meta.name = "web-7d4b9";
  pod.ips = {ip("10.244.1.10")};
  c.pods.push_back(pod);
  return c;
}

inline const char* kStaticZone = R"(
$ORIGIN corp.internal.
$TTL 3600
@           IN  SOA   ns1.corp.internal. hostmaster.corp.internal. 2024060101 7200 900 1209600 300
            IN  NS    ns1
            IN  NS    ns2
            IN  MX    10 mail
            IN  TXT   "v=spf1 mx -all"
ns1         IN  A     10.10.0.53
ns2         IN  A     10.10.1.53
mail        IN  A     10.10.3.25
www     300 IN  A     10.10.2.10
        300 IN  A     10.10.2.11
        300 IN  AAAA  fd00:10:10::10
intranet    IN  CNAME www
back        IN  CNAME web.default.svc.cluster.local.
outside     IN  CNAME example.com.
_ldap._tcp  IN  SRV   0 100 389 ldap
ldap        IN  A     10.10.4.1
*.wild      IN  A     10.10.5.1
)";

inline std::shared_ptr<const zone::Snapshot> buildTestSnapshot() {
  zone::RecordOptions options;
  options.serial = 42;
  options.pods = zone::PodNames::Insecure;
  options.reverse_cidrs = {*base::Cidr::parse("10.96.0.0/12"), *base::Cidr::parse("10.244.0.0/16"),
                           *base::Cidr::parse("fd00:10::/32")};
  auto zones = zone::allZones(testCluster(), options);
  auto file = zonefile::parse(kStaticZone, "corp.internal.zone");
  if (!file) {
    std::fprintf(stderr, "test zone file: %s\n", file.error().message.c_str());
    std::abort();
  }
  zones.push_back(zone::fromZoneFile(*file));
  auto snap = zone::buildSnapshot(std::move(zones), 42);
  if (!snap) {
    std::fprintf(stderr, "test snapshot: %s\n", snap.error().message.c_str());
    std::abort();
  }
  return *snap;
}

}  // namespace dnsd::testing
