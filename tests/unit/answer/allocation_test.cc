// The hot path allocates nothing: a counting operator new around parse + answer for every
// main answer kind (docs/architecture.md, "The hot path").
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "dnsd/answer/answer.h"
#include "dnsd/zone/records.h"
#include "tests/support/dns_test_util.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// Counted in this test executable only (unit_answer). g++ 12 warns that free() meets a
// pointer from operator new: here operator new is malloc, so the pair matches.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace dnsd;

std::shared_ptr<const zone::Snapshot> allocationZone() {
  cluster::Cluster c;
  c.namespaces = {"default"};
  cluster::ResolvedService web;
  web.service.meta.name = "web";
  web.service.cluster_ips = {*base::IpAddress::parse("10.96.0.20")};
  web.service.ports = {{"http", "TCP", 80, 8080, ""}};
  c.services.push_back(web);
  cluster::ResolvedService db;
  db.service.meta.name = "db";
  db.service.headless = true;
  for (int i = 1; i <= 5; ++i) {
    cluster::ResolvedEndpoint e;
    e.ip = *base::IpAddress::parse("10.244.0." + std::to_string(i));
    e.hostname = "db-" + std::to_string(i);
    e.ports = {{"cql", "TCP", 9042}};
    db.endpoints.push_back(e);
  }
  c.services.push_back(db);
  cluster::ResolvedService ext;
  ext.service.meta.name = "ext";
  ext.service.type = cluster::ServiceType::ExternalName;
  ext.service.external_name = "web.default.svc.cluster.local";
  c.services.push_back(ext);
  zone::RecordOptions options;
  options.reverse_cidrs = {*base::Cidr::parse("10.96.0.0/12")};
  return *zone::buildSnapshot(zone::allZones(c, options), 1);
}

}  // namespace

TEST_CASE("answering allocates nothing on the heap, for every main answer kind") {
  auto snap = allocationZone();
  const std::vector<std::pair<const char*, const char*>> queries = {
      {"web.default.svc.cluster.local.", "A"},        // ClusterIP hit
      {"db.default.svc.cluster.local.", "A"},         // headless, rotated
      {"db-3.db.default.svc.cluster.local.", "A"},    // per-endpoint name
      {"_cql._tcp.db.default.svc.cluster.local.", "SRV"},  // SRV with additionals
      {"web.default.svc.cluster.local.", "AAAA"},     // NODATA
      {"nope.default.svc.cluster.local.", "A"},       // NXDOMAIN (search path)
      {"ext.default.svc.cluster.local.", "A"},        // CNAME chased
      {"20.0.96.10.in-addr.arpa.", "PTR"},            // reverse
      {"10-244-0-9.default.pod.cluster.local.", "A"},  // pod name made at query time
      {"example.org.", "A"},                          // not ours: forward
  };
  std::vector<std::vector<uint8_t>> packets;
  for (const auto& [name, type] : queries)
    packets.push_back(testing::makeQuery(name, type, {.edns = true}));
  std::vector<uint8_t> buf(65535);
  wire::QueryView q;
  long before = g_allocations.load();
  for (int round = 0; round < 3; ++round)
    for (const auto& p : packets) {
      auto status = wire::parseQuery(p.data(), p.size(), q);
      answer::Response r{buf.data(), q.udpLimit(), 0, {}};
      answer::answer(q, status, snap.get(), r, static_cast<uint32_t>(round));
    }
  CHECK(g_allocations.load() - before == 0);
  // The counter works: an allocation is seen.
  auto* probe = new int(1);
  CHECK(g_allocations.load() - before == 1);
  delete probe;
}
