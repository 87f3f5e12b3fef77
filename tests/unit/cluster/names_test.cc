// isDnsLabel: the DNS-1123 label rule Kubernetes applies to names.
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

}  // namespace
}  // namespace dnsd::cluster
