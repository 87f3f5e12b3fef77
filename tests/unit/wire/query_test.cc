// Query parsing at every edge: the RFCs' answer for each malformed shape (table-driven).
#include "dnsd/wire/query.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dnsd/wire/name.h"
#include "tests/support/dns_test_util.h"

namespace {

using namespace dnsd;
using wire::ParseStatus;

std::vector<uint8_t> header(uint16_t qd, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0) {
  return {0xab, 0xcd, 0x01, 0x00, 0, static_cast<uint8_t>(qd), 0, static_cast<uint8_t>(an),
          0,    static_cast<uint8_t>(ns), 0, static_cast<uint8_t>(ar)};
}

void appendName(std::vector<uint8_t>& p, const std::vector<std::string>& labels) {
  for (const auto& l : labels) {
    p.push_back(static_cast<uint8_t>(l.size()));
    p.insert(p.end(), l.begin(), l.end());
  }
  p.push_back(0);
}

void appendQuestion(std::vector<uint8_t>& p, uint16_t type = 1, uint16_t cls = 1) {
  p.insert(p.end(), {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0,
                     static_cast<uint8_t>(cls)});
}

void appendOpt(std::vector<uint8_t>& p, uint16_t size, uint8_t version, bool dnssec_ok) {
  p.insert(p.end(), {0, 0, 41, static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size), 0,
                     version, static_cast<uint8_t>(dnssec_ok ? 0x80 : 0), 0, 0, 0});
}

std::vector<uint8_t> query(const std::vector<std::string>& labels) {
  auto p = header(1);
  appendName(p, labels);
  appendQuestion(p);
  return p;
}

ParseStatus parse(const std::vector<uint8_t>& p, wire::QueryView& q) {
  return wire::parseQuery(p.data(), p.size(), q);
}

}  // namespace

TEST_CASE("a query is parsed once: id, flags, lowercased name, suffix hashes, type, class") {
  auto p = testing::makeQuery("WeB.Default.svc.cluster.local.", "AAAA", {.id = 0x4242});
  wire::QueryView q;
  REQUIRE(parse(p, q) == ParseStatus::Ok);
  CHECK(q.id == 0x4242);
  CHECK(q.rd);
  CHECK(q.qtype == 28);
  CHECK(q.qclass == 1);
  CHECK(q.label_count == 5);
  auto name = *wire::Name::parse("web.default.svc.cluster.local");
  CHECK(std::string(reinterpret_cast<char*>(q.qname_lower), q.qname_size) == name.wire());
  CHECK(q.suffix_hash[0] == name.hash());
  CHECK(q.hashOfLast(2) == wire::Name::parse("cluster.local")->hash());
  CHECK(q.hashOfLast(0) == wire::kRootHash);
  CHECK_FALSE(q.has_edns);
  CHECK(q.udpLimit() == 512);
}

TEST_CASE("every byte value is lowercased as ASCII, at every offset of the name") {
  // Labels of every byte value 1..255 (a label may hold any byte), shifted through each
  // position of an eight-byte word: only 'A'..'Z' change.
  // Two queries per shift (a name holds at most 255 bytes): bytes 1..120, then 121..255.
  for (size_t run = 0; run < 16; ++run) {
    const size_t shift = run / 2;
    std::vector<std::string> labels{std::string(shift + 1, 'Q')};
    const int end = run % 2 ? 256 : 121;
    for (int first = run % 2 ? 121 : 1; first < end; first += 60) {
      std::string label;
      for (int c = first; c < first + 60 && c < end; ++c) label.push_back(static_cast<char>(c));
      labels.push_back(label);
    }
    wire::QueryView q;
    REQUIRE(parse(query(labels), q) == ParseStatus::Ok);
    std::vector<uint8_t> expected;
    appendName(expected, labels);
    for (uint8_t& c : expected) c = wire::toLower(c);
    CAPTURE(run);
    CHECK(std::vector<uint8_t>(q.qname_lower, q.qname_lower + q.qname_size) == expected);
  }
}

TEST_CASE("names of every length up to two words are lowercased whole") {
  // A name of 1..16 bytes before the root: shorter than a word, one word, a word and a tail.
  for (size_t letters = 1; letters <= 15; ++letters) {
    std::string label;
    for (size_t i = 0; i < letters; ++i) label.push_back(static_cast<char>(i % 2 ? 'a' + i : 'A' + i));
    wire::QueryView q;
    REQUIRE(parse(query({label}), q) == ParseStatus::Ok);
    std::vector<uint8_t> expected;
    appendName(expected, {label});
    for (uint8_t& c : expected) c = wire::toLower(c);
    CAPTURE(letters);
    CHECK(std::vector<uint8_t>(q.qname_lower, q.qname_lower + q.qname_size) == expected);
  }
}

TEST_CASE("EDNS: the client's size is honoured within 512..1232, version 1 is BADVERS") {
  struct Row {
    uint16_t size;
    uint8_t version;
    ParseStatus status;
    size_t limit;
  };
  for (auto row : {Row{4096, 0, ParseStatus::Ok, 1232}, Row{600, 0, ParseStatus::Ok, 600},
                   Row{100, 0, ParseStatus::Ok, 512}, Row{1232, 1, ParseStatus::BadVers, 1232}}) {
    auto p = header(1, 0, 0, 1);
    appendName(p, {"a", "cluster", "local"});
    appendQuestion(p);
    appendOpt(p, row.size, row.version, true);
    wire::QueryView q;
    CHECK(parse(p, q) == row.status);
    CHECK(q.has_edns);
    CHECK(q.do_bit);
    CHECK(q.udpLimit() == row.limit);
  }
}

TEST_CASE("malformed packets: each gets the answer RFC 1035 and 6891 call for") {
  struct Row {
    const char* what;
    std::vector<uint8_t> packet;
    ParseStatus status;
  };
  std::vector<Row> rows;
  rows.push_back({"empty", {}, ParseStatus::Drop});
  rows.push_back({"11-byte header", std::vector<uint8_t>(11, 0), ParseStatus::Drop});
  auto response = query({"a", "local"});
  response[2] |= 0x80;
  rows.push_back({"QR set: a response", response, ParseStatus::Drop});
  rows.push_back({"qdcount 0", header(0), ParseStatus::FormErr});
  auto two = query({"a"});
  two[5] = 2;
  rows.push_back({"qdcount 2", two, ParseStatus::FormErr});
  auto cut = query({"abc", "local"});
  cut.resize(cut.size() - 2);
  rows.push_back({"question cut short", cut, ParseStatus::FormErr});
  auto pointer = header(1);
  pointer.insert(pointer.end(), {0xC0, 0x0C});
  appendQuestion(pointer);
  rows.push_back({"compression loop in the question", pointer, ParseStatus::FormErr});
  rows.push_back({"label of 63 bytes", query({std::string(63, 'a'), "local"}), ParseStatus::Ok});
  rows.push_back({"label of 64 bytes", query({std::string(64, 'a'), "local"}),
                  ParseStatus::FormErr});
  // 4 labels of 63 + 1 byte each = 256, minus one label byte: 255 with the root.
  rows.push_back({"name of 255 bytes",
                  query({std::string(63, 'a'), std::string(63, 'b'), std::string(63, 'c'),
                         std::string(61, 'd')}),
                  ParseStatus::Ok});
  rows.push_back({"name of 256 bytes",
                  query({std::string(63, 'a'), std::string(63, 'b'), std::string(63, 'c'),
                         std::string(62, 'd')}),
                  ParseStatus::FormErr});
  rows.push_back({"127 one-byte labels (255 bytes)",
                  query(std::vector<std::string>(127, "a")), ParseStatus::Ok});
  rows.push_back({"128 one-byte labels (257 bytes)",
                  query(std::vector<std::string>(128, "a")), ParseStatus::FormErr});
  auto trailing = query({"a"});
  trailing.push_back(0);
  rows.push_back({"trailing garbage", trailing, ParseStatus::FormErr});
  auto answer = query({"a"});
  answer[7] = 1;
  rows.push_back({"an answer record in a query", answer, ParseStatus::FormErr});
  // RFC 1995 §3: an IXFR's authority section holds the client's SOA (owner a pointer to
  // the question); EDNS may follow it. Any other query with an authority record is malformed.
  auto ixfr = header(1, 0, 1, 1);
  appendName(ixfr, {"cluster", "local"});
  appendQuestion(ixfr, 251);
  ixfr.insert(ixfr.end(), {0xC0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0});
  ixfr.insert(ixfr.end(), 20, 0);
  appendOpt(ixfr, 1232, 0, false);
  rows.push_back({"IXFR with the client's SOA in the authority section", ixfr, ParseStatus::Ok});
  auto cut_soa = ixfr;
  cut_soa.resize(cut_soa.size() - 11 - 5);
  cut_soa[11] = 0;
  rows.push_back({"IXFR whose SOA is cut short", cut_soa, ParseStatus::FormErr});
  auto authority = ixfr;
  authority[12 + 15 + 1] = 1;  // the question type (after the 15-byte name): A
  rows.push_back({"an A query with an authority record", authority, ParseStatus::FormErr});
  auto two_opt = header(1, 0, 0, 2);
  appendName(two_opt, {"a"});
  appendQuestion(two_opt);
  appendOpt(two_opt, 1232, 0, false);
  appendOpt(two_opt, 1232, 0, false);
  rows.push_back({"two OPT records", two_opt, ParseStatus::FormErr});
  auto opt_owner = header(1, 0, 0, 1);
  appendName(opt_owner, {"a"});
  appendQuestion(opt_owner);
  opt_owner.insert(opt_owner.end(), {1, 'x'});
  appendOpt(opt_owner, 1232, 0, false);
  rows.push_back({"OPT not owned by the root", opt_owner, ParseStatus::FormErr});
  auto notimp = query({"a"});
  notimp[2] = (notimp[2] & 0x87) | (4 << 3);  // NOTIFY
  rows.push_back({"opcode NOTIFY", notimp, ParseStatus::NotImp});
  for (const auto& row : rows) {
    CAPTURE(row.what);
    wire::QueryView q;
    CHECK(parse(row.packet, q) == row.status);
  }
}

TEST_CASE("names convert between text and lowercase wire form") {
  auto n = *wire::Name::parse("Web.Default.SVC.cluster.local.");
  CHECK(n.text() == "web.default.svc.cluster.local.");
  CHECK(n.labelCount() == 5);
  CHECK(n.parent().text() == "default.svc.cluster.local.");
  CHECK(n.isSubdomainOf(*wire::Name::parse("cluster.local")));
  CHECK_FALSE(n.isSubdomainOf(*wire::Name::parse("ster.local")));
  CHECK(wire::Name::parse(".")->isRoot());
  CHECK_FALSE(wire::Name::parse("a..b"));
  CHECK_FALSE(wire::Name::parse(std::string(64, 'x') + ".local"));
  CHECK(wire::Name::parse(std::string(63, 'x') + ".local"));
}
