// Reads the RRs of zone-file text one at a time through ldns, keeping what ldns's own zone
// reader (ldns_zone_new_frm_fp_l) loses: the line each RR starts on, and whether its TTL was
// written (for the RFC 2308 / RFC 1035 defaults). Syntax only; zone_checks.h judges the zone.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/zonefile/load.h"

namespace dnsd::zonefile {

struct SourceRr {
  Rr rr;
  uint16_t rr_class = 0;
  int line = 0;
};

// `origin` is the initial $ORIGIN in presentation form, or empty: then relative names follow
// $ORIGIN, else the owner of the first SOA (as ldns_zone_new_frm_fp_l does).
base::Result<std::vector<SourceRr>> readRecords(std::string_view text, const std::string& file,
                                                const std::string& origin);

}  // namespace dnsd::zonefile
