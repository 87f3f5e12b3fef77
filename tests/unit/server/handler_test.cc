// The query dispatch both transports share (server/handler.h), without sockets: what the
// server does with a query — answer it, hand it to the forwarder, refuse it, drop it — and
// the header bits it sets on the way.
#include "dnsd/server/handler.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dnsd/zone/records.h"
#include "tests/support/cluster_builder.h"
#include "tests/support/dns_test_util.h"

namespace {

using namespace dnsd;

std::shared_ptr<const zone::Snapshot> snapshot() {
  cluster::Cluster c;
  c.namespaces = {"default"};
  auto web = testing::service("default", "web");
  web.service.cluster_ips = {testing::ip("10.96.0.20")};
  c.services.push_back(web);
  auto big = testing::service("default", "big");
  big.service.headless = true;
  for (int i = 1; i <= 60; ++i)
    big.endpoints.push_back(testing::endpoint("10.244.2." + std::to_string(i), ""));
  c.services.push_back(big);
  auto ext = testing::service("default", "ext");
  ext.service.type = cluster::ServiceType::ExternalName;
  ext.service.external_name = "www.example.org";
  c.services.push_back(ext);
  zone::RecordOptions options;
  options.reverse_cidrs = {*base::Cidr::parse("10.96.0.0/12")};
  auto snap = zone::buildSnapshot(zone::allZones(c, options), 1);
  REQUIRE(snap.ok());
  return *snap;
}

struct Handled {
  size_t size = 0;
  bool forward = false;
  uint16_t chase_at = 0;
  testing::Parsed p;
};

Handled handle(server::Handler& h, const std::vector<uint8_t>& query, bool tcp, bool may_forward) {
  static auto snap = snapshot();
  std::vector<uint8_t> out(65535);
  Handled r;
  r.size = h.handle(query.data(), query.size(), out.data(), out.size(), tcp, snap.get(),
                    may_forward);
  r.forward = h.forward;
  r.chase_at = h.chase_at;
  if (r.size) r.p = testing::parse(out.data(), r.size);
  return r;
}

}  // namespace

TEST_CASE("a name in our zone is answered at once, whether or not forwarding is on") {
  server::Handler h;
  auto q = testing::makeQuery("web.default.svc.cluster.local.", "A");
  for (bool may_forward : {false, true}) {
    auto r = handle(h, q, false, may_forward);
    REQUIRE(r.size > 0);
    CHECK_FALSE(r.forward);
    CHECK(r.p.aa);
    CHECK(r.p.answer == std::vector<std::string>{"web.default.svc.cluster.local. 5 IN A 10.96.0.20"});
  }
}

TEST_CASE("a name that is not ours goes to the forwarder when forwarding is on") {
  server::Handler h;
  auto q = testing::makeQuery("www.example.org.", "A");
  auto forwarded = handle(h, q, false, true);
  CHECK(forwarded.size == 0);
  CHECK(forwarded.forward);
  auto refused = handle(h, q, false, false);
  REQUIRE(refused.size > 0);
  CHECK_FALSE(refused.forward);
  CHECK(refused.p.rcode == 5);  // REFUSED: no open resolver
}

TEST_CASE("RA is set only when names that are not ours can be resolved") {
  server::Handler h;
  auto q = testing::makeQuery("web.default.svc.cluster.local.", "A");
  std::vector<uint8_t> out(512);
  static auto snap = snapshot();
  size_t n = h.handle(q.data(), q.size(), out.data(), out.size(), false, snap.get(), false);
  REQUIRE(n > 3);
  CHECK((out[3] & 0x80) == 0);
  n = h.handle(q.data(), q.size(), out.data(), out.size(), false, snap.get(), true);
  REQUIRE(n > 3);
  CHECK((out[3] & 0x80) != 0);
}

TEST_CASE("an ExternalName to an outside name asks for the chase only when forwarding is on") {
  server::Handler h;
  auto q = testing::makeQuery("ext.default.svc.cluster.local.", "A");
  auto with = handle(h, q, false, true);
  REQUIRE(with.size > 0);
  CHECK(with.chase_at != 0);
  CHECK(with.p.answer == std::vector<std::string>{"ext.default.svc.cluster.local. 5 IN CNAME www.example.org."});
  auto without = handle(h, q, false, false);
  REQUIRE(without.size > 0);
  CHECK(without.chase_at == 0);
}

TEST_CASE("a response is dropped and a malformed query gets FORMERR") {
  server::Handler h;
  auto reply = testing::makeQuery("web.default.svc.cluster.local.", "A");
  reply[2] |= 0x80;  // QR: a response, never answered (no reflection loops)
  CHECK(handle(h, reply, false, true).size == 0);
  CHECK_FALSE(h.forward);
  auto broken = testing::makeQuery("web.default.svc.cluster.local.", "A");
  broken.resize(broken.size() - 3);  // the question cut short
  auto r = handle(h, broken, false, true);
  REQUIRE(r.size > 0);
  CHECK(r.p.rcode == 1);
}

TEST_CASE("UDP answers are cut to the client's limit with TC, TCP answers are whole") {
  server::Handler h;
  auto q = testing::makeQuery("big.default.svc.cluster.local.", "A");
  auto udp = handle(h, q, false, false);
  REQUIRE(udp.size > 0);
  CHECK(udp.size <= 512);
  CHECK(udp.p.tc);
  CHECK(udp.p.answer.size() > 0);
  CHECK(udp.p.answer.size() < 60);
  auto edns = testing::makeQuery("big.default.svc.cluster.local.", "A", {.edns = true, .udp_size = 4096});
  auto big = handle(h, edns, false, false);
  CHECK(big.size <= 1232);  // our EDNS limit, whatever the client offers
  CHECK_FALSE(big.p.tc);
  CHECK(big.p.answer.size() == 60);
  auto tcp = handle(h, q, true, false);
  CHECK_FALSE(tcp.p.tc);
  CHECK(tcp.p.answer.size() == 60);
}
