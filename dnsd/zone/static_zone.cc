#include "dnsd/zone/static_zone.h"

namespace dnsd::zone {

ZoneContent fromZoneFile(const zonefile::Zone& file) {
  return ZoneContent{file.apex, file.records, {}, {}, 0, {}};
}

}  // namespace dnsd::zone
