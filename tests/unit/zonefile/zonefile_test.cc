// zonefile::load and parse: the example zone, the wire form of rdata, TTL and origin
// defaults, and the errors users see for broken zone files (file, line, what is wrong).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include "dnsd/wire/dns.h"
#include "dnsd/zonefile/load.h"

namespace dnsd::zonefile {
namespace {

namespace fs = std::filesystem;
namespace type = wire::type;

// The repository root: from __FILE__ when meson passed an absolute path or one relative to
// the directory the test runs in, else the first parent of the working directory with zones/.
fs::path repoRoot() {
  const fs::path marker = "zones/example.internal.zone";
  const fs::path from_source = fs::path(__FILE__).parent_path() / "../../..";
  if (fs::exists(from_source / marker)) return from_source;
  for (fs::path dir = fs::current_path(); !dir.empty(); dir = dir.parent_path()) {
    if (fs::exists(dir / marker)) return dir;
    if (dir == dir.parent_path()) break;
  }
  FAIL("cannot find the repository root from " << __FILE__);
  return {};
}

Zone loadOk(const fs::path& path, const std::string& origin = "") {
  auto zone = load(path.string(), origin);
  REQUIRE_MESSAGE(zone.ok(), (zone.ok() ? "" : zone.error().str()));
  return *zone;
}

Zone parseOk(const std::string& text, const std::string& origin = "") {
  auto zone = parse(text, "t.zone", origin);
  REQUIRE_MESSAGE(zone.ok(), (zone.ok() ? "" : zone.error().str()));
  return *zone;
}

base::Error parseError(const std::string& text, const std::string& origin = "") {
  auto zone = parse(text, "t.zone", origin);
  REQUIRE_FALSE(zone.ok());
  return zone.error();
}

wire::Name name(const std::string& text) { return *wire::Name::parse(text); }

std::vector<Rr> find(const Zone& zone, const std::string& owner, uint16_t rr_type) {
  std::vector<Rr> out;
  for (const Rr& rr : zone.records)
    if (rr.owner == name(owner) && rr.type == rr_type) out.push_back(rr);
  return out;
}

Rr findOne(const Zone& zone, const std::string& owner, uint16_t rr_type) {
  auto found = find(zone, owner, rr_type);
  REQUIRE_MESSAGE(found.size() == 1, owner << " type " << rr_type);
  return found[0];
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

size_t countType(const Zone& zone, uint16_t rr_type) {
  return static_cast<size_t>(std::count_if(zone.records.begin(), zone.records.end(),
                                           [&](const Rr& rr) { return rr.type == rr_type; }));
}

const std::string kSoa = "@ IN SOA ns1 hostmaster 1 7200 900 1209600 300\n";

TEST_CASE("the example zone loads with its apex and every record") {
  const Zone zone = loadOk(repoRoot() / "zones/example.internal.zone");
  CHECK(zone.apex.text() == "corp.internal.");
  CHECK(zone.records.size() == 14);
  CHECK(countType(zone, type::SOA) == 1);
  CHECK(countType(zone, type::NS) == 2);
  CHECK(countType(zone, type::A) == 6);
  CHECK(countType(zone, type::AAAA) == 1);
  CHECK(countType(zone, type::CNAME) == 1);
  CHECK(countType(zone, type::MX) == 1);
  CHECK(countType(zone, type::TXT) == 1);
  CHECK(countType(zone, type::SRV) == 1);
  for (const Rr& rr : zone.records) CHECK(rr.owner.isSubdomainOf(zone.apex));
}

TEST_CASE("an A record's rdata is the four address bytes and an AAAA's the sixteen") {
  const Zone zone = loadOk(repoRoot() / "zones/example.internal.zone");
  const Rr a = findOne(zone, "ns1.corp.internal", type::A);
  CHECK(a.rdata == bytes({10, 10, 0, 53}));
  CHECK_FALSE(a.target.has_value());
  const Rr aaaa = findOne(zone, "www.corp.internal", type::AAAA);
  CHECK(aaaa.rdata == bytes({0xfd, 0, 0, 0x10, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}));
}

TEST_CASE("a CNAME's target is the absolute name it points to and its rdata that name") {
  const Zone zone = loadOk(repoRoot() / "zones/example.internal.zone");
  const Rr cname = findOne(zone, "intranet.corp.internal", type::CNAME);
  REQUIRE(cname.target.has_value());
  CHECK(cname.target->text() == "www.corp.internal.");
  CHECK(cname.rdata == cname.target->wire());
}

TEST_CASE("an MX's target is its exchange, after the preference") {
  const Zone zone = loadOk(repoRoot() / "zones/example.internal.zone");
  const Rr mx = findOne(zone, "corp.internal", type::MX);
  REQUIRE(mx.target.has_value());
  CHECK(mx.target->text() == "mail.corp.internal.");
  CHECK(mx.rdata == bytes({0, 10}) + name("mail.corp.internal").wire());
}

TEST_CASE("an SRV's target is its last field, after priority, weight and port") {
  const Zone zone = loadOk(repoRoot() / "zones/example.internal.zone");
  const Rr srv = findOne(zone, "_ldap._tcp.corp.internal", type::SRV);
  REQUIRE(srv.target.has_value());
  CHECK(srv.target->text() == "ldap.corp.internal.");
  CHECK(srv.rdata == bytes({0, 0, 0, 100, 389 >> 8, 389 & 0xff}) + srv.target->wire());
}

TEST_CASE("NS, SOA and TXT records carry the rdata RFC 1035 gives them") {
  const Zone zone = loadOk(repoRoot() / "zones/example.internal.zone");
  auto ns = find(zone, "corp.internal", type::NS);
  REQUIRE(ns.size() == 2);
  CHECK(ns[0].target->text() == "ns1.corp.internal.");
  CHECK(ns[1].target->text() == "ns2.corp.internal.");
  const Rr soa = findOne(zone, "corp.internal", type::SOA);
  CHECK_FALSE(soa.target.has_value());
  CHECK(soa.rdata.substr(0, 19) == name("ns1.corp.internal").wire());
  CHECK(soa.rdata.size() == 19 + 26 + 20);  // mname, rname, five 32-bit fields
  CHECK(soa.rdata.substr(soa.rdata.size() - 4) == bytes({0, 0, 1, 44}));  // minimum 300
  const Rr txt = findOne(zone, "corp.internal", type::TXT);
  CHECK(txt.rdata == std::string("\x0ev=spf1 mx -all"));
}

TEST_CASE("records without a TTL take $TTL and records with one keep it") {
  const Zone zone = loadOk(repoRoot() / "zones/example.internal.zone");
  CHECK(findOne(zone, "ns1.corp.internal", type::A).ttl == 3600);
  CHECK(findOne(zone, "corp.internal", type::SOA).ttl == 3600);
  for (const Rr& rr : find(zone, "www.corp.internal", type::A)) CHECK(rr.ttl == 300);
  CHECK(findOne(zone, "www.corp.internal", type::AAAA).ttl == 300);
}

TEST_CASE("relative names follow $ORIGIN and a blank owner repeats the last one") {
  const Zone zone = loadOk(repoRoot() / "zones/example.internal.zone");
  CHECK(find(zone, "www.corp.internal", type::A).size() == 2);
  CHECK(find(zone, "corp.internal", type::NS).size() == 2);
  CHECK(findOne(zone, "ldap.corp.internal", type::A).rdata == bytes({10, 10, 4, 1}));
}

TEST_CASE("without $TTL a record takes the last TTL written (RFC 1035 §5.1)") {
  const Zone zone = parseOk(
      "$ORIGIN corp.internal.\n@ 600 IN SOA ns1 hostmaster 1 2 3 4 5\n"
      "  IN NS ns1\nns1 60 IN A 10.0.0.1\nweb IN A 10.0.0.2\n");
  CHECK(findOne(zone, "corp.internal", type::NS).ttl == 600);
  CHECK(findOne(zone, "web.corp.internal", type::A).ttl == 60);
}

TEST_CASE("an SOA without any TTL takes its MINIMUM field") {
  const Zone zone = parseOk("$ORIGIN corp.internal.\n" + kSoa);
  CHECK(findOne(zone, "corp.internal", type::SOA).ttl == 300);
}

TEST_CASE("names in CNAME, NS, MX, SRV and SOA rdata are lowercased and TXT keeps its case") {
  const Zone zone = parseOk(
      "$ORIGIN Corp.Internal.\n$TTL 60\n@ IN SOA NS1 HostMaster 1 2 3 4 5\n  IN NS "
      "NS1.Corp.Internal.\n"
      "Web IN CNAME WWW\n"
      "@ IN MX 5 Mail\n_x._tcp IN SRV 1 2 3 LDAP\nMixed IN TXT \"Case Kept\"\n");
  CHECK(zone.apex.text() == "corp.internal.");
  CHECK(findOne(zone, "corp.internal", type::SOA).rdata.substr(0, 19) ==
        name("ns1.corp.internal").wire());
  CHECK(findOne(zone, "corp.internal", type::NS).rdata == name("ns1.corp.internal").wire());
  CHECK(findOne(zone, "corp.internal", type::MX).target->text() == "mail.corp.internal.");
  CHECK(findOne(zone, "_x._tcp.corp.internal", type::SRV).target->text() == "ldap.corp.internal.");
  CHECK(findOne(zone, "mixed.corp.internal", type::TXT).rdata == std::string("\tCase Kept"));
}

TEST_CASE("a type dnsd does not know is kept as its rdata bytes") {
  const Zone zone = parseOk("$ORIGIN corp.internal.\n$TTL 60\n" + kSoa +
                            "blob IN TYPE65000 \\# 3 ABCDEF\n"
                            "host IN HINFO \"Intel\" \"Linux\"\n");
  const Rr blob = findOne(zone, "blob.corp.internal", 65000);
  CHECK(blob.rdata == bytes({0xab, 0xcd, 0xef}));
  CHECK_FALSE(blob.target.has_value());
  CHECK(findOne(zone, "host.corp.internal", 13).rdata == std::string("\x05Intel\x05Linux"));
}

TEST_CASE("without $ORIGIN the SOA owner is the apex and later relative names follow it") {
  const Zone zone = parseOk(
      "$TTL 60\ncorp.internal. IN SOA ns1 hostmaster 1 2 3 4 5\n"
      "www IN A 10.0.0.1\n");
  CHECK(zone.apex.text() == "corp.internal.");
  CHECK(findOne(zone, "www.corp.internal", type::A).rdata == bytes({10, 0, 0, 1}));
}

TEST_CASE("an origin argument sets the apex and what relative names are relative to") {
  const Zone zone = parseOk("$TTL 60\n" + kSoa + "www IN A 10.0.0.1\n", "Corp.Internal");
  CHECK(zone.apex.text() == "corp.internal.");
  CHECK(findOne(zone, "corp.internal", type::SOA).rdata.substr(0, 19) ==
        name("ns1.corp.internal").wire());
  CHECK(find(zone, "www.corp.internal", type::A).size() == 1);
}

TEST_CASE("an RRset takes the TTL of its first RR and exact duplicates are dropped") {
  const Zone zone = parseOk("$ORIGIN corp.internal.\n$TTL 60\n" + kSoa +
                            "www 30 IN A 10.0.0.1\nwww 90 IN A 10.0.0.2\nwww IN A 10.0.0.1\n");
  auto a = find(zone, "www.corp.internal", type::A);
  REQUIRE(a.size() == 2);
  CHECK(a[0].ttl == 30);
  CHECK(a[1].ttl == 30);
}

TEST_CASE("a file that does not exist is an error naming the file") {
  auto zone = load("/nonexistent/dir/x.zone");
  REQUIRE_FALSE(zone.ok());
  CHECK(zone.error().where == "/nonexistent/dir/x.zone");
  CHECK(zone.error().message == "cannot open zone file (No such file or directory)");
}

TEST_CASE("each broken zone file names the line and what is wrong") {
  struct Case {
    std::string file;
    int line;  // 0: the error names the file only
    std::string message;
  };
  const std::vector<Case> cases = {
      {"syntax.zone", 8, "syntax error (ldns: Syntax error, could not parse the RR's rdata)"},
      {"no-soa.zone", 0, "no SOA record (a zone file needs the SOA of its apex)"},
      {"out-of-zone.zone", 6,
       "www.example.com. is outside the zone corp.internal. (out-of-zone data)"},
      {"cname-and-other.zone", 7,
       "www.corp.internal. has a CNAME and other data (RFC 1034 §3.6.2)"},
      {"class-chaos.zone", 5, "class CH is not supported (only IN)"},
      {"include.zone", 4, "$INCLUDE is not supported (put the records in this file)"},
      {"no-ttl.zone", 3, "no TTL (add a $TTL line or a TTL to the first record)"},
      {"second-soa.zone", 5, "a second SOA at the apex"},
  };
  const fs::path dir = repoRoot() / "tests/data/zonefile";
  for (const Case& c : cases) {
    CAPTURE(c.file);
    const std::string path = (dir / c.file).string();
    auto zone = load(path);
    REQUIRE_FALSE(zone.ok());
    CHECK(zone.error().where == (c.line ? path + ":" + std::to_string(c.line) : path));
    CHECK(zone.error().message == c.message);
  }
}

TEST_CASE("a syntax error in a record over several lines names the line it starts on") {
  const base::Error error = parseError(
      "$ORIGIN corp.internal.\n$TTL 60\n\n; the SOA\n"
      "@ IN SOA ns1 hostmaster (\n 1 2 3\n 4 x5 )\n");
  CHECK(error.where == "t.zone:5");
  CHECK(error.message.rfind("syntax error (ldns: ", 0) == 0);
}

TEST_CASE("a second, different CNAME at one name is an error") {
  const base::Error error =
      parseError("$ORIGIN corp.internal.\n$TTL 60\n" + kSoa + "www IN CNAME a\nwww IN CNAME b\n");
  CHECK(error.str() == "t.zone:5: www.corp.internal. has more than one CNAME (RFC 2181 §10.1)");
}

TEST_CASE("a CNAME at the apex is data beside the SOA") {
  const base::Error error =
      parseError("$ORIGIN corp.internal.\n$TTL 60\n" + kSoa + "@ IN CNAME elsewhere.test.\n");
  CHECK(error.str() == "t.zone:4: corp.internal. has a CNAME and other data (RFC 1034 §3.6.2)");
}

TEST_CASE("an origin without an SOA in the file is an error naming the origin") {
  const base::Error error =
      parseError("$ORIGIN other.internal.\n$TTL 60\n" + kSoa, "corp.internal");
  CHECK(error.str() == "t.zone: no SOA at the apex corp.internal.");
}

TEST_CASE("an SOA below the apex is an error") {
  const base::Error error = parseError("$ORIGIN corp.internal.\n$TTL 60\n" + kSoa +
                                       "sub IN SOA ns1 hostmaster 1 2 3 4 5\n");
  CHECK(error.str() == "t.zone:4: SOA for sub.corp.internal. is not at the apex corp.internal.");
}

TEST_CASE("an empty file has no SOA") {
  CHECK(parseError("").str() == "t.zone: no SOA record (a zone file needs the SOA of its apex)");
  CHECK(parseError("; only a comment\n\n").message ==
        "no SOA record (a zone file needs the SOA of its apex)");
}

TEST_CASE("a file without a final newline still reads its last record") {
  const Zone zone = parseOk("$ORIGIN corp.internal.\n$TTL 60\n" + kSoa + "www IN A 10.0.0.1");
  CHECK(find(zone, "www.corp.internal", type::A).size() == 1);
}

// ldns joins a relative name to $ORIGIN without checking the length of the result. Found by
// fuzz_zonefile: an owner over 255 bytes reached the snapshot builder, whose one-byte name sizes
// cut it short.
TEST_CASE("a name over 255 bytes once $ORIGIN is added is an error naming its line") {
  std::string labels;  // 126 one-letter labels: 252 bytes, 267 with "corp.internal."
  for (int i = 0; i < 126; ++i) labels += "x.";
  labels.pop_back();
  const std::string head = "$ORIGIN corp.internal.\n$TTL 60\n" + kSoa;
  base::Error owner = parseError(head + labels + " IN A 10.0.0.1\n");
  CHECK(owner.where == "t.zone:4");
  CHECK(owner.message == "owner name longer than 255 bytes (RFC 1035 §2.3.4; check $ORIGIN)");
  base::Error target = parseError(head + "www IN CNAME " + labels + "\n");
  CHECK(target.where == "t.zone:4");
  CHECK(target.message ==
        "a name in the rdata is longer than 255 bytes (RFC 1035 §2.3.4; check $ORIGIN)");
  // The longest name that fits is kept.
  std::string fits;  // 120 labels: 240 bytes, 255 with the origin
  for (int i = 0; i < 120; ++i) fits += "x.";
  fits.pop_back();
  const Zone zone = parseOk(head + fits + " IN A 10.0.0.1\n");
  CHECK(countType(zone, type::A) == 1);
}

}  // namespace
}  // namespace dnsd::zonefile
