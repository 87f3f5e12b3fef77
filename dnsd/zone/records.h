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
#include "dnsd/zone/record_list.h"

namespace dnsd::zone {

// TTL of the cluster records: CoreDNS's default (kubeadm sets 30).
inline constexpr uint32_t kDefaultTtl = 5;

// CoreDNS `pods disabled|insecure|verified` (CoreDNS kubernetes README, pods).
enum class PodNames : uint8_t { Disabled, Insecure, Verified };

struct RecordOptions {
  wire::Name domain = *wire::Name::parse("cluster.local");
  uint32_t ttl = kDefaultTtl;
  std::optional<base::IpAddress> dns_ip;  // address of ns.dns.DOMAIN; default kube-dns
  uint32_t serial = 1;
  PodNames pods = PodNames::Insecure;     // kubeadm's CoreDNS configuration
  bool endpoint_pod_names = false;        // CoreDNS `endpoint_pod_names`
  bool ptr_single = false;                // one PTR per IP: the most specific name
  bool autopath = false;                  // server-side search path for known Pod clients
  // The reverse zones dnsd is authoritative for cover these and every address it serves.
  std::vector<base::Cidr> reverse_cidrs;
  // Public zones of the Services' external addresses (CoreDNS k8s_external).
  std::vector<wire::Name> external_zones;
  std::optional<wire::Name> external_ns;         // their NS; default ns1.ZONE
  std::vector<base::IpAddress> external_ns_ips;  // its address; default kube-dns's external ones
};

// What one zone holds: its records, and names that exist without records of their own
// (namespaces with no Services must answer NODATA, not NXDOMAIN).
struct ZoneContent {
  wire::Name apex;
  RecordList records;
  std::vector<wire::Name> empty_names;
  // NS.pod.DOMAIN for `pods insecure`: children of these names are Pod IP names answered
  // at query time (CoreDNS kubernetes README, pods).
  std::vector<wire::Name> pod_parents;
  uint32_t ttl = kDefaultTtl;  // of records made at query time
  // --autopath: each Pod IP and its namespace's search domain NS.svc.DOMAIN.
  std::vector<std::pair<base::IpAddress, wire::Name>> pod_search;
  // The zone's source has not been read whole yet (the Kubernetes API before its first
  // list): every name in it is answered SERVFAIL, never NXDOMAIN from an empty zone.
  bool unsynced = false;
};

// The cluster zone `options.domain`: SOA, NS, schema version, and every Service's names.
ZoneContent clusterZone(const cluster::Cluster& cluster, const RecordOptions& options);

// The reverse zones (in-addr.arpa, ip6.arpa) with a PTR for every ClusterIP and every ready
// endpoint (k8s DNS spec §2.3.3, §2.4.3).
std::vector<ZoneContent> reverseZones(const cluster::Cluster& cluster,
                                      const RecordOptions& options);

// An external zone per options.external_zones: SVC.NS.ZONE with the addresses in a
// Service's spec.externalIPs and status.loadBalancer.ingress (A/AAAA), or else a CNAME to
// its load balancer's hostname; SRV per named port; SOA and NS at the apex. ClusterIPs and
// endpoints never appear, and a Service without an external address has no name.
std::vector<ZoneContent> externalZones(const cluster::Cluster& cluster,
                                       const RecordOptions& options);

// The address of an external zone's NS: options.external_ns_ips, else the external addresses
// of kube-dns.kube-system (CoreDNS plugin/kubernetes/ns.go does the same for k8s_external).
std::vector<base::IpAddress> externalNsAddresses(const cluster::Cluster& cluster,
                                                 const RecordOptions& options);
// The NS name of an external zone: options.external_ns, else ns1.ZONE.
wire::Name externalNsName(const wire::Name& apex, const RecordOptions& options);

// Every zone dnsd serves for a cluster: the cluster zone, the reverse zones, then the
// external zones.
std::vector<ZoneContent> allZones(const cluster::Cluster& cluster, const RecordOptions& options);

// The records one Service adds to the zones allZones() makes: its names in the cluster zone,
// the PTRs of its addresses (without options.ptr_single, which ranks one Service's names
// against another's) and its names in the external zones. The zones hold the apexes' own
// records, the namespaces' names and these of every Service; no two Services make the same
// record, so a change to one Service is the difference of its records before and after.
void serviceRecords(const cluster::ResolvedService& service, const RecordOptions& options,
                    RecordList& out);

// "d.c.b.a.in-addr.arpa." or the 32-nibble ip6.arpa name.
wire::Name reverseName(const base::IpAddress& ip);
// The reverse zone of a CIDR: its prefix rounded down to a whole label (8 bits for IPv4,
// 4 for IPv6).
wire::Name reverseZoneOf(const base::Cidr& cidr);

// Record constructors shared with zone files and tests.
Record addressRecord(const wire::Name& owner, uint32_t ttl, const base::IpAddress& ip);
Record nameRecord(const wire::Name& owner, uint16_t type, uint32_t ttl, const wire::Name& target);
Record txtRecord(const wire::Name& owner, uint32_t ttl, const std::string& text);
// SOA of `apex` naming ns.dns.DOMAIN and hostmaster.DOMAIN of the cluster `domain`.
Record soaRecord(const wire::Name& apex, const wire::Name& domain, uint32_t ttl, uint32_t serial,
                 uint32_t minimum);
// SOA of `apex` with this primary nameserver and mailbox; refresh, retry and expire as above.
Record soaRecord(const wire::Name& apex, const wire::Name& mname, const wire::Name& rname,
                 uint32_t ttl, uint32_t serial, uint32_t minimum);

}  // namespace dnsd::zone
