// The hot path allocates nothing: a counting operator new around parse + answer for every
// main answer kind (docs/architecture.md, "The hot path").
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "dnsd/answer/answer.h"
#include "dnsd/hosts/hosts_file.h"
#include "dnsd/zone/records.h"
#include "tests/support/dns_test_util.h"
#include "tests/support/test_zone.h"

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

}  // namespace

TEST_CASE("answering allocates nothing on the heap, for every main answer kind") {
  auto lines = hosts::parseHosts("10.0.0.5 node-a\nfd00::5 node-a\n", "hosts");
  REQUIRE(lines.ok());
  auto snap = testing::buildTestSnapshot()->withHosts(hosts::HostsTable::build(*lines, 5));
  const std::vector<std::pair<const char*, const char*>> queries = {
      {"web.default.svc.cluster.local.", "A"},        // ClusterIP hit
      {"many.default.svc.cluster.local.", "A"},       // headless, rotated, truncated
      {"node-1.many.default.svc.cluster.local.", "A"},  // per-endpoint name
      {"_cql._tcp.many.default.svc.cluster.local.", "SRV"},  // SRV with additionals
      {"web.default.svc.cluster.local.", "AAAA"},     // NODATA
      {"nope.default.svc.cluster.local.", "A"},       // NXDOMAIN (search path)
      {"alias.default.svc.cluster.local.", "A"},      // CNAME chased
      {"chain.other.svc.cluster.local.", "A"},        // CNAME chain
      {"www.corp.internal.", "A"},                    // static zone
      {"20.0.96.10.in-addr.arpa.", "PTR"},            // reverse
      {"10-244-0-9.default.pod.cluster.local.", "A"},  // pod name made at query time
      {"example.org.", "A"},                          // not ours: forward
      {"node-a.", "AAAA"},                            // --hosts
      {"5.0.0.10.in-addr.arpa.", "PTR"},              // --hosts reverse
      {"node-a.", "MX"},                              // --hosts NODATA
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
