// isDnsLabel, isDnsSubdomain and isSubdomainName: the DNS-1123 rules Kubernetes applies to
// names.
#include "dnsd/cluster/names.h"

#include <doctest/doctest.h>

#include <string>

namespace dnsd::cluster {
namespace {

TEST_CASE("DNS-1123 labels are lowercase alphanumerics and inner hyphens, 1 to 63 long") {
  for (const char* good : {"a", "0", "web", "web-0", "a--b", "123", "kube-system"}) {
    CAPTURE(good);
    CHECK(isDnsLabel(good));
  }
  CHECK(isDnsLabel(std::string(63, 'a')));
  for (const char* bad : {"", "-a", "a-", "Web", "a_b", "a.b", "a b", "\xc3\xa9"}) {
    CAPTURE(bad);
    CHECK_FALSE(isDnsLabel(bad));
  }
  CHECK_FALSE(isDnsLabel(std::string(64, 'a')));
}

TEST_CASE("DNS-1123 subdomains are labels joined by dots, 253 characters at most") {
  for (const char* good : {"a", "lb.example.com", "a1b2-c3.elb.us-east-1.amazonaws.com"}) {
    CAPTURE(good);
    CHECK(isDnsSubdomain(good));
  }
  for (const char* bad : {"", ".", "a.", ".a", "a..b", "LB.example.com", "a_b.com", "-a.b"}) {
    CAPTURE(bad);
    CHECK_FALSE(isDnsSubdomain(bad));
  }
  CHECK_FALSE(isDnsSubdomain(std::string(64, 'a') + ".com"));
  std::string longest;
  while (longest.size() + 2 <= 253) longest += longest.empty() ? "a" : ".a";
  CHECK(longest.size() == 253);
  CHECK(isDnsSubdomain(longest));
  CHECK_FALSE(isDnsSubdomain(longest + "a"));
}

TEST_CASE("a Pod's or EndpointSlice's name is a subdomain whose parts may pass 63 characters") {
  for (const char* good : {"web-0", "web.v2", "db-0.db", "a.b.c"}) {
    CAPTURE(good);
    CHECK(isSubdomainName(good));
  }
  CHECK(isSubdomainName(std::string(64, 'p')));
  CHECK(isSubdomainName(std::string(100, 'p') + ".v2"));
  CHECK(isSubdomainName(std::string(253, 'p')));
  for (const char* bad : {"", ".", "web.", ".web", "web..v2", "Web.v2", "web_0", "-web", "web-"}) {
    CAPTURE(bad);
    CHECK_FALSE(isSubdomainName(bad));
  }
  CHECK_FALSE(isSubdomainName(std::string(254, 'p')));
}

}  // namespace
}  // namespace dnsd::cluster
