// Records in RFC 1035 presentation format, for `dnsd records` (a person reviews a change of
// manifests as a diff of this output) and for tests.
#pragma once

#include <string>
#include <vector>

#include "dnsd/zone/records.h"

namespace dnsd::zone {

// "web.default.svc.cluster.local. 5 IN A 10.96.0.20"; types dnsd does not know are written
// in the RFC 3597 form "\# 4 0a000001".
std::string recordText(const Record& record);

// Every record of the zones, one a line, sorted by zone, owner (canonical order), type, rdata.
std::string zonesText(const std::vector<ZoneContent>& zones);

}  // namespace dnsd::zone
