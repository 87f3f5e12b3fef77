// Times ZoneEditor::apply() against buildSnapshot(): a one-Service change (its ClusterIP and
// port move: A, PTR and SRV records out and in) on a cluster of N Services, each with a
// ClusterIP, a named port and two endpoints. Usage: patch_bench [services] [rounds]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dnsd/wire/dns.h"
#include "dnsd/zone/records.h"
#include "dnsd/zone/snapshot.h"
#include "dnsd/zone/zone_editor.h"
#include "tests/support/cluster_builder.h"

using namespace dnsd;
using Clock = std::chrono::steady_clock;

namespace {

std::string ipOf(int base, int i) {
  return std::to_string(base) + "." + std::to_string(i >> 16 & 255) + "." +
         std::to_string(i >> 8 & 255) + "." + std::to_string(i & 255);
}

zone::Record srv(const wire::Name& owner, uint16_t port, const wire::Name& target) {
  std::string head("\0\0\0\0\0\0", 6);
  head[0] = 0, head[1] = 0, head[2] = 0, head[3] = 100;
  head[4] = static_cast<char>(port >> 8);
  head[5] = static_cast<char>(port);
  return {owner, wire::type::SRV, 5, head + target.wire(), target};
}

double since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int services = argc > 1 ? std::atoi(argv[1]) : 50000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 2000;
  cluster::Cluster c;
  c.namespaces = {"default"};
  for (int i = 0; i < services; ++i) {
    const std::string name = "svc" + std::to_string(i);
    auto s = testing::service("default", name.c_str());
    s.service.cluster_ips = {testing::ip(ipOf(10, 0x600000 + i))};
    s.service.ports = {{"http", "TCP", 80, 8080, ""}};
    s.endpoints = {testing::endpoint(ipOf(10, 0x800000 + 2 * i), "", {{"http", "TCP", 8080}}),
                   testing::endpoint(ipOf(10, 0x800001 + 2 * i), "", {{"http", "TCP", 8080}})};
    c.services.push_back(s);
  }
  zone::RecordOptions options;
  options.reverse_cidrs = {*base::Cidr::parse("10.0.0.0/8")};
  const auto zones = zone::allZones(c, options);
  size_t records = 0;
  for (const auto& z : zones) records += z.records.size();

  // Built for the editor, as the server builds a zone it will patch (zone::EditState).
  auto t0 = Clock::now();
  zone::EditState edit;
  auto full = zone::buildSnapshot(zones, 1, nullptr, &edit);
  const double build_us = since(t0);
  if (!full.ok()) {
    std::fprintf(stderr, "build: %s\n", full.error().message.c_str());
    return 1;
  }
  zone::ZoneEditor editor;
  t0 = Clock::now();
  editor.adopt(*full, std::move(edit));
  const double adopt_us = since(t0);

  // Service k's ClusterIP moves between two addresses and its port between two numbers:
  // each round takes out the records of one and puts in the other's.
  auto change = [&](int k, int from, int to, uint32_t serial) {
    const auto owner = *wire::Name::parse("svc" + std::to_string(k) + ".default.svc.cluster.local");
    const auto srv_owner =
        *wire::Name::parse("_http._tcp.svc" + std::to_string(k) + ".default.svc.cluster.local");
    const std::string ips[2] = {ipOf(10, 0x600000 + k), ipOf(10, 0x700000 + k)};
    const uint16_t ports[2] = {80, 81};
    zone::Patch p;
    p.serial = serial;
    auto records = [&](int v, zone::RecordList& out) {
      out.push_back(zone::addressRecord(owner, 5, testing::ip(ips[v])));
      out.push_back(srv(srv_owner, ports[v], owner));
      out.push_back(
          zone::nameRecord(zone::reverseName(testing::ip(ips[v])), wire::type::PTR, 5, owner));
    };
    records(from, p.removed);
    records(to, p.added);
    return p;
  };
  double first_us = 0, total_us = 0;
  int applied = 0, failed = 0;
  for (int r = 0; r < rounds; ++r) {
    const int k = (r * 7919) % services;
    // Each Service is moved out and back: the first time from 0 to 1, then back.
    const int from = (r / services) % 2;
    zone::Patch p = change(k, from, 1 - from, static_cast<uint32_t>(r + 2));
    t0 = Clock::now();
    auto result = editor.apply(p);
    const double us = since(t0);
    if (!result.ok()) {
      std::fprintf(stderr, "apply %d: %s\n", r, result.error().message.c_str());
      ++failed;
      zone::EditState again;
      editor.adopt(*zone::buildSnapshot(zones, 1, nullptr, &again), std::move(again));
      continue;
    }
    if (r == 0)
      first_us = us;
    else
      total_us += us;
    ++applied;
  }
  std::printf("services %d records %zu nodes %zu slots %zu\n", services, records,
              (*full)->nodeCount(), (*full)->slotCount());
  std::printf(
      "buildSnapshot %.1f ms, adopt %.1f us, first apply %.1f us\n",
      build_us / 1000, adopt_us, first_us);
  std::printf("apply (3 out, 3 in): %.1f us mean over %d, %d failed\n",
              applied > 1 ? total_us / (applied - 1) : 0.0, applied - 1, failed);
  return 0;
}
