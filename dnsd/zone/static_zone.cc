#include "dnsd/zone/static_zone.h"

namespace dnsd::zone {

ZoneContent fromZoneFile(const zonefile::Zone& file) {
  ZoneContent zone{file.apex, {}, {}, {}, 0, {}};
  zone.records.reserve(file.records.size());
  for (const auto& rr : file.records)
    zone.records.push_back(Record{rr.owner, rr.type, rr.ttl, rr.rdata, rr.target});
  return zone;
}

}  // namespace dnsd::zone
