// Zones read from RFC 1035 zone files (--zone-file), served beside the cluster zone as
// CoreDNS's `file` plugin does: stub zones for internal domains.
#pragma once

#include "dnsd/zone/records.h"
#include "dnsd/zonefile/load.h"

namespace dnsd::zone {

ZoneContent fromZoneFile(const zonefile::Zone& file);

}  // namespace dnsd::zone
