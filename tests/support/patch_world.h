// Three zones whose records come and go under random patches, for the tests of what follows
// zone::ZoneEditor's patches (the editor itself, the IXFR journal): a cluster-like zone, a
// reverse zone of PTRs into it and a static zone with MX, NS and a CNAME across zones, with
// apex SOAs that change and pod parents and kept names that come and go.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dnsd/wire/dns.h"
#include "dnsd/zone/records.h"
#include "dnsd/zone/snapshot.h"
#include "dnsd/zone/zone_editor.h"

namespace dnsd::testing::patch_world {

using zone::Record;

inline wire::Name name(const std::string& text) { return *wire::Name::parse(text); }
inline base::IpAddress ip(const std::string& text) { return *base::IpAddress::parse(text); }

inline Record srv(const wire::Name& owner, uint16_t port, const wire::Name& target) {
  std::string head(6, '\0');
  head[1] = 10;  // priority 10, weight 0... as the cluster zone writes them
  head[4] = static_cast<char>(port >> 8);
  head[5] = static_cast<char>(port);
  return Record{owner, wire::type::SRV, 5, head + target.wire(), target};
}

inline Record mx(const wire::Name& owner, const wire::Name& exchange) {
  return Record{owner, wire::type::MX, 300, std::string("\0\x0a", 2) + exchange.wire(), exchange};
}

// Three zones whose records come and go: a cluster-like zone (Services, endpoints, SRV and
// CNAME targets that appear and disappear, a deep chain of empty non-terminals), a reverse
// zone of PTRs into it and a static zone with MX, NS and CNAME across zones.
struct World {
  std::vector<wire::Name> apexes = {name("cluster.local"), name("10.in-addr.arpa"),
                                    name("example.com")};
  struct Candidate {
    Record record;
    size_t zone;
  };
  std::vector<Candidate> records;
  std::vector<bool> present;
  std::vector<Record> soas[3];  // variants per zone; soa_[z] is the one present
  size_t soa[3] = {0, 0, 0};
  std::vector<wire::Name> kept_names, pod_names;
  std::vector<bool> kept, pod;

  World() {
    auto add = [&](size_t z, Record r) { records.push_back({std::move(r), z}); };
    for (int j = 0; j < 3; ++j) {
      const std::string ns = "ns" + std::to_string(j);
      for (int i = 0; i < 5; ++i) {
        const std::string svc = "s" + std::to_string(i) + "." + ns + ".svc.cluster.local";
        const std::string cip = "10.96." + std::to_string(j) + "." + std::to_string(i);
        add(0, zone::addressRecord(name(svc), 5, ip(cip)));
        add(0, zone::addressRecord(name(svc), 5,
                                   ip("10.96." + std::to_string(j) + ".1" + std::to_string(i))));
        add(0, srv(name("_http._tcp." + svc), 80, name(svc)));
        add(1, zone::nameRecord(
                   name(std::to_string(i) + "." + std::to_string(j) + ".96.10.in-addr.arpa"),
                   wire::type::PTR, 5, name(svc)));
        for (int k = 0; k < 3; ++k) {
          const std::string ep = "e" + std::to_string(k) + "." + svc;
          const std::string eip = "10.244." + std::to_string(j) + "." + std::to_string(i * 8 + k);
          add(0, zone::addressRecord(name(ep), 5, ip(eip)));
          add(0, srv(name("_http._tcp." + svc), 8080, name(ep)));
          add(1, zone::nameRecord(name(std::to_string(i * 8 + k) + "." + std::to_string(j) +
                                       ".244.10.in-addr.arpa"),
                                  wire::type::PTR, 5, name(ep)));
        }
        add(0, zone::nameRecord(
                   name("c" + std::to_string(i) + "." + ns + ".svc.cluster.local"),
                   wire::type::CNAME, 5,
                   name(i == 4 ? std::string("x.example.org")
                               : "s" + std::to_string(i + 1) + "." + ns + ".svc.cluster.local")));
      }
      kept_names.push_back(name(ns + ".svc.cluster.local"));
      kept_names.push_back(name("k.keep" + std::to_string(j) + ".cluster.local"));
      pod_names.push_back(name(ns + ".pod.cluster.local"));
      add(0, zone::txtRecord(name("a.b.c.d" + std::to_string(j) + ".deep.cluster.local"), 5, "x"));
      add(0, zone::txtRecord(name("b.c.d" + std::to_string(j) + ".deep.cluster.local"), 5, "y"));
    }
    add(0,
        zone::nameRecord(name("cluster.local"), wire::type::NS, 5, name("ns.dns.cluster.local")));
    add(0, zone::addressRecord(name("ns.dns.cluster.local"), 5, ip("10.96.0.10")));
    add(2, mx(name("example.com"), name("mail.example.com")));
    add(2, zone::addressRecord(name("mail.example.com"), 300, ip("192.0.2.25")));
    add(2, zone::nameRecord(name("example.com"), wire::type::NS, 300, name("ns1.example.com")));
    add(2, zone::addressRecord(name("ns1.example.com"), 300, ip("192.0.2.53")));
    add(2, zone::nameRecord(name("alias.example.com"), wire::type::CNAME, 300,
                            name("s0.ns0.svc.cluster.local")));
    present.assign(records.size(), false);
    for (size_t i = 0; i < records.size(); i += 2) present[i] = true;
    for (size_t z = 0; z < 3; ++z) {
      soas[z] = {zone::soaRecord(apexes[z], name("cluster.local"), 5, 1, 5),
                 zone::soaRecord(apexes[z], name("cluster.local"), 30, 2, 10),
                 zone::soaRecord(apexes[z], name("cluster.local"), 600, 3, 900)};
    }
    kept.assign(kept_names.size(), false);
    pod.assign(pod_names.size(), false);
    kept[0] = pod[1] = true;
  }

  // A large RRset that never changes, so that garbage builds up slowly enough for long
  // lineages of patches between full builds.
  void addFiller(std::vector<zone::ZoneContent>& zones) const {
    for (int i = 0; i < 150; ++i)
      zones[2].records.push_back(zone::txtRecord(name("filler.example.com"), 300,
                                                 std::string(200, 'a') + std::to_string(i)));
  }

  std::vector<zone::ZoneContent> zones() const {
    std::vector<zone::ZoneContent> out(3);
    for (size_t z = 0; z < 3; ++z) {
      out[z].apex = apexes[z];
      out[z].records.push_back(soas[z][soa[z]]);
    }
    for (size_t i = 0; i < records.size(); ++i)
      if (present[i]) out[records[i].zone].records.push_back(records[i].record);
    for (size_t i = 0; i < kept.size(); ++i)
      if (kept[i]) out[0].empty_names.push_back(kept_names[i]);
    for (size_t i = 0; i < pod.size(); ++i)
      if (pod[i]) out[0].pod_parents.push_back(pod_names[i]);
    addFiller(out);
    return out;
  }

  // A random patch of 1 to 5 records going or coming, now and then a kept name, a pod
  // parent or an apex SOA too, applied to this world's state as well.
  zone::Patch randomPatch(std::mt19937& rng, uint32_t serial) {
    zone::Patch patch;
    patch.serial = serial;
    const int changes = 1 + static_cast<int>(rng() % 5);
    std::vector<size_t> picked;
    for (int c = 0; c < changes; ++c) {
      const size_t i = rng() % records.size();
      // A record both in and out of one patch is no change: each at most once.
      if (std::find(picked.begin(), picked.end(), i) != picked.end()) continue;
      picked.push_back(i);
      (present[i] ? patch.removed : patch.added).push_back(records[i].record);
      present[i] = !present[i];
    }
    if (rng() % 4 == 0) {
      const size_t i = rng() % kept.size();
      (kept[i] ? patch.kept_removed : patch.kept_added).push_back(kept_names[i]);
      kept[i] = !kept[i];
    }
    if (rng() % 6 == 0) {
      const size_t i = rng() % pod.size();
      (pod[i] ? patch.pod_parents_removed : patch.pod_parents_added).push_back(pod_names[i]);
      pod[i] = !pod[i];
    }
    if (rng() % 8 == 0) {
      const size_t z = rng() % 3;
      patch.removed.push_back(soas[z][soa[z]]);
      soa[z] = (soa[z] + 1) % 3;
      patch.added.push_back(soas[z][soa[z]]);
    }
    return patch;
  }
};

inline std::shared_ptr<const zone::Snapshot> build(const World& w, uint32_t serial) {
  auto snap = zone::buildSnapshot(w.zones(), serial);
  REQUIRE(snap.ok());
  return *snap;
}

}  // namespace dnsd::testing::patch_world
