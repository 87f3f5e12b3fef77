// wire::Name: building names label by label, as the record builder does.
#include "dnsd/wire/name.h"

#include <doctest/doctest.h>

#include <string>

namespace dnsd::wire {
namespace {

Name name(const char* text) { return *Name::parse(text); }

TEST_CASE("child prepends labels leftmost first, lowercased") {
  const Name domain = name("cluster.local");
  auto svc = domain.child({"Web", "prod", "svc"});
  REQUIRE(svc.has_value());
  CHECK(svc->text() == "web.prod.svc.cluster.local.");
  CHECK(*svc == *domain.child("svc")->child("prod")->child("web"));
  CHECK(svc->hash() == name("web.prod.svc.cluster.local").hash());
  CHECK(domain.child({"_HTTP", "_tcp"})->text() == "_http._tcp.cluster.local.");
}

TEST_CASE("child refuses an empty label, a label over 63 bytes, a name over 255") {
  const Name domain = name("cluster.local");
  CHECK_FALSE(domain.child({"web", ""}).has_value());
  CHECK_FALSE(domain.child({std::string(64, 'a')}).has_value());
  CHECK(domain.child({std::string(63, 'a')}).has_value());
  // cluster.local is 15 bytes of wire form: four labels of 1 + 60 bytes make 259, of
  // 1 + 59 exactly 255.
  const std::string label(60, 'x');
  CHECK_FALSE(domain.child({label, label, label, label}).has_value());
  const std::string shorter(59, 'x');
  CHECK(domain.child({shorter, shorter, shorter, shorter})->size() == 255);
}

TEST_CASE("appendChild adds child()'s bytes after what the string holds, or nothing") {
  const Name domain = name("cluster.local");
  std::string names = "\3abc";  // something already there stays
  REQUIRE(appendChild(names, {"Web", "prod"}, domain.wire()));
  CHECK(names == "\3abc" + domain.child({"web", "prod"})->wire());
  const std::string before = names;
  CHECK_FALSE(appendChild(names, {""}, domain.wire()));
  CHECK_FALSE(appendChild(names, {std::string(64, 'a')}, domain.wire()));
  const std::string label(60, 'x');
  CHECK_FALSE(appendChild(names, {label, label, label, label}, domain.wire()));
  CHECK(names == before);
}

}  // namespace
}  // namespace dnsd::wire
