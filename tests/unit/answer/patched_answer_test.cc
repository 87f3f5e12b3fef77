// Queries through answer() on snapshots a ZoneEditor patched: what a client sees changes
// with the patch, while the snapshot it replaced keeps answering as before.
#include <doctest/doctest.h>

#include "dnsd/answer/answer.h"
#include "dnsd/zone/records.h"
#include "dnsd/zone/zone_editor.h"
#include "tests/support/dns_test_util.h"

namespace {

using namespace dnsd;

wire::Name name(const std::string& text) { return *wire::Name::parse(text); }

testing::Parsed ask(const zone::Snapshot& snap, const std::string& qname, const std::string& type) {
  auto query = testing::makeQuery(qname, type, {});
  wire::QueryView q;
  auto status = wire::parseQuery(query.data(), query.size(), q);
  std::vector<uint8_t> buf(65535);
  answer::Response r{buf.data(), buf.size(), 0, {}};
  answer::answer(q, status, &snap, r, 0);
  return testing::parse(buf.data(), r.size);
}

zone::Record srv(const std::string& owner, const std::string& target) {
  std::string head("\0\x0a\0\0\x1f\x90", 6);  // priority 10, weight 0, port 8080
  return zone::Record{name(owner), wire::type::SRV, 5, head + name(target).wire(), name(target)};
}

TEST_CASE("answers from a patched snapshot follow the patch") {
  const auto ep = zone::addressRecord(name("ep.web.ns.svc.cluster.local"), 5,
                                      *base::IpAddress::parse("10.244.0.5"));
  const auto solo = zone::addressRecord(name("solo.ns.svc.cluster.local"), 5,
                                        *base::IpAddress::parse("10.96.0.7"));
  std::vector<zone::ZoneContent> zones(1);
  zones[0].apex = name("cluster.local");
  zones[0].records.push_back(
      zone::soaRecord(name("cluster.local"), name("cluster.local"), 5, 1, 5));
  zones[0].records.push_back(
      srv("_http._tcp.web.ns.svc.cluster.local", "ep.web.ns.svc.cluster.local"));
  zones[0].records.push_back(ep);
  zones[0].records.push_back(solo);
  auto full = zone::buildSnapshot(std::move(zones), 1);
  REQUIRE(full.ok());
  zone::ZoneEditor editor;
  editor.adopt(*full);

  const std::string srv_answer =
      "_http._tcp.web.ns.svc.cluster.local. 5 IN SRV 10 0 8080 ep.web.ns.svc.cluster.local.";
  const std::string ep_address = "ep.web.ns.svc.cluster.local. 5 IN A 10.244.0.5";
  auto before = ask(**full, "_http._tcp.web.ns.svc.cluster.local", "SRV");
  REQUIRE(before.answer == std::vector<std::string>{srv_answer});
  REQUIRE(before.additional == std::vector<std::string>{ep_address});

  // The endpoint's and the lone Service's records go.
  zone::Patch out;
  out.removed.push_back(ep);
  out.removed.push_back(solo);
  out.serial = 2;
  auto gone = editor.apply(out);
  REQUIRE(gone.ok());
  CHECK(ask(**gone, "solo.ns.svc.cluster.local", "A").rcode == 3);
  CHECK(ask(**gone, "ep.web.ns.svc.cluster.local", "A").rcode == 3);
  // ns.svc.cluster.local still has a descendant: an empty non-terminal, NODATA.
  auto ent = ask(**gone, "ns.svc.cluster.local", "A");
  CHECK(ent.rcode == 0);
  CHECK(ent.answer.empty());
  auto orphan = ask(**gone, "_http._tcp.web.ns.svc.cluster.local", "SRV");
  CHECK(orphan.answer == std::vector<std::string>{srv_answer});
  CHECK(orphan.additional.empty());
  // Readers of the snapshot before still see the endpoint.
  CHECK(ask(**full, "ep.web.ns.svc.cluster.local", "A").answer ==
        std::vector<std::string>{ep_address});

  // The endpoint comes back: the SRV's additional address with it.
  zone::Patch back;
  back.added.push_back(ep);
  back.serial = 3;
  auto again = editor.apply(back);
  REQUIRE(again.ok());
  auto revived = ask(**again, "_http._tcp.web.ns.svc.cluster.local", "SRV");
  CHECK(revived.additional == std::vector<std::string>{ep_address});
  CHECK(ask(**again, "solo.ns.svc.cluster.local", "A").rcode == 3);
}

}  // namespace
