// The Kubernetes DNS-Based Service Discovery specification (schema 1.1.0) turned into
// records: the one place its naming rules live. A reader checks the spec against this file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dnsd/base/ip.h"
#include "dnsd/cluster/cluster.h"
#include "dnsd/wire/name.h"

namespace dnsd::zone {

// One resource record. `rdata` is the wire form, names in it uncompressed and lowercase;
// `target` repeats the domain name inside the rdata (CNAME, NS, PTR, SRV) so the builder
// can link it to its node for CNAME chasing and additional-section records.
struct Record {
  wire::Name owner;
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string rdata;
  std::optional<wire::Name> target;
};

struct RecordOptions {
  wire::Name domain = *wire::Name::parse("cluster.local");
  uint32_t ttl = 5;                       // CoreDNS default
  std::optional<base::IpAddress> dns_ip;  // address of ns.dns.DOMAIN; default kube-dns
  uint32_t serial = 1;
};

// What one zone holds: its records, and names that exist without records of their own
// (namespaces with no Services must answer NODATA, not NXDOMAIN).
struct ZoneContent {
  wire::Name apex;
  std::vector<Record> records;
  std::vector<wire::Name> empty_names;
};

// The cluster zone `options.domain`: SOA, NS, schema version, and every Service's names.
ZoneContent clusterZone(const cluster::Cluster& cluster, const RecordOptions& options);

// Record constructors shared with zone files and tests.
Record addressRecord(const wire::Name& owner, uint32_t ttl, const base::IpAddress& ip);
Record nameRecord(const wire::Name& owner, uint16_t type, uint32_t ttl, const wire::Name& target);
Record srvRecord(const wire::Name& owner, uint32_t ttl, uint16_t priority, uint16_t weight,
                 uint16_t port, const wire::Name& target);
Record txtRecord(const wire::Name& owner, uint32_t ttl, const std::string& text);
Record soaRecord(const wire::Name& apex, uint32_t ttl, uint32_t serial, uint32_t minimum);

}  // namespace dnsd::zone
