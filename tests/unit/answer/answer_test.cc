// The answer logic over a hand-built cluster, without sockets: each row a query and the
// exact response sections in presentation format, read back by ldns (STYLE 9).
#include "dnsd/answer/answer.h"

#include <doctest/doctest.h>

#include "dnsd/hosts/hosts_file.h"
#include "dnsd/zone/records.h"
#include "tests/support/cluster_builder.h"
#include "tests/support/dns_test_util.h"

namespace {

using namespace dnsd;

using testing::endpoint;
using testing::ip;
using testing::service;

cluster::Cluster testCluster() {
  cluster::Cluster c;
  c.namespaces = {"default", "other", "kube-system"};
  auto web = service("default", "web");
  web.service.cluster_ips = {ip("10.96.0.20")};
  web.service.ports = {{"http", "TCP", 80, 8080, ""}, {"", "UDP", 53, 0, ""}};
  web.endpoints = {endpoint("10.244.1.10", "", {{"http", "TCP", 8080}})};
  web.endpoints[0].pod_name = "web-7d4b9";
  c.services.push_back(web);
  cluster::Pod pod;
  pod.meta.name = "web-7d4b9";
  pod.ips = {ip("10.244.1.10")};
  c.pods.push_back(pod);
  auto v6 = service("default", "v6svc");
  v6.service.cluster_ips = {ip("fd00:10:96::5")};
  c.services.push_back(v6);
  auto db = service("default", "db-headless");
  db.service.headless = true;
  db.endpoints = {endpoint("10.244.1.10", "cassandra-0", {{"cql", "TCP", 9042}}),
                  endpoint("10.244.1.11", "cassandra-1", {{"cql", "TCP", 9042}}),
                  endpoint("10.244.1.12", "", {{"cql", "TCP", 9042}})};
  c.services.push_back(db);
  auto empty = service("default", "empty-headless");
  empty.service.headless = true;
  c.services.push_back(empty);
  auto ext = service("default", "orders-db");
  ext.service.type = cluster::ServiceType::ExternalName;
  ext.service.external_name = "orders-db.production.company.net";
  c.services.push_back(ext);
  auto alias = service("default", "alias");
  alias.service.type = cluster::ServiceType::ExternalName;
  alias.service.external_name = "web.default.svc.cluster.local";
  c.services.push_back(alias);
  auto dangling = service("default", "dangling");
  dangling.service.type = cluster::ServiceType::ExternalName;
  dangling.service.external_name = "gone.default.svc.cluster.local";
  c.services.push_back(dangling);
  auto dns = service("kube-system", "kube-dns");
  dns.service.cluster_ips = {ip("10.96.0.10")};
  c.services.push_back(dns);
  return c;
}

zone::RecordOptions defaultOptions() {
  zone::RecordOptions options;
  options.serial = 42;
  options.reverse_cidrs = {*base::Cidr::parse("10.96.0.0/12"), *base::Cidr::parse("10.244.0.0/16")};
  return options;
}

std::shared_ptr<const zone::Snapshot> testSnapshot(zone::RecordOptions options = defaultOptions()) {
  auto snap = zone::buildSnapshot(zone::allZones(testCluster(), options), 42);
  REQUIRE(snap.ok());
  return *snap;
}

struct Answered {
  testing::Parsed p;
  std::vector<uint8_t> wire;
};

Answered ask(const std::string& name, const std::string& type, testing::QueryOptions opt = {},
             size_t capacity = 65535, std::shared_ptr<const zone::Snapshot> snap = nullptr) {
  static auto default_snap = testSnapshot();
  if (!snap) snap = default_snap;
  auto query = testing::makeQuery(name, type, opt);
  wire::QueryView q;
  auto status = wire::parseQuery(query.data(), query.size(), q);
  std::vector<uint8_t> buf(65535);
  answer::Response r{buf.data(), capacity, 0, {}};
  auto outcome = answer::answer(q, status, snap.get(), r, 0);
  // Not ours: the server forwards it, or refuses it when it may not (as here).
  if (outcome == answer::Outcome::Forward) answer::answerError(q, wire::Rcode::Refused, r);
  buf.resize(r.size);
  return {testing::parse(buf.data(), buf.size()), buf};
}

const char* kSoa =
    "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 42 7200 1800 86400 5";

struct Row {
  const char* name;
  const char* type;
  int rcode;
  std::vector<std::string> answer;
  std::vector<std::string> authority;
  std::vector<std::string> additional;
  const char* why;
};

// Asks each row of `rows` (of `snap`, else the test cluster's snapshot) and compares the
// sections.
void checkRows(const std::vector<Row>& rows, std::shared_ptr<const zone::Snapshot> snap = nullptr) {
  for (const auto& row : rows) {
    std::string context = std::string(row.name) + " " + row.type + " (" + row.why + ")";
    CAPTURE(context);
    auto a = ask(row.name, row.type, {}, 65535, snap);
    REQUIRE(a.p.ok);
    CHECK(a.p.rcode == row.rcode);
    CHECK(a.p.aa == (row.rcode != 5));  // AA on every answer from our zones
    CHECK_FALSE(a.p.tc);
    auto sorted = [](std::vector<std::string> v) {
      std::sort(v.begin(), v.end());
      return v;
    };
    CHECK(a.p.answer == sorted(row.answer));
    CHECK(a.p.authority == sorted(row.authority));
    CHECK(a.p.additional == sorted(row.additional));
  }
}

}  // namespace

TEST_CASE("every kind of cluster name gets the answer the spec and the RFCs call for") {
  const std::vector<Row> rows = {
      {"web.default.svc.cluster.local.", "A", 0,
       {"web.default.svc.cluster.local. 5 IN A 10.96.0.20"}, {}, {}, "k8s spec 2.3.1"},
      {"web.default.svc.cluster.local.", "AAAA", 0, {}, {kSoa}, {},
       "RFC 2308 2.2: NODATA for the family a Service lacks (coredns#779)"},
      {"v6svc.default.svc.cluster.local.", "AAAA", 0,
       {"v6svc.default.svc.cluster.local. 5 IN AAAA fd00:10:96::5"}, {}, {}, "k8s spec 2.3.1"},
      {"v6svc.default.svc.cluster.local.", "A", 0, {}, {kSoa}, {}, "NODATA"},
      {"_http._tcp.web.default.svc.cluster.local.", "SRV", 0,
       {"_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local."},
       {}, {"web.default.svc.cluster.local. 5 IN A 10.96.0.20"}, "k8s spec 2.3.2"},
      {"_tcp.web.default.svc.cluster.local.", "SRV", 0, {}, {kSoa}, {},
       "an empty non-terminal is NODATA (RFC 8020)"},
      {"_dns._udp.web.default.svc.cluster.local.", "SRV", 3, {}, {kSoa}, {},
       "unnamed ports have no SRV (k8s spec 2.3.2)"},
      {"db-headless.default.svc.cluster.local.", "A", 0,
       {"db-headless.default.svc.cluster.local. 5 IN A 10.244.1.10",
        "db-headless.default.svc.cluster.local. 5 IN A 10.244.1.11",
        "db-headless.default.svc.cluster.local. 5 IN A 10.244.1.12"},
       {}, {}, "k8s spec 2.4.1"},
      {"cassandra-0.db-headless.default.svc.cluster.local.", "A", 0,
       {"cassandra-0.db-headless.default.svc.cluster.local. 5 IN A 10.244.1.10"}, {}, {},
       "k8s spec 2.4.1: the endpoint's hostname"},
      {"10-244-1-12.db-headless.default.svc.cluster.local.", "A", 0,
       {"10-244-1-12.db-headless.default.svc.cluster.local. 5 IN A 10.244.1.12"}, {}, {},
       "an endpoint without hostname is named by its dashed IP (CoreDNS)"},
      {"_cql._tcp.db-headless.default.svc.cluster.local.", "SRV", 0,
       {"_cql._tcp.db-headless.default.svc.cluster.local. 5 IN SRV 0 33 9042 "
        "10-244-1-12.db-headless.default.svc.cluster.local.",
        "_cql._tcp.db-headless.default.svc.cluster.local. 5 IN SRV 0 33 9042 "
        "cassandra-0.db-headless.default.svc.cluster.local.",
        "_cql._tcp.db-headless.default.svc.cluster.local. 5 IN SRV 0 33 9042 "
        "cassandra-1.db-headless.default.svc.cluster.local."},
       {},
       {"10-244-1-12.db-headless.default.svc.cluster.local. 5 IN A 10.244.1.12",
        "cassandra-0.db-headless.default.svc.cluster.local. 5 IN A 10.244.1.10",
        "cassandra-1.db-headless.default.svc.cluster.local. 5 IN A 10.244.1.11"},
       "k8s spec 2.4.2, targets' addresses in the additional section"},
      {"empty-headless.default.svc.cluster.local.", "A", 3, {}, {kSoa}, {},
       "k8s spec 2.4.1: no ready endpoints is NXDOMAIN"},
      {"orders-db.default.svc.cluster.local.", "A", 0,
       {"orders-db.default.svc.cluster.local. 5 IN CNAME orders-db.production.company.net."}, {},
       {}, "k8s spec 2.5"},
      {"alias.default.svc.cluster.local.", "A", 0,
       {"alias.default.svc.cluster.local. 5 IN CNAME web.default.svc.cluster.local.",
        "web.default.svc.cluster.local. 5 IN A 10.96.0.20"},
       {}, {}, "RFC 1034 4.3.2: an in-zone CNAME target is chased"},
      {"dangling.default.svc.cluster.local.", "A", 3,
       {"dangling.default.svc.cluster.local. 5 IN CNAME gone.default.svc.cluster.local."}, {kSoa},
       {}, "RFC 6604: CNAME to a missing in-zone name is NXDOMAIN"},
      {"x.orders-db.default.svc.cluster.local.", "A", 3, {}, {kSoa}, {},
       "nothing below an ExternalName (coredns#5733)"},
      {"nope.default.svc.cluster.local.", "A", 3, {}, {kSoa}, {}, "NXDOMAIN"},
      {"default.svc.cluster.local.", "A", 0, {}, {kSoa}, {}, "a namespace is NODATA"},
      {"svc.cluster.local.", "A", 0, {}, {kSoa}, {}, "empty non-terminal"},
      {"missing.svc.cluster.local.", "A", 3, {}, {kSoa}, {}, "unknown namespace: NXDOMAIN"},
      {"cluster.local.", "SOA", 0, {kSoa}, {}, {}, "apex SOA"},
      {"cluster.local.", "NS", 0, {"cluster.local. 5 IN NS ns.dns.cluster.local."}, {},
       {"ns.dns.cluster.local. 5 IN A 10.96.0.10"}, "apex NS with the kube-dns address"},
      {"dns-version.cluster.local.", "TXT", 0,
       {"dns-version.cluster.local. 28800 IN TXT \"1.1.0\""}, {}, {}, "k8s spec 2.2"},
      {"dns-version.cluster.local.", "A", 0, {}, {kSoa}, {}, "RFC 2308 NODATA (CoreDNS: NXDOMAIN)"},
      {"web.default.svc.cluster.local.", "SRV", 0,
       {"web.default.svc.cluster.local. 5 IN SRV 0 50 53 web.default.svc.cluster.local.",
        "web.default.svc.cluster.local. 5 IN SRV 0 50 80 web.default.svc.cluster.local."},
       {}, {"web.default.svc.cluster.local. 5 IN A 10.96.0.20"},
       "SRV at the bare name lists every port (CoreDNS)"},
      {"20.0.96.10.in-addr.arpa.", "PTR", 0,
       {"20.0.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local."}, {}, {},
       "k8s spec 2.3.3"},
      {"10.1.244.10.in-addr.arpa.", "PTR", 0,
       {"10.1.244.10.in-addr.arpa. 5 IN PTR 10-244-1-10.web.default.svc.cluster.local.",
        "10.1.244.10.in-addr.arpa. 5 IN PTR cassandra-0.db-headless.default.svc.cluster.local."},
       {}, {}, "k8s spec 2.4.3, one PTR per Service (CoreDNS)"},
      {"5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.", "PTR", 0,
       {"5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa. 5 IN PTR "
        "v6svc.default.svc.cluster.local."},
       {}, {}, "k8s spec 2.3.3, 32 nibbles"},
      {"99.1.244.10.in-addr.arpa.", "PTR", 3, {},
       {"10.in-addr.arpa. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 42 7200 1800 "
        "86400 5"},
       {}, "authoritative for the reverse zone of the CIDRs: NXDOMAIN"},
      {"1.1.1.1.in-addr.arpa.", "PTR", 5, {}, {}, {}, "not our reverse zone: refused"},
      {"10-244-9-9.default.pod.cluster.local.", "A", 0,
       {"10-244-9-9.default.pod.cluster.local. 5 IN A 10.244.9.9"}, {}, {},
       "pods insecure: any address in an existing namespace (CoreDNS kubernetes README, pods)"},
      {"fd00-10--1.default.pod.cluster.local.", "AAAA", 0,
       {"fd00-10--1.default.pod.cluster.local. 5 IN AAAA fd00:10::1"}, {}, {}, "IPv6 pod name"},
      {"10-244-9-9.default.pod.cluster.local.", "AAAA", 0, {}, {kSoa}, {}, "other family: NODATA"},
      {"10-244-9-999.default.pod.cluster.local.", "A", 3, {}, {kSoa}, {}, "not an address"},
      {"10-244-9-9.nosuchns.pod.cluster.local.", "A", 3, {}, {kSoa}, {},
       "the namespace must exist (coredns/ci pods_test)"},
      {"x.10-244-9-9.default.pod.cluster.local.", "A", 3, {}, {kSoa}, {},
       "no names below a pod name (RFC; CoreDNS answers)"},
      {"default.pod.cluster.local.", "A", 0, {}, {kSoa}, {}, "NS.pod is NODATA (coredns#1228)"},
  };
  checkRows(rows);
}

TEST_CASE("the question is echoed with the client's case") {
  auto a = ask("WeB.DeFault.SVC.cluster.LOCAL.", "A");
  CHECK(a.p.question == "WeB.DeFault.SVC.cluster.LOCAL. A");
  REQUIRE(a.p.answer.size() == 1);
  // The owner is a pointer to the question, so it carries the client's case too.
  CHECK(a.p.answer[0] == "WeB.DeFault.SVC.cluster.LOCAL. 5 IN A 10.96.0.20");
}

TEST_CASE("names outside our zones are for forwarding, nothing written") {
  static auto snap = testSnapshot();
  for (const char* name : {"example.org.", "local.", "1.1.1.1.in-addr.arpa."}) {
    CAPTURE(name);
    auto query = testing::makeQuery(name, "A");
    wire::QueryView q;
    auto status = wire::parseQuery(query.data(), query.size(), q);
    std::vector<uint8_t> buf(512);
    answer::Response r{buf.data(), buf.size(), 0, {}};
    CHECK(answer::answer(q, status, snap.get(), r, 0) == answer::Outcome::Forward);
    CHECK(r.size == 0);
  }
}

TEST_CASE("EDNS is echoed with our buffer size") {
  auto a = ask("web.default.svc.cluster.local.", "A", {.edns = true, .udp_size = 4096});
  CHECK(a.p.edns);
  CHECK(a.p.edns_size == 1232);
  CHECK(a.p.answer.size() == 1);
}

TEST_CASE("an answer that does not fit keeps the whole RRs that fit, sets TC, drops extras") {
  // 3 SRVs need more than 150 bytes: the first ones that fit go out whole, with TC, and no
  // additional records (the client retries over TCP, or uses what it got).
  auto a = ask("_cql._tcp.db-headless.default.svc.cluster.local.", "SRV", {}, 150);
  REQUIRE(a.p.ok);
  CHECK(a.p.tc);
  CHECK(a.p.answer.size() >= 1);
  CHECK(a.p.answer.size() < 3);
  CHECK(a.p.additional.empty());
  CHECK(a.wire.size() <= 150);
  // Room for the answer but not for every additional record: no TC, extras dropped.
  auto b = ask("_cql._tcp.db-headless.default.svc.cluster.local.", "SRV", {}, 300);
  CHECK_FALSE(b.p.tc);
  CHECK(b.p.answer.size() == 3);
  CHECK(b.p.additional.size() < 3);
}

// A headless Service with 60 ready endpoints: its A RRset is 960 bytes of RRs.
std::shared_ptr<const zone::Snapshot> bigHeadlessSnapshot() {
  cluster::Cluster c;
  c.namespaces = {"default"};
  auto big = service("default", "big");
  big.service.headless = true;
  for (int i = 1; i <= 60; ++i) big.endpoints.push_back(endpoint("10.244.2." + std::to_string(i), ""));
  c.services.push_back(big);
  auto snap = zone::buildSnapshot(zone::allZones(c, defaultOptions()), 42);
  REQUIRE(snap.ok());
  return *snap;
}

TEST_CASE("a headless answer too large for UDP carries as many whole A RRs as fit, with TC") {
  // musl before 1.2.4 never retries over TCP: an empty TC answer left it with nothing.
  static auto snap = bigHeadlessSnapshot();
  const std::string name = "big.default.svc.cluster.local.";
  const size_t question = wire::kHeaderSize + (name.size() + 1) + 4;  // wire name, type, class
  constexpr size_t kRR = 2 + 10 + 4;                                      // pointer owner, A
  auto a = ask(name, "A", {}, 512, snap);
  REQUIRE(a.p.ok);
  CHECK(a.p.tc);
  CHECK(a.p.rcode == 0);
  CHECK(a.p.answer.size() == (512 - question) / kRR);
  CHECK(a.wire.size() <= 512);
  // An EDNS client with a 1232-byte buffer gets every one and no TC.
  auto b = ask(name, "A", {.edns = true, .udp_size = 1232}, 1232, snap);
  REQUIRE(b.p.ok);
  CHECK_FALSE(b.p.tc);
  CHECK(b.p.answer.size() == 60);
  CHECK(b.p.edns);
  // Over TCP every one too.
  CHECK(ask(name, "A", {}, 65535, snap).p.answer.size() == 60);
}

// The answers to `name` A with rotations 0, 1 and 2 in 512 bytes, unsorted.
std::vector<testing::Parsed> rotated(const zone::Snapshot& snap, const std::string& name) {
  auto query = testing::makeQuery(name, "A");
  wire::QueryView q;
  auto status = wire::parseQuery(query.data(), query.size(), q);
  std::vector<testing::Parsed> out;
  for (uint32_t rotate = 0; rotate < 3; ++rotate) {
    std::vector<uint8_t> buf(512);
    answer::Response r{buf.data(), buf.size(), 0, {}};
    REQUIRE(answer::answer(q, status, &snap, r, rotate) == answer::Outcome::Answered);
    out.push_back(testing::parse(buf.data(), r.size, /*sorted=*/false));
    REQUIRE(out.back().ok);
    REQUIRE_FALSE(out.back().answer.empty());
  }
  return out;
}

bool differentFirsts(const std::vector<testing::Parsed>& answers) {
  std::vector<std::string> firsts;
  for (const auto& p : answers) firsts.push_back(p.answer.front());
  std::sort(firsts.begin(), firsts.end());
  return std::unique(firsts.begin(), firsts.end()) == firsts.end();
}

TEST_CASE("successive truncated answers start at different addresses") {
  static auto snap = bigHeadlessSnapshot();
  auto answers = rotated(*snap, "big.default.svc.cluster.local.");
  for (const auto& p : answers) CHECK(p.tc);
  CHECK(differentFirsts(answers));
}

TEST_CASE("address RRsets rotate between responses") {
  static auto snap = testSnapshot();
  auto answers = rotated(*snap, "db-headless.default.svc.cluster.local.");
  for (const auto& p : answers) CHECK(p.answer.size() == 3);
  CHECK(differentFirsts(answers));
}

TEST_CASE("malformed queries get FORMERR, other opcodes NOTIMP, responses are dropped") {
  static auto snap = testSnapshot();
  std::vector<uint8_t> buf(512);
  auto run = [&](std::vector<uint8_t> packet) {
    wire::QueryView q;
    auto status = wire::parseQuery(packet.data(), packet.size(), q);
    answer::Response r{buf.data(), buf.size(), 0, {}};
    auto outcome = answer::answer(q, status, snap.get(), r, 0);
    return std::pair{outcome, r.rcode};
  };
  auto good = testing::makeQuery("web.default.svc.cluster.local.", "A");
  CHECK(run({1, 2, 3}).first == answer::Outcome::Drop);
  auto qr = good;
  qr[2] |= 0x80;
  CHECK(run(qr).first == answer::Outcome::Drop);
  auto two = good;
  two[5] = 2;  // qdcount 2
  CHECK(run(two).second == wire::Rcode::FormErr);
  auto cut = good;
  cut.resize(cut.size() - 3);
  CHECK(run(cut).second == wire::Rcode::FormErr);
  auto status = good;
  status[2] = (status[2] & 0x87) | (2 << 3);  // opcode STATUS
  CHECK(run(status).second == wire::Rcode::NotImp);
}

TEST_CASE("ptr-single keeps only the most specific name of an IP") {
  auto options = defaultOptions();
  options.ptr_single = true;
  auto a = ask("10.1.244.10.in-addr.arpa.", "PTR", {}, 65535, testSnapshot(options));
  CHECK(a.p.answer == std::vector<std::string>{
                          "10.1.244.10.in-addr.arpa. 5 IN PTR "
                          "cassandra-0.db-headless.default.svc.cluster.local."});
}

TEST_CASE("pods disabled has no pod names and verified only a Pod's own address") {
  auto options = defaultOptions();
  options.pods = zone::PodNames::Disabled;
  auto disabled = testSnapshot(options);
  CHECK(ask("10-244-1-10.default.pod.cluster.local.", "A", {}, 65535, disabled).p.rcode == 3);
  CHECK(ask("pod.cluster.local.", "A", {}, 65535, disabled).p.rcode == 3);
  options.pods = zone::PodNames::Verified;
  auto verified = testSnapshot(options);
  auto known = ask("10-244-1-10.default.pod.cluster.local.", "A", {}, 65535, verified);
  CHECK(known.p.answer ==
        std::vector<std::string>{"10-244-1-10.default.pod.cluster.local. 5 IN A 10.244.1.10"});
  CHECK(ask("10-244-9-9.default.pod.cluster.local.", "A", {}, 65535, verified).p.rcode == 3);
}

TEST_CASE("endpoint-pod-names names endpoints without hostname by their Pod") {
  auto options = defaultOptions();
  options.endpoint_pod_names = true;
  auto a = ask("10.1.244.10.in-addr.arpa.", "PTR", {}, 65535, testSnapshot(options));
  CHECK(a.p.answer == std::vector<std::string>{
                          "10.1.244.10.in-addr.arpa. 5 IN PTR "
                          "cassandra-0.db-headless.default.svc.cluster.local.",
                          "10.1.244.10.in-addr.arpa. 5 IN PTR web-7d4b9.web.default.svc.cluster.local."});
}

TEST_CASE("autopath walks a known Pod's search path and answers with a CNAME") {
  auto options = defaultOptions();
  options.autopath = true;
  auto snap = testSnapshot(options);
  auto run = [&](const char* name, const char* client_ip, bool can_forward) {
    auto query = testing::makeQuery(name, "A");
    wire::QueryView q;
    auto status = wire::parseQuery(query.data(), query.size(), q);
    std::vector<uint8_t> buf(512);
    answer::Response r{buf.data(), buf.size(), 0, {}};
    auto client = ip(client_ip);
    r.client = &client;
    r.can_forward = can_forward;
    REQUIRE(answer::answer(q, status, snap.get(), r, 0) == answer::Outcome::Answered);
    return std::pair{testing::parse(buf.data(), r.size), r};
  };
  // web-7d4b9 (10.244.1.10) is a Pod in default: looking up "web.default", its first search
  // step is web.default.default.svc.cluster.local, then web.default.svc.cluster.local.
  auto [hit, r1] = run("web.default.default.svc.cluster.local.", "10.244.1.10", false);
  CHECK(hit.rcode == 0);
  CHECK(r1.autopath_hit);
  CHECK(hit.answer == std::vector<std::string>{
                          "web.default.default.svc.cluster.local. 5 IN CNAME "
                          "web.default.svc.cluster.local.",
                          "web.default.svc.cluster.local. 5 IN A 10.96.0.20"});
  // Not a known Pod: the plain NXDOMAIN.
  auto [miss, r2] = run("web.default.default.svc.cluster.local.", "10.244.9.9", false);
  CHECK(miss.rcode == 3);
  CHECK_FALSE(r2.autopath_hit);
  // Nothing in the cluster: with forwarding, a CNAME to the bare name to resolve upstream.
  auto [out, r3] = run("www.example.org.default.svc.cluster.local.", "10.244.1.10", true);
  CHECK(out.answer == std::vector<std::string>{
                          "www.example.org.default.svc.cluster.local. 5 IN CNAME "
                          "www.example.org."});
  CHECK(r3.chase_at != 0);
  // Without forwarding for this client: the plain NXDOMAIN.
  CHECK(run("www.example.org.default.svc.cluster.local.", "10.244.1.10", false).first.rcode == 3);
}

TEST_CASE("a hosts file answers before the zones; the names it does not list fall through") {
  auto lines = hosts::parseHosts(
      "10.0.0.5 node-a\nfd00::5 node-a\n10.0.0.6 node-b web.default.svc.cluster.local\n"
      "10.96.0.99 pinned\n",
      "hosts");
  REQUIRE(lines.ok());
  auto snap = testSnapshot()->withHosts(hosts::HostsTable::build(*lines, 60));
  const std::vector<Row> rows = {
      {"Node-A.", "A", 0, {"Node-A. 60 IN A 10.0.0.5"}, {}, {}, "listed, any case"},
      {"node-a.", "AAAA", 0, {"node-a. 60 IN AAAA fd00::5"}, {}, {}, "both families"},
      {"node-b.", "AAAA", 0, {}, {}, {}, "NODATA without an SOA, as CoreDNS hosts"},
      {"node-b.", "MX", 0, {}, {}, {}, "NODATA for any other type"},
      {"node-a.", "PTR", 0, {}, {}, {}, "NODATA for PTR at a listed name (CoreDNS falls through)"},
      {"6.0.0.10.in-addr.arpa.", "A", 0, {}, {}, {}, "NODATA for A at a listed address's name"},
      {"6.0.0.10.in-addr.arpa.", "PTR", 0,
       {"6.0.0.10.in-addr.arpa. 60 IN PTR node-b.",
        "6.0.0.10.in-addr.arpa. 60 IN PTR web.default.svc.cluster.local."},
       {}, {}, "every name of the address, in a reverse zone of ours too"},
      {"99.0.96.10.in-addr.arpa.", "PTR", 0, {"99.0.96.10.in-addr.arpa. 60 IN PTR pinned."}, {},
       {}, "the reverse zone's NXDOMAIN is not reached"},
      {"web.default.svc.cluster.local.", "A", 0,
       {"web.default.svc.cluster.local. 60 IN A 10.0.0.6"}, {}, {},
       "a listed cluster name: hosts runs before kubernetes in CoreDNS's plugin.cfg"},
      {"v6svc.default.svc.cluster.local.", "AAAA", 0,
       {"v6svc.default.svc.cluster.local. 5 IN AAAA fd00:10:96::5"}, {}, {},
       "an unlisted cluster name: the zone"},
      {"20.0.96.10.in-addr.arpa.", "PTR", 0,
       {"20.0.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local."}, {}, {},
       "an unlisted address: the reverse zone"},
      {"node-c.", "A", 5, {}, {}, {}, "unlisted, outside our zones: forwarded (REFUSED here)"},
  };
  checkRows(rows, snap);
}
