// The decision table (server/decision.h), row by row, without sockets on the client's side:
// a query, the transport, whether forwarding is on and whether the client may use it, in;
// the action, the rcode and the header bits of what is written, out. The forwarder is real,
// against a one-socket upstream on loopback, so the cached rows and submit() are the real
// ones.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dnsd/hosts/hosts_file.h"
#include "dnsd/server/handler.h"
#include "dnsd/wire/dns.h"
#include "dnsd/wire/splice.h"
#include "dnsd/zone/records.h"
#include "tests/support/cluster_builder.h"
#include "tests/support/dns_test_util.h"

namespace {

using namespace dnsd;
using server::Action;
using server::Transport;
using Bytes = std::vector<uint8_t>;

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
  auto lines = hosts::parseHosts("192.0.2.10 node-1.example.net\n", "hosts");
  REQUIRE(lines.ok());
  auto snap =
      zone::buildSnapshot(zone::allZones(c, options), 1, hosts::HostsTable::build(*lines, 60));
  REQUIRE(snap.ok());
  return *snap;
}

// An upstream on 127.0.0.1 that answers every question with one A record, 192.0.2.1.
class Upstream {
 public:
  Upstream() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~Upstream() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  int queries() const { return queries_; }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      uint8_t buf[4096];
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < static_cast<ssize_t>(wire::kHeaderSize) + 5) continue;
      size_t end = wire::kHeaderSize;
      while (end < static_cast<size_t>(n) && buf[end] != 0) end += buf[end] + 1u;
      end += 1 + 4;
      if (end > static_cast<size_t>(n) || wire::load16(buf + end - 4) != wire::type::A) continue;
      ++queries_;
      Bytes reply(buf, buf + end);
      reply[2] |= 0x80;  // QR
      reply[3] = 0x80;   // RA, NOERROR
      wire::store16(reply.data() + 6, 1);
      wire::store16(reply.data() + 8, 0);
      wire::store16(reply.data() + 10, 0);
      const uint8_t rr[] = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 1, 0x2C, 0, 4, 192, 0, 2, 1};
      reply.insert(reply.end(), rr, rr + sizeof rr);
      sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

// What the forwarder hands back to the server, as server.cc's Deliver receives it.
struct Replies {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::pair<forward::Client, Bytes>> got;

  std::pair<forward::Client, Bytes> wait(size_t index) {
    std::unique_lock lock(mutex);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(2), [&] { return got.size() > index; }));
    return got[index];
  }
};

sockaddr_storage peer(const char* address) {
  sockaddr_storage ss{};
  auto& in = reinterpret_cast<sockaddr_in&>(ss);
  in.sin_family = AF_INET;
  in.sin_port = htons(40000);
  inet_pton(AF_INET, address, &in.sin_addr);
  return ss;
}

enum class Forwarding { Off, Allowed, Denied };

// One server's view: the zone, a forwarder (or none), the recursion policy (10.0.0.0/8).
struct Server {
  Upstream upstream;
  Replies replies;
  server::RecursionPolicy recursion{{*base::Cidr::parse("10.0.0.0/8")}};
  forward::Forwarder forwarder;
  server::Policy on{&forwarder, &recursion}, off{nullptr, &recursion};
  sockaddr_storage allowed = peer("10.1.2.3"), denied = peer("192.0.2.50");

  Server() : forwarder(options(upstream.port()), deliver()) { REQUIRE(forwarder.start().ok()); }

  static forward::Options options(uint16_t port) {
    forward::Options o;
    o.upstreams.push_back(forward::Upstream{*base::IpAddress::parse("127.0.0.1"), port});
    o.timeout_ms = 500;
    return o;
  }
  forward::Forwarder::Deliver deliver() {
    return [this](const forward::Client& c, const uint8_t* reply, size_t size) {
      std::lock_guard lock(replies.mutex);
      replies.got.emplace_back(c, Bytes(reply, reply + size));
      replies.cv.notify_all();
    };
  }
};

struct Decided {
  server::Decision d;
  Bytes out;
  testing::Parsed p;  // of what is in the buffer, when something is
};

Decided decide(server::Handler& h, const Bytes& query, Transport transport,
               const sockaddr_storage* client) {
  static auto snap = snapshot();
  Decided r;
  r.out.assign(wire::kMaxMessage, 0);
  server::Request request{query.data(), query.size(), transport, client, r.out.size()};
  r.d = h.decide(request, snap.get(), r.out.data());
  if (r.d.size) r.p = testing::parse(r.out.data(), r.d.size);
  return r;
}

Decided decide(Server& s, Forwarding f, const Bytes& query, Transport transport = Transport::Udp) {
  server::Handler h(f == Forwarding::Off ? s.off : s.on);
  return decide(h, query, transport, f == Forwarding::Denied ? &s.denied : &s.allowed);
}

// Hands a Forward or Chase decision to the forwarder, as a transport does, and waits for
// what comes back to the server.
std::pair<forward::Client, Bytes> submit(Server& s, server::Handler& h, const Decided& r,
                                         const Bytes& query, Transport transport,
                                         forward::Client client) {
  size_t index;
  {
    std::lock_guard lock(s.replies.mutex);
    index = s.replies.got.size();
  }
  server::Request request{query.data(), query.size(), transport, &s.allowed, r.out.size()};
  h.submit(r.d, request, r.out.data(), std::move(client));
  return s.replies.wait(index);
}

const char* name(Action a) {
  switch (a) {
    case Action::Answer:
      return "Answer";
    case Action::AnswerCached:
      return "AnswerCached";
    case Action::Forward:
      return "Forward";
    case Action::Chase:
      return "Chase";
    case Action::Refuse:
      return "Refuse";
    case Action::Drop:
      return "Drop";
  }
  return "?";
}

}  // namespace

TEST_CASE("the decision table: query and forwarding policy in, action, rcode and RA out") {
  Server s;
  struct Row {
    const char* name;
    const char* type;
    Forwarding forwarding;
    Action action;
    int rcode;  // of the response written; -1: nothing written
    bool ra;
  };
  const Row rows[] = {
      // Our names are answered whatever the policy; RA says whether we resolve other names.
      {"web.default.svc.cluster.local.", "A", Forwarding::Off, Action::Answer, 0, false},
      {"web.default.svc.cluster.local.", "A", Forwarding::Allowed, Action::Answer, 0, true},
      {"web.default.svc.cluster.local.", "A", Forwarding::Denied, Action::Answer, 0, true},
      {"nope.default.svc.cluster.local.", "A", Forwarding::Allowed, Action::Answer, 3, true},
      // A name the --hosts file lists is ours too, though in none of our zones.
      {"node-1.example.net.", "A", Forwarding::Off, Action::Answer, 0, false},
      {"node-1.example.net.", "A", Forwarding::Denied, Action::Answer, 0, true},
      {"node-1.example.net.", "AAAA", Forwarding::Allowed, Action::Answer, 0, true},
      // Zone transfers are not answered here (the TCP server hands them to the transfer
      // server first); REFUSED, as for a class other than IN.
      {"cluster.local.", "AXFR", Forwarding::Allowed, Action::Answer, 5, true},
      // Names that are not ours: forwarded for a client the policy allows, else REFUSED,
      // without RA (no open resolver).
      {"www.example.org.", "A", Forwarding::Off, Action::Refuse, 5, false},
      {"www.example.org.", "A", Forwarding::Denied, Action::Refuse, 5, false},
      {"www.example.org.", "AAAA", Forwarding::Allowed, Action::Forward, -1, false},
      // An ExternalName to an outside name: its target is chased for an allowed client, else
      // the CNAME alone is the answer.
      {"ext.default.svc.cluster.local.", "A", Forwarding::Allowed, Action::Chase, 0, true},
      {"ext.default.svc.cluster.local.", "A", Forwarding::Denied, Action::Answer, 0, true},
      {"ext.default.svc.cluster.local.", "A", Forwarding::Off, Action::Answer, 0, false},
      // The CNAME itself is what was asked: nothing to chase.
      {"ext.default.svc.cluster.local.", "CNAME", Forwarding::Allowed, Action::Answer, 0, true},
  };
  for (const Row& row : rows) {
    for (Transport transport : {Transport::Udp, Transport::Tcp}) {
      CAPTURE(row.name);
      CAPTURE(row.type);
      CAPTURE(static_cast<int>(row.forwarding));
      CAPTURE(transport == Transport::Tcp);
      auto r = decide(s, row.forwarding, testing::makeQuery(row.name, row.type), transport);
      CHECK(std::string(name(r.d.action)) == name(row.action));
      CHECK(r.d.upstream() == (row.action == Action::Forward || row.action == Action::Chase));
      if (row.rcode < 0) {
        CHECK(r.d.size == 0);
        continue;
      }
      REQUIRE(r.d.size > 0);
      CHECK(r.d.rcode == row.rcode);
      CHECK(r.p.rcode == row.rcode);
      CHECK(r.p.ra == row.ra);
      CHECK(r.p.id == 0x1234);
    }
  }
}

TEST_CASE("a chase points at the CNAME's target in our part of the answer") {
  Server s;
  auto r =
      decide(s, Forwarding::Allowed, testing::makeQuery("ext.default.svc.cluster.local.", "A"));
  REQUIRE(r.d.action == Action::Chase);
  CHECK(r.p.answer ==
        std::vector<std::string>{"ext.default.svc.cluster.local. 5 IN CNAME www.example.org."});
  REQUIRE(r.d.chase_at < r.d.size);
  CHECK(wire::nameSize(r.out.data() + r.d.chase_at) == std::strlen("www.example.org.") + 1);
}

TEST_CASE("a response is dropped, a malformed query gets FORMERR, on either transport") {
  Server s;
  for (Transport transport : {Transport::Udp, Transport::Tcp}) {
    auto reply = testing::makeQuery("web.default.svc.cluster.local.", "A");
    reply[2] |= 0x80;  // QR: a response, never answered (no reflection loops)
    auto dropped = decide(s, Forwarding::Allowed, reply, transport);
    CHECK(dropped.d.action == Action::Drop);
    CHECK(dropped.d.size == 0);
    auto broken = testing::makeQuery("web.default.svc.cluster.local.", "A");
    broken.resize(broken.size() - 3);  // the question cut short
    auto r = decide(s, Forwarding::Allowed, broken, transport);
    CHECK(r.d.action == Action::Answer);
    REQUIRE(r.d.size > 0);
    CHECK(r.p.rcode == 1);
    CHECK(r.d.rcode == 1);
  }
}

TEST_CASE("a forwarded name is answered from the cache by the worker once the reply came") {
  Server s;
  server::Handler h(s.on);
  auto query = testing::makeQuery("www.example.org.", "A", {.id = 0x0101});
  auto first = decide(h, query, Transport::Udp, &s.allowed);
  REQUIRE(first.d.action == Action::Forward);
  forward::Client client;
  client.fd = 7;
  auto [to, reply] = submit(s, h, first, query, Transport::Udp, client);
  CHECK(to.fd == 7);
  CHECK_FALSE(to.tcp);
  CHECK(to.limit == 512);  // the client sent no EDNS
  CHECK(testing::parse(reply.data(), reply.size()).answer ==
        std::vector<std::string>{"www.example.org. 300 IN A 192.0.2.1"});
  // Asked again, by any client the policy allows, over either transport: the cache answers.
  for (Transport transport : {Transport::Udp, Transport::Tcp}) {
    auto again = decide(h, testing::makeQuery("WWW.example.org.", "A", {.id = 0x0202}), transport,
                        &s.allowed);
    CHECK(again.d.action == Action::AnswerCached);
    CHECK(again.d.rcode == 0);
    CHECK(again.p.id == 0x0202);
    CHECK(again.p.question == "WWW.example.org. A");
    CHECK(again.p.answer.size() == 1);
  }
  CHECK(s.upstream.queries() == 1);
  // The cache does not open the policy: a client outside it is still refused.
  CHECK(decide(h, query, Transport::Udp, &s.denied).d.action == Action::Refuse);
}

TEST_CASE("a chase submits the target's question, and the reply splices onto our CNAME") {
  Server s;
  server::Handler h(s.on);
  auto query = testing::makeQuery("ext.default.svc.cluster.local.", "A", {.id = 0x0303});
  auto r = decide(h, query, Transport::Tcp, &s.allowed);
  REQUIRE(r.d.action == Action::Chase);
  forward::Client client;
  client.connection = 9;
  auto [to, reply] = submit(s, h, r, query, Transport::Tcp, client);
  CHECK(to.tcp);
  CHECK(to.connection == 9);
  REQUIRE(to.prefix.size() == r.d.size);  // our part, for the splice
  Bytes spliced(wire::kMaxMessage);
  size_t n = wire::spliceReply(to.prefix.data(), to.prefix.size(), reply.data(), reply.size(),
                               spliced.data(), spliced.size(), false);
  auto p = testing::parse(spliced.data(), n);
  CHECK(p.id == 0x0303);
  CHECK(p.answer ==
        std::vector<std::string>{"ext.default.svc.cluster.local. 5 IN CNAME www.example.org.",
                                 "www.example.org. 300 IN A 192.0.2.1"});
}

TEST_CASE("a splice that does not fit a UDP client sends our part alone, with TC") {
  Server s;
  server::Handler h(s.on);
  auto query = testing::makeQuery("ext.default.svc.cluster.local.", "A");
  auto r = decide(h, query, Transport::Udp, &s.allowed);
  REQUIRE(r.d.action == Action::Chase);
  Bytes upstream_reply = testing::makeQuery("www.example.org.", "A");
  upstream_reply[2] |= 0x80;
  wire::store16(upstream_reply.data() + 6, 1);
  const uint8_t rr[] = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 1, 0x2C, 0, 4, 192, 0, 2, 1};
  upstream_reply.insert(upstream_reply.end(), rr, rr + sizeof rr);
  Bytes out(512);
  for (bool udp : {true, false}) {
    size_t n = wire::spliceReply(r.out.data(), r.d.size, upstream_reply.data(),
                                 upstream_reply.size(), out.data(), r.d.size + 4, udp);
    CHECK(n == r.d.size);
    auto p = testing::parse(out.data(), n);
    CHECK(p.tc == udp);
    CHECK(p.answer.size() == 1);
  }
}

TEST_CASE("UDP answers are cut to the client's limit with TC, TCP answers are whole") {
  Server s;
  auto q = testing::makeQuery("big.default.svc.cluster.local.", "A");
  auto udp = decide(s, Forwarding::Off, q);
  REQUIRE(udp.d.size > 0);
  CHECK(udp.d.size <= 512);
  CHECK(udp.p.tc);
  CHECK(udp.p.answer.size() > 0);
  CHECK(udp.p.answer.size() < 60);
  auto edns =
      testing::makeQuery("big.default.svc.cluster.local.", "A", {.edns = true, .udp_size = 4096});
  auto big = decide(s, Forwarding::Off, edns);
  CHECK(big.d.size <= 1232);  // our EDNS limit, whatever the client offers
  CHECK_FALSE(big.p.tc);
  CHECK(big.p.answer.size() == 60);
  auto tcp = decide(s, Forwarding::Off, q, Transport::Tcp);
  CHECK_FALSE(tcp.p.tc);
  CHECK(tcp.p.answer.size() == 60);
}
