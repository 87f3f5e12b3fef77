// What makes the RRs of a file a zone dnsd can serve: one SOA, at the apex; nothing outside
// the apex; class IN; no CNAME beside other data. Then RRsets as RFC 2181 §5 wants them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/wire/name.h"
#include "dnsd/zonefile/rr_reader.h"

namespace dnsd::zonefile {

// `origin` when given, else the owner of the first SOA.
base::Result<wire::Name> findApex(const std::vector<SourceRr>& records,
                                  const std::optional<wire::Name>& origin, const std::string& file);

// The first rule a record breaks, with its file and line.
base::Status checkRecords(const std::vector<SourceRr>& records, const wire::Name& apex,
                          const std::string& file);

// Drops exact duplicates and gives every RR of an RRset the TTL of its first RR.
std::vector<Rr> normalizeRrsets(std::vector<SourceRr> records);

}  // namespace dnsd::zonefile
