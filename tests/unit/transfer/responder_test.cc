// Zone transfers from snapshots: AXFR's messages (read back by ldns), IXFR's differences
// between snapshots, the journal's chain and its limits, and the answers to odd queries.
#include "dnsd/transfer/responder.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "dnsd/transfer/journal.h"
#include "dnsd/wire/dns.h"
#include "dnsd/zone/records.h"
#include "tests/support/dns_test_util.h"

namespace dnsd::transfer {
namespace {

wire::Name name(const std::string& text) { return *wire::Name::parse(text); }
const std::string kApex = name("cluster.local").wire();

// cluster.local with its SOA at `serial` and an A record for each of `hosts` ("web=10.0.0.1").
std::shared_ptr<const zone::Snapshot> snapshot(uint32_t serial,
                                               const std::vector<std::string>& hosts) {
  zone::ZoneContent z;
  z.apex = name("cluster.local");
  z.records.push_back(zone::soaRecord(z.apex, z.apex, 5, serial, 5));
  z.records.push_back(zone::nameRecord(z.apex, wire::type::NS, 5, name("ns.dns.cluster.local")));
  for (const auto& h : hosts) {
    auto eq = h.find('=');
    z.records.push_back(zone::addressRecord(name(h.substr(0, eq) + ".svc.cluster.local"), 5,
                                            *base::IpAddress::parse(h.substr(eq + 1))));
  }
  auto built = zone::buildSnapshot({std::move(z)}, serial);
  REQUIRE(built.ok());
  return *built;
}

// A transfer's messages, each parsed by ldns, answers in order.
struct Messages {
  std::vector<testing::Parsed> parsed;
  std::vector<std::string> answers() const {
    std::vector<std::string> out;
    for (const auto& p : parsed) out.insert(out.end(), p.answer.begin(), p.answer.end());
    return out;
  }
};

Messages run(const JournalState& state, const std::vector<uint8_t>& query, Summary* summary) {
  Messages m;
  *summary = respond(state, query.data(), query.size(), [&](const uint8_t* data, size_t size) {
    REQUIRE(size >= 2);
    CHECK(wire::load16(data) == size - 2);
    m.parsed.push_back(testing::parse(data + 2, size - 2, false));
    CHECK(m.parsed.back().ok);
    return true;
  });
  return m;
}

std::vector<uint8_t> ixfr(const std::string& zone, uint32_t serial, bool with_soa = true) {
  auto q = testing::makeQuery(zone, "IXFR");
  if (!with_soa) return q;
  q[9] = 1;  // NSCOUNT
  const uint8_t soa[] = {0xC0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0};
  q.insert(q.end(), soa, soa + sizeof soa);
  uint8_t numbers[20] = {};
  wire::store32(numbers, serial);
  q.insert(q.end(), numbers, numbers + 20);
  return q;
}

bool isSoa(const std::string& rr, uint32_t serial) {
  return rr.find(" SOA ") != std::string::npos &&
         rr.find(" " + std::to_string(serial) + " ") != std::string::npos;
}

TEST_CASE("AXFR: the SOA, every other record once, the SOA again; ldns reads each message") {
  std::vector<std::string> hosts;
  for (int i = 0; i < 3000; ++i)
    hosts.push_back("svc-" + std::to_string(i) + "=10.1." + std::to_string(i / 250) + "." +
                    std::to_string(i % 250));
  auto state = advance(nullptr, snapshot(7, hosts), {}, nullptr);
  Summary s;
  Messages m = run(*state, testing::makeQuery("Cluster.Local", "AXFR"), &s);
  CHECK(s.complete);
  CHECK(s.how == "AXFR");
  CHECK(m.parsed.size() > 3);  // 3,000 records do not fit one 16 KiB message
  for (const auto& p : m.parsed) {
    CHECK(p.rcode == 0);
    CHECK(p.aa);
    CHECK(p.id == 0x1234);
    CHECK(p.question == "Cluster.Local. AXFR");
  }
  auto answers = m.answers();
  REQUIRE(answers.size() == 3000 + 3);
  CHECK(isSoa(answers.front(), 7));
  CHECK(isSoa(answers.back(), 7));
  std::set<std::string> unique(answers.begin() + 1, answers.end() - 1);
  CHECK(unique.size() == 3001);
  CHECK(unique.count("svc-2999.svc.cluster.local. 5 IN A 10.1.11.249") == 1);
  CHECK(unique.count("cluster.local. 5 IN NS ns.dns.cluster.local.") == 1);
}

TEST_CASE("a diff holds what changed between two snapshots, not the SOA") {
  auto a = snapshot(1, {"web=10.0.0.1", "db=10.0.0.2", "old=10.0.0.3"});
  auto b = snapshot(2, {"web=10.0.0.9", "db=10.0.0.2", "new=10.0.0.4"});
  const auto na = zoneNodes(*a, 0), nb = zoneNodes(*b, 0);
  Diff d = diffZone(*a, 0, na, *b, 0, nb);
  CHECK(d.from == 1);
  CHECK(d.to == 2);
  CHECK(d.removed_count == 2);
  CHECK(d.added_count == 2);
  std::vector<std::string> removed, added;
  auto text = [](const Rr& rr) {
    return wire::Name::fromWire(std::string(reinterpret_cast<const char*>(rr.owner), rr.owner_size))
        .text();
  };
  forEachRr(d.removed, [&](const Rr& rr) { removed.push_back(text(rr)); });
  forEachRr(d.added, [&](const Rr& rr) { added.push_back(text(rr)); });
  CHECK(removed == std::vector<std::string>{"old.svc.cluster.local.", "web.svc.cluster.local."});
  CHECK(added == std::vector<std::string>{"new.svc.cluster.local.", "web.svc.cluster.local."});
  CHECK(diffZone(*a, 0, na, *a, 0, na).empty());
}

TEST_CASE("the journal chains diffs by serial and reports the zones that changed") {
  std::vector<int> changed;
  auto s1 = advance(nullptr, snapshot(1, {"web=10.0.0.1"}), {}, &changed);
  CHECK(changed == std::vector<int>{0});  // a first state: every zone is news
  changed.clear();
  auto s2 = advance(s1.get(), snapshot(2, {"web=10.0.0.2"}), {}, &changed);
  CHECK(changed == std::vector<int>{0});
  changed.clear();
  auto s3 = advance(s2.get(), snapshot(3, {"web=10.0.0.2"}), {}, &changed);
  CHECK(changed.empty());  // only the serial moved
  CHECK(s3->since(kApex, 1).size() == 2);
  CHECK(s3->since(kApex, 2).size() == 1);
  CHECK(s3->since(kApex, 0).empty());
  JournalLimits one;
  one.max_diffs = 1;
  auto short_memory = advance(s2.get(), snapshot(3, {"web=10.0.0.3"}), one, nullptr);
  CHECK(short_memory->since(kApex, 1).empty());
  CHECK(short_memory->since(kApex, 2).size() == 1);
  JournalLimits tiny;
  tiny.max_bytes = 10;
  CHECK(advance(s1.get(), snapshot(2, {}), tiny, nullptr)->since(kApex, 1).empty());
}

TEST_CASE("IXFR: the differences since the client's serial, RFC 1995 §4's sequence") {
  auto s1 = advance(nullptr, snapshot(1, {"web=10.0.0.1", "db=10.0.0.2"}), {}, nullptr);
  auto s2 = advance(s1.get(), snapshot(2, {"web=10.0.0.9", "db=10.0.0.2"}), {}, nullptr);
  auto s3 = advance(s2.get(), snapshot(3, {"web=10.0.0.9"}), {}, nullptr);
  Summary s;
  auto answers = run(*s3, ixfr("cluster.local", 1), &s).answers();
  CHECK(s.how == "IXFR");
  const std::vector<std::string> want = {
      "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 3 7200 1800 86400 5",
      "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5",
      "web.svc.cluster.local. 5 IN A 10.0.0.1",
      "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2 7200 1800 86400 5",
      "web.svc.cluster.local. 5 IN A 10.0.0.9",
      "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2 7200 1800 86400 5",
      "db.svc.cluster.local. 5 IN A 10.0.0.2",
      "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 3 7200 1800 86400 5",
      "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 3 7200 1800 86400 5",
  };
  CHECK(answers == want);

  answers = run(*s3, ixfr("cluster.local", 3), &s).answers();
  CHECK(s.how == "IXFR up to date");
  CHECK(answers.size() == 1);
  CHECK(isSoa(answers[0], 3));

  answers = run(*s3, ixfr("cluster.local", 1000), &s).answers();  // from the future
  CHECK(s.how == "IXFR up to date");
  CHECK(answers.size() == 1);
  CHECK(isSoa(answers[0], 3));

  answers = run(*s3, ixfr("cluster.local", 0xFFFFFFF0u), &s).answers();  // older, unknown
  CHECK(s.how == "IXFR as AXFR");
  REQUIRE(answers.size() == 4);  // SOA, NS, web's A, SOA
  CHECK(isSoa(answers.front(), 3));
  CHECK(isSoa(answers.back(), 3));
}

TEST_CASE("odd transfer queries get clear rcodes") {
  auto state = advance(nullptr, snapshot(1, {"web=10.0.0.1"}), {}, nullptr);
  Summary s;
  auto m = run(*state, ixfr("cluster.local", 1, false), &s);
  REQUIRE(m.parsed.size() == 1);
  CHECK(m.parsed[0].rcode == 1);  // IXFR without the client's SOA: FORMERR
  m = run(*state, testing::makeQuery("example.org", "AXFR"), &s);
  REQUIRE(m.parsed.size() == 1);
  CHECK(m.parsed[0].rcode == kRcodeNotAuth);  // RFC 5936 §2.2.1
  m = run(*state, testing::makeQuery("svc.cluster.local", "AXFR"), &s);
  REQUIRE(m.parsed.size() == 1);
  CHECK(m.parsed[0].rcode == kRcodeNotAuth);  // a name in the zone is not a zone
  auto refused = testing::makeQuery("cluster.local", "AXFR");
  uint8_t out[2 + 512];
  size_t n = errorResponse(refused.data(), refused.size(), 5, out);
  REQUIRE(n > 2);
  CHECK(testing::parse(out + 2, n - 2).rcode == 5);
  CHECK(isTransferQuery(refused.data(), refused.size()));
  auto a = testing::makeQuery("cluster.local", "A");
  CHECK_FALSE(isTransferQuery(a.data(), a.size()));
}

TEST_CASE("the serial of a secondary's SOA answer") {
  auto state = advance(nullptr, snapshot(42, {"web=10.0.0.1"}), {}, nullptr);
  auto q = ixfr("cluster.local", 42);  // answered with our SOA alone: an SOA answer
  std::vector<uint8_t> reply;
  respond(*state, q.data(), q.size(), [&](const uint8_t* data, size_t size) {
    reply.assign(data + 2, data + size);
    return true;
  });
  uint32_t serial = 0;
  CHECK(replySerial(reply.data(), reply.size(), 0x1234, serial));
  CHECK(serial == 42);
  CHECK_FALSE(replySerial(reply.data(), reply.size(), 0x4321, serial));      // another ID
  CHECK_FALSE(replySerial(reply.data(), reply.size() - 5, 0x1234, serial));  // cut short
  reply[3] = 5;
  CHECK_FALSE(replySerial(reply.data(), reply.size(), 0x1234, serial));  // REFUSED
}

TEST_CASE("a sink that fails stops the transfer") {
  std::vector<std::string> hosts;
  for (int i = 0; i < 2000; ++i) hosts.push_back("s" + std::to_string(i) + "=10.2.0.1");
  auto state = advance(nullptr, snapshot(1, hosts), {}, nullptr);
  auto q = testing::makeQuery("cluster.local", "AXFR");
  int calls = 0;
  Summary s = respond(*state, q.data(), q.size(), [&](const uint8_t*, size_t) {
    ++calls;
    return false;
  });
  CHECK_FALSE(s.complete);
  CHECK(calls == 1);
}

}  // namespace
}  // namespace dnsd::transfer
