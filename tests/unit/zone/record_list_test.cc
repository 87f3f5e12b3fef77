// zone::RecordList: records stored flat read back as they went in, owners and targets included.
#include "dnsd/zone/record_list.h"

#include <doctest/doctest.h>

#include <string>

#include "dnsd/wire/dns.h"
#include "dnsd/zone/records.h"

namespace dnsd::zone {
namespace {

wire::Name name(const char* text) { return *wire::Name::parse(text); }

std::string ownerOf(const RecordList::View& v) {
  return std::string(reinterpret_cast<const char*>(v.owner), v.owner_size);
}

TEST_CASE("records read back with owner, type, TTL, rdata and target") {
  RecordList list;
  const wire::Name web = name("web.prod.svc.cluster.local");
  const wire::Name srv_owner = name("_http._tcp.web.prod.svc.cluster.local");
  list.push_back(addressRecord(web, 5, *base::IpAddress::parse("10.0.0.1")));
  list.push_back(addressRecord(web, 5, *base::IpAddress::parse("fd00::1")));
  const std::string head("\0\0\0\x64\0\x50", 6);  // priority 0, weight 100, port 80
  list.add(srv_owner, wire::type::SRV, 30, head, &web);
  list.push_back(nameRecord(name("ext.prod.svc.cluster.local"), wire::type::CNAME, 7,
                            name("example.com")));
  REQUIRE(list.size() == 4);

  const RecordList::View a = list[0];
  CHECK(a.ownerIs(web));
  CHECK(a.type == wire::type::A);
  CHECK(a.ttl == 5);
  CHECK(a.rdataBytes() == std::string("\x0a\0\0\x01", 4));
  CHECK(a.target() == nullptr);
  CHECK(list[1].type == wire::type::AAAA);
  CHECK(list[1].rdata_size == 16);
  CHECK(ownerOf(list[1]) == web.wire());

  const RecordList::View srv = list[2];
  CHECK(srv.ownerIs(srv_owner));
  CHECK(srv.ttl == 30);
  CHECK(srv.rdataBytes() == head + web.wire());
  REQUIRE(srv.target() != nullptr);
  CHECK(srv.target_at == 6);

  const Record cname = list.record(3);
  CHECK(cname.owner == name("ext.prod.svc.cluster.local"));
  CHECK(cname.ttl == 7);
  CHECK(cname.rdata == name("example.com").wire());
  REQUIRE(cname.target.has_value());
  CHECK(*cname.target == name("example.com"));
  CHECK_FALSE(list.record(0).target.has_value());
}

TEST_CASE("a record whose rdata does not end with its target keeps its bytes, unlinked") {
  RecordList list;
  Record odd{name("x.cluster.local"), wire::type::MX, 5, std::string("\0\x0a", 2) + "junk",
             name("mail.cluster.local")};
  list.push_back(odd);
  CHECK(list[0].rdataBytes() == odd.rdata);
  CHECK(list[0].target() == nullptr);
}

}  // namespace
}  // namespace dnsd::zone
