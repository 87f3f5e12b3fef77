#include "dnsd/zone/static_zone.h"

namespace dnsd::zone {

ZoneContent fromZoneFile(const zonefile::Zone& file) {
  ZoneContent zone{file.apex, {}, {}, {}, 0, {}};
  for (const auto& r : file.records) zone.records.push_back(r);
  return zone;
}

}  // namespace dnsd::zone
