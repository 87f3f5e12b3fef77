// RFC 1035 zone files (read by ldns) into the RRs of one static zone: wire-form rdata, the
// target names the zone builder links, and errors that name the file and line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/wire/name.h"

namespace dnsd::zonefile {

// One resource record. `rdata` is the uncompressed wire form; the names in it are lowercase
// for CNAME, NS, PTR, MX, SRV and SOA, and kept as written for every other type (which is
// served byte for byte). `target` repeats the name inside the rdata of CNAME, NS, PTR, MX
// (exchange) and SRV (target); nullopt for every other type.
struct Rr {
  wire::Name owner;
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string rdata;
  std::optional<wire::Name> target;
};

// The records in file order, SOA included, exact duplicates dropped and every RRset given
// the TTL of its first RR (RFC 2181 §5, as BIND does).
struct Zone {
  wire::Name apex;
  std::vector<Rr> records;
};

// Reads the zone file at `path`. `origin` (optional) is the apex and the initial $ORIGIN;
// without it the apex is the SOA owner and relative names follow $ORIGIN, else the SOA owner.
// Errors: "zones/x.zone:12: syntax error (ldns: ...)", no SOA at the apex, out-of-zone data,
// a CNAME beside other data (RFC 1034 §3.6.2), a class other than IN, $INCLUDE, no TTL.
base::Result<Zone> load(const std::string& path, const std::string& origin = "");

// The same for zone-file text; `file` is only used in messages.
base::Result<Zone> parse(std::string_view text, const std::string& file,
                         const std::string& origin = "");

}  // namespace dnsd::zonefile
