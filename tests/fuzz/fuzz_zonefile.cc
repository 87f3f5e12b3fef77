// libFuzzer target: zone-file text → zonefile::parse (ldns underneath) and, when it reads,
// zone::fromZoneFile → zone::buildSnapshot, as the loader serves a --zone-file. Nothing may
// crash or hang; an accepted zone keeps the promises of zonefile/load.h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dnsd/zone/snapshot.h"
#include "dnsd/zone/static_zone.h"
#include "dnsd/zonefile/load.h"
#include "tests/fuzz/fail.h"

using namespace dnsd;
using fuzz::fail;

namespace {

constexpr size_t kMaxInput = 64 * 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInput) return -1;
  // The origin varies with the input: none (the SOA owner is the apex) or a fixed one.
  const char* origin = size % 2 ? "" : "example.org.";
  auto zone = zonefile::parse(std::string_view(reinterpret_cast<const char*>(data), size),
                              "fuzz.zone", origin);
  if (!zone) {
    if (zone.error().message.empty()) fail("parse error without a message");
    return 0;
  }
  bool soa = false;
  for (const auto& rr : zone->records) {
    if (!rr.owner.isSubdomainOf(zone->apex)) fail("a record outside the zone");
    soa |= rr.type == 6 && rr.owner == zone->apex;
  }
  if (!soa) fail("a zone without an SOA at its apex");
  auto snapshot = zone::buildSnapshot({zone::fromZoneFile(*zone)}, 1);
  if (!snapshot && snapshot.error().message.empty()) fail("build error without a message");
  return 0;
}
