// The forwarder against a fake upstream on loopback (UDP and TCP on one ephemeral port):
// client ID and 0x20 case kept, cache hits, TCP retry after TC, failover, SERVFAIL when every
// upstream fails, TC for small UDP clients, garbage from upstream, the loop probe.
#include "dnsd/forward/forwarder.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <atomic>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dnsd/forward/reply.h"
#include "dnsd/wire/dns.h"
#include "dnsd/wire/name.h"

namespace dnsd::forward {
namespace {

using Bytes = std::vector<uint8_t>;
using namespace std::chrono_literals;

constexpr uint16_t kA = 1, kHinfo = 13, kSoa = 6;

// ---- Messages ----

void appendName(Bytes& out, std::string_view text) {  // keeps the case
  while (!text.empty()) {
    size_t dot = text.find('.');
    std::string_view label = text.substr(0, dot);
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    text = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  }
  out.push_back(0);
}

void append16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void append32(Bytes& out, uint32_t v) {
  append16(out, static_cast<uint16_t>(v >> 16));
  append16(out, static_cast<uint16_t>(v));
}

Bytes makeQuery(std::string_view name, uint16_t id, uint16_t type = kA, bool edns = false) {
  Bytes q;
  append16(q, id);
  append16(q, 0x0100);  // RD
  append16(q, 1);
  append16(q, 0);
  append16(q, 0);
  append16(q, edns ? 1 : 0);
  appendName(q, name);
  append16(q, type);
  append16(q, 1);
  if (edns) q.insert(q.end(), {0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0});  // 4096, no DO
  return q;
}

size_t questionEnd(const Bytes& m) {
  size_t pos = wire::kHeaderSize;
  while (m[pos] != 0) pos += 1 + m[pos];
  return pos + 5;
}

struct Rr {
  uint16_t type = kA;
  uint32_t ttl = 300;
  Bytes rdata = {192, 0, 2, 1};
};

Rr soa(uint32_t ttl, uint32_t minimum) {
  Rr rr{kSoa, ttl, {}};
  appendName(rr.rdata, "ns.example.org");
  appendName(rr.rdata, "admin.example.org");
  for (uint32_t v : {1u, 7200u, 900u, 86400u}) append32(rr.rdata, v);
  append32(rr.rdata, minimum);
  return rr;
}

// The reply a server that lowercases the question (no 0x20) would send; owners are 0xC00C.
Bytes makeReply(const Bytes& query, uint8_t rcode, const std::vector<Rr>& answer,
                const std::vector<Rr>& authority = {}, bool tc = false) {
  size_t qend = questionEnd(query);
  Bytes r(query.begin(), query.begin() + qend);
  r[2] = static_cast<uint8_t>(0x80 | (query[2] & 0x01) | (tc ? 0x02 : 0));
  r[3] = static_cast<uint8_t>(0x80 | rcode);
  for (size_t i = wire::kHeaderSize; i < qend - 4; ++i) r[i] = wire::toLower(r[i]);
  wire::store16(r.data() + 6, static_cast<uint16_t>(answer.size()));
  wire::store16(r.data() + 8, static_cast<uint16_t>(authority.size()));
  wire::store16(r.data() + 10, 0);
  for (const auto* section : {&answer, &authority}) {
    for (const Rr& rr : *section) {
      r.insert(r.end(), {0xC0, 0x0C});
      append16(r, rr.type);
      append16(r, 1);
      append32(r, rr.ttl);
      append16(r, static_cast<uint16_t>(rr.rdata.size()));
      r.insert(r.end(), rr.rdata.begin(), rr.rdata.end());
    }
  }
  return r;
}

std::vector<Rr> manyA(int n) {
  std::vector<Rr> out;
  for (int i = 0; i < n; ++i) out.push_back(Rr{kA, 300, {10, 0, 0, static_cast<uint8_t>(i)}});
  return out;
}

// What a client sees in a reply.
struct Seen {
  uint16_t id = 0;
  uint8_t rcode = 0;
  bool qr = false, tc = false, ra = false;
  std::string qname;  // original case, dotted
  uint16_t answers = 0, additional = 0;
  std::vector<uint32_t> ttls;
  size_t size = 0;
};

std::string qnameOf(const Bytes& m) {
  std::string out;
  for (size_t pos = wire::kHeaderSize; pos < m.size() && m[pos] != 0; pos += 1 + m[pos])
    out.append(reinterpret_cast<const char*>(&m[pos + 1]), m[pos]).push_back('.');
  return out;
}

Seen see(const Bytes& m) {
  Seen s;
  ReplyInfo info;
  std::vector<uint16_t> ttls;
  REQUIRE(walkReply(m.data(), m.size(), info, &ttls));
  s.id = wire::load16(m.data());
  s.rcode = info.rcode;
  s.qr = m[2] & 0x80;
  s.tc = info.tc;
  s.ra = m[3] & 0x80;
  s.qname = qnameOf(m);
  s.answers = info.answer_count;
  s.additional = wire::load16(m.data() + 10);
  for (uint16_t offset : ttls) s.ttls.push_back(wire::load32(m.data() + offset));
  s.size = m.size();
  return s;
}

// ---- A fake upstream: UDP and TCP on the same 127.0.0.1 port, canned replies ----

class FakeUpstream {
 public:
  // nullopt: no reply (the query is dropped).
  using Handler = std::function<std::optional<Bytes>(const Bytes& query, bool tcp)>;

  explicit FakeUpstream(Handler handler) : handler_(std::move(handler)) {
    stop_ = eventfd(0, EFD_CLOEXEC);
    for (int attempt = 0; attempt < 20 && !bindBoth(); ++attempt) {
    }
    REQUIRE(port_ != 0);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeUpstream() {
    uint64_t one = 1;
    (void)!write(stop_, &one, sizeof one);
    thread_.join();
    for (int fd : connections_) close(fd);
    close(udp_), close(tcp_), close(stop_);
  }
  uint16_t port() const { return port_; }
  int udpQueries() const { return udp_count_; }
  int tcpQueries() const { return tcp_count_; }
  std::vector<std::string> seen() const {
    std::lock_guard lock(mutex_);
    return qnames_;
  }
  std::vector<std::string> probes() const {
    std::lock_guard lock(mutex_);
    return probes_;
  }

 private:
  bool bindBoth() {
    udp_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    tcp_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bool ok = bind(udp_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
              getsockname(udp_, reinterpret_cast<sockaddr*>(&a), &len) == 0 &&
              bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(tcp_, 16) == 0;
    if (ok)
      port_ = ntohs(a.sin_port);
    else
      close(udp_), close(tcp_);
    return ok;
  }

  // The probe start() sends is noted apart; everything else goes to the handler.
  std::optional<Bytes> answer(const Bytes& query, bool tcp) {
    if (query.size() < wire::kHeaderSize + 5) return std::nullopt;
    std::lock_guard lock(mutex_);
    if (wire::load16(query.data() + questionEnd(query) - 4) == kHinfo) {
      probes_.push_back(qnameOf(query));
      return std::nullopt;
    }
    qnames_.push_back(qnameOf(query));
    ++(tcp ? tcp_count_ : udp_count_);
    return handler_(query, tcp);
  }

  void run() {
    for (;;) {
      std::vector<pollfd> fds{{stop_, POLLIN, 0}, {udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      for (int fd : connections_) fds.push_back({fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 1000) < 0) continue;
      if (fds[0].revents) return;
      if (fds[1].revents) serveUdp();
      if (fds[2].revents) connections_.push_back(accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC));
      for (size_t i = 3; i < fds.size(); ++i)
        if (fds[i].revents && !serveTcp(fds[i].fd)) std::erase(connections_, fds[i].fd);
    }
  }

  void serveUdp() {
    uint8_t buf[65536];
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(udp_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n <= 0) return;
    if (auto reply = answer(Bytes(buf, buf + n), false))
      sendto(udp_, reply->data(), reply->size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  }

  bool serveTcp(int fd) {
    uint8_t len[2];
    if (recv(fd, len, 2, MSG_WAITALL) != 2) return close(fd), false;
    Bytes query(wire::load16(len));
    if (recv(fd, query.data(), query.size(), MSG_WAITALL) != ssize_t(query.size()))
      return close(fd), false;
    if (auto reply = answer(query, true)) {
      Bytes framed{static_cast<uint8_t>(reply->size() >> 8), static_cast<uint8_t>(reply->size())};
      framed.insert(framed.end(), reply->begin(), reply->end());
      (void)!write(fd, framed.data(), framed.size());
    }
    return true;
  }

  Handler handler_;
  int udp_ = -1, tcp_ = -1, stop_ = -1;
  uint16_t port_ = 0;
  std::vector<int> connections_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::string> qnames_, probes_;
  std::atomic<int> udp_count_{0}, tcp_count_{0};
};

// A UDP port that takes queries and never answers (a dead upstream: the try times out).
struct BlackHole {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  uint16_t port = 0;
  BlackHole() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~BlackHole() { close(fd); }
};

// A port nobody listens on (ICMP port unreachable: the try fails at once).
uint16_t closedPort() {
  BlackHole hole;
  return hole.port;
}

// ---- The client side ----

class Collector {
 public:
  Forwarder::Deliver deliver() {
    return [this](const Client& client, const uint8_t* reply, size_t size) {
      std::lock_guard lock(mutex_);
      replies_.emplace_back(client, Bytes(reply, reply + size));
      cv_.notify_all();
    };
  }
  // The `index`th reply (0-based) within two seconds.
  std::pair<Client, Bytes> wait(size_t index) {
    std::unique_lock lock(mutex_);
    bool got = cv_.wait_for(lock, 2s, [&] { return replies_.size() > index; });
    REQUIRE_MESSAGE(got, "no reply #" << index);
    return replies_[index];
  }
  size_t count() {
    std::lock_guard lock(mutex_);
    return replies_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<Client, Bytes>> replies_;
};

Options optionsFor(std::vector<uint16_t> ports, int tries = 2) {
  Options o;
  for (uint16_t p : ports) o.upstreams.push_back(Upstream{*base::IpAddress::parse("127.0.0.1"), p});
  o.timeout_ms = 200;
  o.tries = tries;
  return o;
}

Client udpClient(size_t limit = 4096, uint64_t tag = 0) {
  Client c;
  c.limit = limit;
  c.connection = tag;
  return c;
}

Seen ask(Forwarder& f, Collector& got, const Bytes& query, Client client = udpClient()) {
  size_t index = got.count();
  f.submit(query.data(), query.size(), client);
  return see(got.wait(index).second);
}

FakeUpstream::Handler answerA(std::vector<Rr> answer = {Rr{}}) {
  return [answer](const Bytes& q, bool) { return makeReply(q, 0, answer); };
}

// ---- Forwarding ----

TEST_CASE("a forwarded query comes back with the client's ID and question case") {
  FakeUpstream upstream(answerA());
  Collector got;
  Forwarder forwarder(optionsFor({upstream.port()}), got.deliver());
  REQUIRE(forwarder.start().ok());
  Seen s = ask(forwarder, got, makeQuery("WwW.ExAmple.ORG", 0xBEEF));
  CHECK(s.id == 0xBEEF);
  CHECK(s.qr);
  CHECK(s.rcode == 0);
  CHECK(s.qname == "WwW.ExAmple.ORG.");
  CHECK(s.answers == 1);
  // The upstream got the client's bytes as they were, case and all.
  CHECK(upstream.seen() == std::vector<std::string>{"WwW.ExAmple.ORG."});
  CHECK(forwarder.stats().requests == 1);
  CHECK(forwarder.stats().cache_misses == 1);
  CHECK(forwarder.stats().latency_count == 1);
}

TEST_CASE("a second identical query is served from the cache") {
  FakeUpstream upstream(answerA({Rr{kA, 300, {192, 0, 2, 7}}}));
  Collector got;
  Forwarder forwarder(optionsFor({upstream.port()}), got.deliver());
  REQUIRE(forwarder.start().ok());
  Seen first = ask(forwarder, got, makeQuery("cached.example.org", 1));
  Seen second = ask(forwarder, got, makeQuery("CACHED.example.ORG", 2));
  CHECK(upstream.udpQueries() == 1);
  CHECK(second.id == 2);
  CHECK(second.qname == "CACHED.example.ORG.");
  CHECK(second.answers == 1);
  REQUIRE(second.ttls.size() == 1);
  CHECK(second.ttls[0] <= first.ttls[0]);  // aged by whole seconds: cache_test.cc checks it
  CHECK(forwarder.stats().cache_hits == 1);
  // The DO bit is part of the key: an EDNS query is a different question.
  ask(forwarder, got, makeQuery("cached.example.org", 3, kA, true));
  CHECK(upstream.udpQueries() == 2);
}

TEST_CASE("a worker answers a cached name itself, with its client's ID and question") {
  FakeUpstream upstream(answerA({Rr{kA, 300, {192, 0, 2, 9}}}));
  Collector got;
  Forwarder forwarder(optionsFor({upstream.port()}), got.deliver());
  REQUIRE(forwarder.start().ok());
  Bytes query = makeQuery("Hot.Example.org", 7);
  wire::QueryView q;
  REQUIRE(wire::parseQuery(query.data(), query.size(), q) == wire::ParseStatus::Ok);
  uint8_t out[1232];
  CHECK(forwarder.answerFromCache(q, query.data(), query.size(), out, sizeof out) == 0);  // not yet
  ask(forwarder, got, query);
  Bytes again = makeQuery("HOT.example.ORG", 8);
  REQUIRE(wire::parseQuery(again.data(), again.size(), q) == wire::ParseStatus::Ok);
  size_t size = forwarder.answerFromCache(q, again.data(), again.size(), out, sizeof out);
  REQUIRE(size > 0);
  Seen s = see(Bytes(out, out + size));
  CHECK(s.id == 8);
  CHECK(s.qname == "HOT.example.ORG.");
  CHECK(s.answers == 1);
  CHECK(upstream.udpQueries() == 1);
  CHECK(forwarder.stats().cache_hits == 1);
  // A reply larger than the client's limit is left to the forwarder, which cuts it.
  CHECK(forwarder.answerFromCache(q, again.data(), again.size(), out, 20) == 0);
}

TEST_CASE("a popular entry near its end is fetched again before it expires (prefetch)") {
  FakeUpstream upstream(answerA({Rr{kA, 2, {192, 0, 2, 10}}}));
  Collector got;
  Forwarder forwarder(optionsFor({upstream.port()}), got.deliver());
  REQUIRE(forwarder.start().ok());
  Bytes query = makeQuery("popular.example.org", 1);
  wire::QueryView q;
  REQUIRE(wire::parseQuery(query.data(), query.size(), q) == wire::ParseStatus::Ok);
  uint8_t out[1232];
  ask(forwarder, got, query);
  CHECK(forwarder.answerFromCache(q, query.data(), query.size(), out, sizeof out) > 0);
  std::this_thread::sleep_for(1100ms);  // one second of two left: the last tenth, at least 1 s
  CHECK(forwarder.answerFromCache(q, query.data(), query.size(), out, sizeof out) > 0);
  for (int i = 0; i < 100 && upstream.udpQueries() < 2; ++i) std::this_thread::sleep_for(10ms);
  CHECK(upstream.udpQueries() == 2);  // fetched again, in the background
  CHECK(forwarder.stats().prefetches == 1);
  CHECK(got.count() == 1);  // and nobody got a reply for it
  std::this_thread::sleep_for(1100ms);  // past the first answer's end
  CHECK(forwarder.answerFromCache(q, query.data(), query.size(), out, sizeof out) > 0);
  CHECK(upstream.udpQueries() == 2);
}

TEST_CASE("identical questions in flight go upstream once, and every asker is answered") {
  std::atomic<int> asked{0};
  FakeUpstream upstream([&](const Bytes& q, bool) -> std::optional<Bytes> {
    ++asked;
    std::this_thread::sleep_for(100ms);  // long enough for the others to arrive
    return makeReply(q, 0, {Rr{kA, 300, {192, 0, 2, 5}}});
  });
  Collector got;
  Forwarder forwarder(optionsFor({upstream.port()}), got.deliver());
  REQUIRE(forwarder.start().ok());
  const char* names[] = {"slow.example.org", "SLOW.example.org", "slow.EXAMPLE.org"};
  for (uint16_t id = 0; id < 3; ++id) {
    Bytes q = makeQuery(names[id], static_cast<uint16_t>(100 + id));
    forwarder.submit(q.data(), q.size(), udpClient(4096, id));
  }
  std::set<uint16_t> ids;
  for (size_t i = 0; i < 3; ++i) {
    Seen s = see(got.wait(i).second);
    ids.insert(s.id);
    CHECK(s.answers == 1);
    CHECK(s.qname == std::string(names[s.id - 100]) + ".");  // each its own case
  }
  CHECK(ids == std::set<uint16_t>{100, 101, 102});
  CHECK(asked == 1);
  CHECK(forwarder.stats().coalesced == 2);
  CHECK(forwarder.stats().cache_misses == 1);
}

TEST_CASE("NXDOMAIN with an SOA is cached, SERVFAIL from upstream is passed on and not cached") {
  FakeUpstream upstream([](const Bytes& q, bool) -> std::optional<Bytes> {
    if (qnameOf(q) == "nx.example.org.") return makeReply(q, 3, {}, {soa(3600, 60)});
    return makeReply(q, 2, {});
  });
  Collector got;
  Forwarder forwarder(optionsFor({upstream.port()}), got.deliver());
  REQUIRE(forwarder.start().ok());
  CHECK(ask(forwarder, got, makeQuery("nx.example.org", 1)).rcode == 3);
  Seen again = ask(forwarder, got, makeQuery("nx.example.org", 2));
  CHECK(again.rcode == 3);
  REQUIRE(again.ttls.size() == 1);
  CHECK(again.ttls[0] <= 60);  // the SOA's TTL is capped at the negative lifetime
  CHECK(upstream.udpQueries() == 1);
  CHECK(ask(forwarder, got, makeQuery("broken.example.org", 3)).rcode == 2);
  CHECK(ask(forwarder, got, makeQuery("broken.example.org", 4)).rcode == 2);
  CHECK(upstream.udpQueries() == 3);
  CHECK(forwarder.stats().failures == 0);  // an upstream's SERVFAIL is its answer, not ours
}

TEST_CASE("a truncated UDP reply is asked again over TCP and the full answer arrives") {
  FakeUpstream upstream([](const Bytes& q, bool tcp) {
    return tcp ? makeReply(q, 0, manyA(3)) : makeReply(q, 0, {}, {}, true);
  });
  Collector got;
  Forwarder forwarder(optionsFor({upstream.port()}), got.deliver());
  REQUIRE(forwarder.start().ok());
  Seen s = ask(forwarder, got, makeQuery("big.example.org", 9));
  CHECK_FALSE(s.tc);
  CHECK(s.answers == 3);
  CHECK(s.id == 9);
  CHECK(upstream.udpQueries() == 1);
  CHECK(upstream.tcpQueries() == 1);
}

TEST_CASE("a dead first upstream fails over to the second") {
  BlackHole dead;
  FakeUpstream upstream(answerA());
  Collector got;
  Forwarder forwarder(optionsFor({dead.port, upstream.port()}), got.deliver());
  REQUIRE(forwarder.start().ok());
  auto begin = std::chrono::steady_clock::now();
  Seen s = ask(forwarder, got, makeQuery("failover.example.org", 5));
  CHECK(s.rcode == 0);
  CHECK(s.answers == 1);
  CHECK(std::chrono::steady_clock::now() - begin < 1s);
  CHECK(upstream.udpQueries() == 1);
}

TEST_CASE("when every upstream fails the client gets SERVFAIL with its ID and question") {
  BlackHole dead;
  Collector got;
  Forwarder forwarder(optionsFor({dead.port, closedPort()}, 1), got.deliver());
  REQUIRE(forwarder.start().ok());
  Seen s = ask(forwarder, got, makeQuery("Nowhere.example.org", 0x4242, kA, true));
  CHECK(s.id == 0x4242);
  CHECK(s.rcode == 2);
  CHECK(s.qr);
  CHECK(s.ra);
  CHECK(s.qname == "Nowhere.example.org.");
  CHECK(s.answers == 0);
  CHECK(s.additional == 1);  // the query had an OPT, so the reply has one
  CHECK(forwarder.stats().failures == 1);
}

TEST_CASE("a reply larger than the client's UDP limit keeps the answers that fit, with TC") {
  FakeUpstream upstream(answerA(manyA(40)));  // 40 A records: about 700 bytes
  Collector got;
  Forwarder forwarder(optionsFor({upstream.port()}), got.deliver());
  REQUIRE(forwarder.start().ok());
  Seen small = ask(forwarder, got, makeQuery("wide.example.org", 1), udpClient(512));
  CHECK(small.tc);
  CHECK(small.answers > 0);
  CHECK(small.answers < 40);
  CHECK(small.id == 1);
  CHECK(small.size <= 512);
  // c-ares 1.18 without ARES_FLAG_EDNS takes a UDP reply over 512 bytes as truncated.
  CHECK(upstream.tcpQueries() == 1);
  Client tcp;
  tcp.tcp = true;
  Seen full = ask(forwarder, got, makeQuery("wide.example.org", 2), tcp);  // from the cache
  CHECK_FALSE(full.tc);
  CHECK(full.answers == 40);
  Seen big = ask(forwarder, got, makeQuery("wide.example.org", 3), udpClient(1232));
  CHECK(big.answers == 40);
}

TEST_CASE("garbage from an upstream is answered with SERVFAIL, never passed on") {
  FakeUpstream upstream([](const Bytes& q, bool) -> std::optional<Bytes> {
    Bytes r = makeReply(q, 0, {Rr{}});
    if (qnameOf(q) == "short.example.org.")
      r.erase(r.end() - 3, r.end());                                   // the RR runs off the end
    if (qnameOf(q) == "label.example.org.") r[questionEnd(q)] = 0x40;  // reserved label type
    return r;
  });
  Collector got;
  Forwarder forwarder(optionsFor({upstream.port()}), got.deliver());
  REQUIRE(forwarder.start().ok());
  CHECK(ask(forwarder, got, makeQuery("short.example.org", 1)).rcode == 2);
  CHECK(ask(forwarder, got, makeQuery("label.example.org", 2)).rcode == 2);
  CHECK(forwarder.stats().failures == 2);
}

TEST_CASE("the loop probe goes to every upstream and is recognised when it comes back") {
  FakeUpstream first(answerA()), second(answerA());
  Collector got;
  Forwarder forwarder(optionsFor({first.port(), second.port()}), got.deliver());
  std::string probe = forwarder.loopProbeName();
  CHECK(probe.ends_with(".dnsd-loop-probe."));
  REQUIRE(forwarder.start().ok());
  for (int i = 0; i < 100 && (first.probes().empty() || second.probes().empty()); ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(first.probes() == std::vector<std::string>{probe});
  CHECK(second.probes() == std::vector<std::string>{probe});
  CHECK_FALSE(forwarder.loopDetected());
  // An upstream forwarded it back to us: answered, not forwarded again.
  Seen s = ask(forwarder, got, makeQuery(probe.substr(0, probe.size() - 1), 7, kHinfo));
  CHECK(s.rcode == 2);
  CHECK(forwarder.loopDetected());
  CHECK(first.seen().empty());
}

TEST_CASE("queries from many worker threads all get their answers") {
  FakeUpstream upstream(answerA());
  Collector got;
  Forwarder forwarder(optionsFor({upstream.port()}), got.deliver());
  REQUIRE(forwarder.start().ok());
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) {
        Bytes q = makeQuery("n" + std::to_string(i % 10) + ".w" + std::to_string(w) + ".example",
                            static_cast<uint16_t>(w * 100 + i));
        forwarder.submit(q.data(), q.size(), udpClient(4096, w));
      }
    });
  }
  for (auto& t : workers) t.join();
  got.wait(199);
  CHECK(forwarder.stats().requests == 200);
  // Each query is a hit, a miss sent upstream, or joined an identical one in flight.
  auto stats = forwarder.stats();
  CHECK(stats.cache_hits + stats.cache_misses + stats.coalesced == 200);
  CHECK(stats.cache_misses == 40);  // 40 distinct names, each sent once
}

TEST_CASE("a forward zone sends its names to its own upstreams, the longest domain first") {
  FakeUpstream general(answerA()), consul(answerA()), deeper(answerA());
  Collector got;
  Options options = optionsFor({general.port()});
  options.zones.push_back(
      {"consul.local", {Upstream{*base::IpAddress::parse("127.0.0.1"), consul.port()}}});
  options.zones.push_back(
      {"dc1.Consul.local.", {Upstream{*base::IpAddress::parse("127.0.0.1"), deeper.port()}}});
  Forwarder forwarder(options, got.deliver());
  REQUIRE(forwarder.start().ok());
  ask(forwarder, got, makeQuery("web.service.consul.local", 1));
  ask(forwarder, got, makeQuery("CONSUL.local", 2));
  ask(forwarder, got, makeQuery("db.dc1.consul.local", 3));
  ask(forwarder, got, makeQuery("notconsul.local", 4));  // not on a label boundary
  ask(forwarder, got, makeQuery("example.org", 5));
  CHECK(consul.seen() == std::vector<std::string>{"web.service.consul.local.", "CONSUL.local."});
  CHECK(deeper.seen() == std::vector<std::string>{"db.dc1.consul.local."});
  CHECK(general.seen() == std::vector<std::string>{"notconsul.local.", "example.org."});
}

TEST_CASE("with forward zones alone, other names are refused") {
  FakeUpstream consul(answerA());
  Collector got;
  Options options;
  options.timeout_ms = 200;
  options.zones.push_back(
      {"consul.local", {Upstream{*base::IpAddress::parse("127.0.0.1"), consul.port()}}});
  Forwarder forwarder(options, got.deliver());
  REQUIRE(forwarder.start().ok());
  CHECK(ask(forwarder, got, makeQuery("x.consul.local", 1)).rcode == 0);
  CHECK(ask(forwarder, got, makeQuery("example.org", 2)).rcode == 5);  // REFUSED
}

TEST_CASE("with serve-stale, a dead upstream's expired answer is served with TTL 30") {
  std::atomic<bool> alive{true};
  FakeUpstream upstream([&](const Bytes& q, bool) -> std::optional<Bytes> {
    if (!alive) return std::nullopt;
    return makeReply(q, 0, {Rr{kA, 1, {192, 0, 2, 8}}});
  });
  Collector got;
  Options options = optionsFor({upstream.port()}, 1);
  options.serve_stale = 3600;
  Forwarder forwarder(options, got.deliver());
  REQUIRE(forwarder.start().ok());
  CHECK(ask(forwarder, got, makeQuery("stale.example.org", 1)).answers == 1);
  alive = false;
  std::this_thread::sleep_for(1100ms);  // the answer's TTL of 1 s has passed
  Seen s = ask(forwarder, got, makeQuery("stale.example.org", 2));
  CHECK(s.rcode == 0);
  CHECK(s.answers == 1);
  REQUIRE(s.ttls.size() == 1);
  CHECK(s.ttls[0] == 30);
  CHECK(forwarder.stats().stale == 1);
  // A name never answered has nothing stale to give: SERVFAIL.
  CHECK(ask(forwarder, got, makeQuery("never.example.org", 3)).rcode == 2);
}

TEST_CASE("options without an upstream are refused at start") {
  Collector got;
  Forwarder forwarder(Options{}, got.deliver());
  auto status = forwarder.start();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().str() == "forwarder: no upstream");
}

// ---- Upstreams ----

TEST_CASE("upstream addresses parse with and without a port") {
  const std::pair<const char*, const char*> good[] = {
      {"8.8.8.8", "8.8.8.8:53"},
      {"8.8.8.8:5353", "8.8.8.8:5353"},
      {"[2001:db8::1]:53", "[2001:db8::1]:53"},
      {"[2001:db8::1]:5300", "[2001:db8::1]:5300"},
      {"[2001:db8::1]", "[2001:db8::1]:53"},
      {"2001:db8::1", "[2001:db8::1]:53"},
      {"::1", "[::1]:53"},
  };
  for (auto [input, canonical] : good) {
    auto text = input;  // REQUIRE_MESSAGE captures it: clang 14 cannot capture a binding
    auto u = parseUpstream(text);
    REQUIRE_MESSAGE(u, text);
    CHECK(u->str() == canonical);
    CHECK(parseUpstream(u->str()) == u);
  }
  for (const char* bad :
       {"", "8.8.8.8:", "8.8.8.8:0", "8.8.8.8:65536", "8.8.8.8:53x", "dns.google", "[8.8.8.8]:53",
        "[2001:db8::1", "[2001:db8::1]53", "fe80::1%eth0", "8.8.8", "8.8.8.8:-1", " 8.8.8.8"}) {
    CHECK_MESSAGE(!parseUpstream(bad), bad);
  }
}

TEST_CASE("resolv.conf nameserver lines become upstreams in order") {
  char path[] = "/tmp/dnsd-forward-resolv-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::string text =
      "# comment\nsearch default.svc.cluster.local svc.cluster.local\n"
      "nameserver 10.0.0.10\n; other comment\nnameserver   2001:db8::53  # trailing\n"
      "nameserver fe80::1%eth0\noptions ndots:5\nnameserver\nnameserver 192.0.2.1\n";
  REQUIRE(write(fd, text.data(), text.size()) == ssize_t(text.size()));
  close(fd);
  auto ups = upstreamsFromResolvConf(path);
  REQUIRE(ups.ok());
  REQUIRE(ups->size() == 3);
  CHECK((*ups)[0].str() == "10.0.0.10:53");
  CHECK((*ups)[1].str() == "[2001:db8::53]:53");
  CHECK((*ups)[2].str() == "192.0.2.1:53");
  unlink(path);
  auto missing = upstreamsFromResolvConf(path);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().where == path);
}

TEST_CASE("an upstream that is one of our listen addresses is recognised") {
  auto ip = [](const char* t) { return *base::IpAddress::parse(t); };
  auto up = [](const char* t) { return *parseUpstream(t); };
  CHECK(sameEndpoint(up("127.0.0.1:53"), ip("127.0.0.1"), 53));
  CHECK_FALSE(sameEndpoint(up("127.0.0.1:53"), ip("127.0.0.1"), 5353));
  CHECK(sameEndpoint(up("127.0.0.53"), ip("0.0.0.0"), 53));  // wildcard takes loopback
  CHECK(sameEndpoint(up("127.0.0.53"), ip("::"), 53));       // dual-stack wildcard
  CHECK(sameEndpoint(up("[::1]:53"), ip("::"), 53));
  CHECK_FALSE(sameEndpoint(up("[::1]:53"), ip("0.0.0.0"), 53));
  CHECK_FALSE(sameEndpoint(up("8.8.8.8"), ip("0.0.0.0"), 53));
  CHECK_FALSE(sameEndpoint(up("127.0.0.1"), ip("10.0.0.1"), 53));
  CHECK(sameEndpoint(up("10.0.0.1"), ip("10.0.0.1"), 53));
}

}  // namespace
}  // namespace dnsd::forward
