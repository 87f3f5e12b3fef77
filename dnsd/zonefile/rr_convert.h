// One ldns RR into a zonefile::Rr: owner and rdata in wire form, names lowercased where dnsd
// treats them as case-insensitive, and the target name. The only place rdata bytes are made.
#pragma once

#include "dnsd/base/result.h"
#include "dnsd/zonefile/ldns.h"
#include "dnsd/zonefile/load.h"

namespace dnsd::zonefile {

// Lowercases the names in `rr` in place (CNAME, NS, PTR, MX, SRV, SOA). The error is a bare
// message; the caller adds file and line.
base::Result<Rr> toRr(ldns_rr* rr);

}  // namespace dnsd::zonefile
