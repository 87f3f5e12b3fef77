#include "dnsd/zone/records.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <tuple>

#include "dnsd/base/parallel.h"
#include "dnsd/cluster/names.h"
#include "dnsd/wire/dns.h"

namespace dnsd::zone {
namespace {

void put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v));
}
void put32(std::string& s, uint32_t v) {
  put16(s, static_cast<uint16_t>(v >> 16));
  put16(s, static_cast<uint16_t>(v));
}

// An endpoint's label: its hostname; else, with endpoint_pod_names, its Pod's name when it
// is a DNS label (a Pod's name may be a subdomain: "web.v2" would be two labels); else its
// dashed IP (CoreDNS endpointHostname), written into `dashed`.
std::string_view endpointLabel(const cluster::ResolvedEndpoint& ep, const RecordOptions& options,
                               std::string& dashed) {
  if (!ep.hostname.empty()) return ep.hostname;
  if (options.endpoint_pod_names && cluster::isDnsLabel(ep.pod_name)) return ep.pod_name;
  dashed = ep.ip.dashed();
  return dashed;
}

// RFC 2782: priority (always 0), weight, port, target.
void addSrv(RecordList& out, const wire::Name& owner, uint32_t ttl, uint16_t weight, uint16_t port,
            const wire::Name& target) {
  uint8_t head[6] = {0, 0};
  wire::store16(head + 2, weight);
  wire::store16(head + 4, port);
  out.add(owner, wire::type::SRV, ttl, {reinterpret_cast<const char*>(head), 6}, &target);
}

// _PORT._PROTO.NAME, or nothing for an unnamed port (k8s DNS spec §2.3.2: no SRV).
std::optional<wire::Name> srvOwner(const wire::Name& name, const std::string& port,
                                   const std::string& protocol) {
  if (port.empty()) return std::nullopt;
  return name.child({"_" + port, "_" + protocol});  // child() lowercases
}

uint16_t srvWeight(size_t n) { return n ? static_cast<uint16_t>(100 / n) : 0; }

// A Service's own ports (k8s DNS spec §2.3.2): an SRV per named port at _PORT._PROTO.NAME,
// and with `bare` one per port at NAME itself (CoreDNS; used by peer finders), each to
// `target` with the Service port.
void servicePortSrvs(const wire::Name& name, const std::vector<cluster::ServicePort>& ports,
                     uint32_t ttl, const wire::Name& target, bool bare, RecordList& out) {
  for (const auto& port : ports)
    if (auto owner = srvOwner(name, port.name, port.protocol))
      addSrv(out, *owner, ttl, 100, static_cast<uint16_t>(port.port), target);
  if (!bare) return;
  std::set<uint16_t> numbers;
  for (const auto& port : ports) numbers.insert(static_cast<uint16_t>(port.port));
  for (uint16_t number : numbers) addSrv(out, name, ttl, srvWeight(numbers.size()), number, target);
}

// Builds the records of one Service; `svc_name` is SVC.NS.svc.DOMAIN.
class ServiceRecords {
 public:
  ServiceRecords(const cluster::ResolvedService& rs, const wire::Name& svc_name,
                 const RecordOptions& options, RecordList& out)
      : rs_(rs), svc_(rs.service), name_(svc_name), ttl_(options.ttl), options_(options),
        out_(out) {}

  // The endpoint's name: endpointLabel() under the Service's.
  std::optional<wire::Name> endpointName(const cluster::ResolvedEndpoint& ep) const {
    std::string dashed;
    return name_.child(endpointLabel(ep, options_, dashed));
  }

  void build() {
    if (svc_.type == cluster::ServiceType::ExternalName) return externalName();
    if (svc_.headless) return headless();
    clusterIp();
  }

 private:
  // k8s DNS spec §2.5: a CNAME to the external name. An external name that is an IP
  // address is not served (CoreDNS does the same, coredns#2324).
  void externalName() {
    if (base::IpAddress::parse(svc_.external_name)) return;
    auto target = wire::Name::parse(svc_.external_name);
    if (target) out_.add(name_, wire::type::CNAME, ttl_, {}, &*target);
  }

  // k8s DNS spec §2.3.1 (A/AAAA per ClusterIP) and §2.3.2 (SRV per named port, to the
  // Service name, with the Service port).
  // Endpoint names exist under ClusterIP Services too (CoreDNS findServices; CoreDNS findServices),
  // so their PTRs are forward-confirmed.
  void clusterIp() {
    for (const auto& ip : svc_.cluster_ips) address(name_, ip);
    for (const auto& ep : rs_.endpoints)
      if (auto ep_name = endpointName(ep)) address(*ep_name, ep.ip);
    servicePortSrvs(name_, svc_.ports, ttl_, name_, true, out_);
  }

  // k8s DNS spec §2.4.1: one A/AAAA per ready endpoint at the Service name and at the
  // endpoint's own name; none ready means the name does not exist (NXDOMAIN).
  void headless() {
    for (const auto& ep : rs_.endpoints) {
      address(name_, ep.ip);
      auto ep_name = endpointName(ep);
      if (ep_name) address(*ep_name, ep.ip);
    }
    headlessSrv();
  }

  // k8s DNS spec §2.4.2: per named port, one SRV per endpoint name, with the endpoint's
  // port (the targetPort, as CoreDNS). A hostname with two IPs gets one SRV.
  void headlessSrv() {
    std::set<std::pair<std::string, std::string>> ports;  // (name, protocol)
    for (const auto& ep : rs_.endpoints)
      for (const auto& p : ep.ports)
        if (!p.name.empty()) ports.emplace(p.name, p.protocol);
    for (const auto& [port_name, protocol] : ports) {
      auto owner = srvOwner(name_, port_name, protocol);
      if (!owner) continue;
      std::set<std::pair<wire::Name, int>> targets;
      for (const auto& ep : rs_.endpoints)
        for (const auto& p : ep.ports)
          if (p.name == port_name && p.protocol == protocol)
            if (auto n = endpointName(ep)) targets.emplace(*n, p.port);
      for (const auto& [target, port] : targets)
        srv(*owner, srvWeight(targets.size()), static_cast<uint16_t>(port), target);
    }
    // SRV at the bare name: every endpoint name with every port.
    std::set<std::pair<wire::Name, int>> all;
    for (const auto& ep : rs_.endpoints)
      for (const auto& p : ep.ports)
        if (auto n = endpointName(ep)) all.emplace(*n, p.port);
    for (const auto& [target, port] : all)
      srv(name_, srvWeight(all.size()), static_cast<uint16_t>(port), target);
  }

  void address(const wire::Name& owner, const base::IpAddress& ip) {
    out_.addAddress(owner, ttl_, ip);
  }
  void srv(const wire::Name& owner, uint16_t weight, uint16_t port, const wire::Name& target) {
    addSrv(out_, owner, ttl_, weight, port, target);
  }

  const cluster::ResolvedService& rs_;
  const cluster::Service& svc_;
  const wire::Name& name_;
  uint32_t ttl_;
  const RecordOptions& options_;
  RecordList& out_;
};

// SVC.NS.svc.DOMAIN appended to `out` in wire form; false when it is not a valid name.
bool appendServiceName(std::string& out, const wire::Name& domain, const cluster::Service& svc) {
  return wire::appendChild(out, {svc.meta.name, svc.meta.ns, "svc"}, domain.wire());
}

wire::Name serviceName(const wire::Name& domain, const cluster::Service& svc) {
  std::string wire;
  return appendServiceName(wire, domain, svc) ? wire::Name::fromWire(std::move(wire))
                                              : wire::Name();
}

// A name a PTR may point to for one IP, ranked: lower is more specific (--ptr-single).
struct PtrTarget {
  base::IpAddress ip;
  int rank = 0;     // 0 headless endpoint, 1 ClusterIP, 2 endpoint of a ClusterIP Service
  uint32_t at = 0;  // the target's wire form: PtrTargets::names[at, at + size)
  uint8_t size = 0;
};

// Sorted by address, rank and target, without duplicates, as a std::set would hold them.
// The names share one string: a Name (and an allocation) for each target, sorted by moving
// them about, made this the longer half of allZones().
struct PtrTargets {
  std::vector<PtrTarget> list;
  std::string names;
  std::string_view target(const PtrTarget& t) const { return {names.data() + t.at, t.size}; }
};

PtrTargets ptrTargets(const cluster::Cluster& cluster, const RecordOptions& options) {
  PtrTargets made;
  size_t count = 0;
  for (const auto& rs : cluster.services)
    count += rs.service.cluster_ips.size() + rs.endpoints.size();
  made.list.reserve(count);
  made.names.reserve(count * 48);
  std::string service;  // SVC.NS.svc.DOMAIN, copied out: appending to `names` moves it
  std::string dashed;
  for (const auto& rs : cluster.services) {
    const auto& svc = rs.service;
    if (svc.type == cluster::ServiceType::ExternalName) continue;
    service.clear();
    if (!appendServiceName(service, options.domain, svc)) continue;
    const auto service_at = static_cast<uint32_t>(made.names.size());
    made.names += service;
    for (const auto& ip : svc.cluster_ips)
      made.list.push_back({ip, 1, service_at, static_cast<uint8_t>(service.size())});
    for (const auto& ep : rs.endpoints) {
      const auto at = static_cast<uint32_t>(made.names.size());
      if (wire::appendChild(made.names, {endpointLabel(ep, options, dashed)}, service))
        made.list.push_back({ep.ip, svc.headless ? 0 : 2, at,
                             static_cast<uint8_t>(made.names.size() - at)});
    }
  }
  // Sorted as small keys; the names are compared only between equal addresses and ranks.
  struct Key {
    uint64_t high, low;  // the address bytes, big-endian
    bool v6;
    int rank;
    uint32_t index;  // in made.list
  };
  auto word = [](const uint8_t* bytes) {
    uint64_t w = 0;
    for (int i = 0; i < 8; ++i) w = w << 8 | bytes[i];
    return w;
  };
  std::vector<Key> keys;
  keys.reserve(made.list.size());
  for (uint32_t i = 0; i < made.list.size(); ++i) {
    const PtrTarget& t = made.list[i];
    keys.push_back({word(t.ip.bytes.data()), word(t.ip.bytes.data() + 8), t.ip.v6, t.rank, i});
  }
  // IPv4 before IPv6, as IpAddress orders them.
  auto tied = [&](const Key& k) {
    return std::tuple(k.v6, k.high, k.low, k.rank, made.target(made.list[k.index]));
  };
  std::sort(keys.begin(), keys.end(), [&](const Key& a, const Key& b) { return tied(a) < tied(b); });
  PtrTargets out;
  out.list.reserve(made.list.size());
  const Key* last = nullptr;
  for (const Key& k : keys) {
    if (last && tied(*last) == tied(k)) continue;
    last = &k;
    out.list.push_back(made.list[k.index]);
  }
  out.names = std::move(made.names);
  return out;
}

void podRecords(const cluster::Cluster& cluster, const RecordOptions& options, ZoneContent& zone) {
  if (options.pods == PodNames::Disabled) return;
  wire::Name pod = *options.domain.child("pod");
  zone.empty_names.push_back(pod);
  for (const auto& ns : cluster.namespaces) {
    auto parent = pod.child(ns);
    if (!parent) continue;
    zone.empty_names.push_back(*parent);
    if (options.pods == PodNames::Insecure) zone.pod_parents.push_back(*parent);
  }
  if (options.pods != PodNames::Verified) return;
  // `pods verified`: a name only for an address a Pod in that namespace has.
  for (const auto& p : cluster.pods) {
    if (p.terminating) continue;
    auto parent = pod.child(p.meta.ns);
    for (const auto& ip : p.ips)
      if (auto name = parent ? parent->child(ip.dashed()) : std::nullopt)
        zone.records.addAddress(*name, options.ttl, ip);
  }
}

// One PTR per (IP, target); with ptr_single only the best-ranked target of each IP. The
// targets come sorted by address, so the zone of the last PTR is tried first.
void addPtrs(const PtrTargets& targets, const RecordOptions& options,
             std::vector<ZoneContent>& zones) {
  const base::IpAddress* last = nullptr;
  size_t zone = 0;
  for (const PtrTarget& t : targets.list) {
    if (options.ptr_single && last && *last == t.ip) continue;
    last = &t.ip;
    char buffer[wire::kMaxReverseName];
    const std::string_view owner = wire::reverseWire(t.ip, buffer);
    auto in = [&](size_t z) {
      const wire::Name& apex = zones[z].apex;
      return wire::isSubdomain(reinterpret_cast<const uint8_t*>(owner.data()), owner.size(),
                               apex.data(), apex.size());
    };
    if (zone >= zones.size() || !in(zone)) {
      zone = 0;
      while (zone < zones.size() && !in(zone)) ++zone;
      if (zone == zones.size()) continue;
    }
    zones[zone].records.add(owner, wire::type::PTR, options.ttl, {}, targets.target(t));
  }
}

// The cluster's DNS Service, whose addresses name dnsd's own.
const cluster::Service* kubeDns(const cluster::Cluster& cluster) {
  for (const auto& rs : cluster.services)
    if (rs.service.meta.ns == "kube-system" && rs.service.meta.name == "kube-dns")
      return &rs.service;
  return nullptr;
}

std::optional<base::IpAddress> kubeDnsIp(const cluster::Cluster& cluster) {
  const cluster::Service* dns = kubeDns(cluster);
  if (!dns || dns->cluster_ips.empty()) return std::nullopt;
  return dns->cluster_ips.front();
}

}  // namespace

Record addressRecord(const wire::Name& owner, uint32_t ttl, const base::IpAddress& ip) {
  RecordList one;
  one.addAddress(owner, ttl, ip);
  return one.record(0);
}

Record nameRecord(const wire::Name& owner, uint16_t type, uint32_t ttl, const wire::Name& target) {
  return Record{owner, type, ttl, target.wire(), target};
}

Record txtRecord(const wire::Name& owner, uint32_t ttl, const std::string& text) {
  Record r{owner, wire::type::TXT, ttl, {}, std::nullopt};
  r.rdata.push_back(static_cast<char>(text.size()));
  r.rdata += text;
  return r;
}

Record soaRecord(const wire::Name& apex, const wire::Name& domain, uint32_t ttl, uint32_t serial,
                 uint32_t minimum) {
  return soaRecord(apex, *domain.child("dns")->child("ns"), *domain.child("hostmaster"), ttl,
                   serial, minimum);
}

Record soaRecord(const wire::Name& apex, const wire::Name& mname, const wire::Name& rname,
                 uint32_t ttl, uint32_t serial, uint32_t minimum) {
  Record r{apex, wire::type::SOA, ttl, {}, std::nullopt};
  r.rdata = mname.wire() + rname.wire();
  put32(r.rdata, serial);
  put32(r.rdata, 7200);   // refresh
  put32(r.rdata, 1800);   // retry
  put32(r.rdata, 86400);  // expire
  put32(r.rdata, minimum);
  return r;
}

namespace {

// Room for the cluster zone's records: a Service or endpoint makes about three records of
// about 60 bytes, and a third more.
RecordList reservedClusterRecords(const cluster::Cluster& cluster) {
  size_t names = 0;
  for (const auto& rs : cluster.services) names += 1 + rs.endpoints.size();
  RecordList records;
  records.reserve(names * 4, names * 4 * 64);
  return records;
}

ZoneContent clusterZoneInto(const cluster::Cluster& cluster, const RecordOptions& options,
                            RecordList records) {
  ZoneContent zone{options.domain, std::move(records), {}, {}, options.ttl, {}};
  const wire::Name& apex = options.domain;
  uint32_t ttl = options.ttl;
  auto ns_name = *apex.child("dns")->child("ns");
  zone.records.push_back(soaRecord(apex, apex, ttl, options.serial, ttl));
  zone.records.push_back(nameRecord(apex, wire::type::NS, ttl, ns_name));
  if (auto ip = options.dns_ip ? options.dns_ip : kubeDnsIp(cluster))
    zone.records.addAddress(ns_name, ttl, *ip);
  // k8s DNS spec §2.2: the schema version, TTL 28800 as CoreDNS.
  zone.records.push_back(txtRecord(*apex.child("dns-version"), 28800, "1.1.0"));

  wire::Name svc = *apex.child("svc");
  zone.empty_names.push_back(svc);
  for (const auto& ns : cluster.namespaces)
    if (auto n = svc.child(ns)) zone.empty_names.push_back(*n);
  for (const auto& rs : cluster.services) {
    wire::Name name = serviceName(apex, rs.service);
    if (!name.isRoot()) ServiceRecords(rs, name, options, zone.records).build();
  }
  podRecords(cluster, options, zone);
  if (options.autopath)
    for (const auto& p : cluster.pods)
      if (auto domain = svc.child(p.meta.ns); domain && !p.terminating)
        for (const auto& ip : p.ips) zone.pod_search.emplace_back(ip, *domain);
  return zone;
}

}  // namespace

ZoneContent clusterZone(const cluster::Cluster& cluster, const RecordOptions& options) {
  return clusterZoneInto(cluster, options, reservedClusterRecords(cluster));
}

wire::Name reverseName(const base::IpAddress& ip) {
  char buffer[wire::kMaxReverseName];
  return wire::Name::fromWire(std::string(wire::reverseWire(ip, buffer)));
}

wire::Name reverseZoneOf(const base::Cidr& cidr) {
  int unit = cidr.base.v6 ? 4 : 8;
  int prefix = std::max(unit, cidr.prefix / unit * unit);
  wire::Name name = reverseName(cidr.base);
  // The full reverse name has one label per unit; drop the labels below the prefix.
  int drop = static_cast<int>(cidr.base.size() * 8) / unit - prefix / unit;
  for (int i = 0; i < drop; ++i) name = name.parent();
  return name;
}

std::vector<ZoneContent> reverseZones(const cluster::Cluster& cluster,
                                      const RecordOptions& options) {
  auto targets = ptrTargets(cluster, options);
  // Apexes: the configured ranges, and a /24 or /64 for any address outside them.
  std::set<wire::Name> apexes;
  for (const auto& cidr : options.reverse_cidrs) apexes.insert(reverseZoneOf(cidr));
  // Targets are sorted by address, so those of one /24 or /64 come together: its apex is
  // made once, not once per address.
  std::optional<base::Cidr> last;
  for (const auto& t : targets.list) {
    if (last && last->contains(t.ip)) continue;
    bool covered = std::any_of(options.reverse_cidrs.begin(), options.reverse_cidrs.end(),
                               [&](const base::Cidr& c) { return c.contains(t.ip); });
    if (covered) continue;
    last = base::Cidr{t.ip, t.ip.v6 ? 64 : 24};
    apexes.insert(reverseZoneOf(*last));
  }
  std::vector<ZoneContent> zones;
  for (const auto& apex : apexes) {
    bool nested = std::any_of(apexes.begin(), apexes.end(), [&](const wire::Name& other) {
      return !(other == apex) && apex.isSubdomainOf(other);
    });
    if (nested) continue;
    ZoneContent zone{apex, {}, {}, {}, options.ttl, {}};
    zone.records.push_back(soaRecord(apex, options.domain, options.ttl, options.serial, options.ttl));
    zone.records.push_back(
        nameRecord(apex, wire::type::NS, options.ttl, *options.domain.child("dns")->child("ns")));
    zones.push_back(std::move(zone));
  }
  addPtrs(targets, options, zones);
  return zones;
}

namespace {

// SVC.NS.ZONE of one Service (CoreDNS plugin/kubernetes/external.go): its external
// addresses, or else a CNAME to its load balancer's first hostname, and its SRV records.
void externalService(const cluster::Service& svc, const wire::Name& apex, uint32_t ttl,
                     RecordList& out) {
  if (svc.external_ips.empty() && svc.external_hostnames.empty()) return;
  std::string wire;
  if (!wire::appendChild(wire, {svc.meta.name, svc.meta.ns}, apex.wire())) return;
  const wire::Name name = wire::Name::fromWire(std::move(wire));
  for (const auto& ip : svc.external_ips) out.addAddress(name, ttl, ip);
  if (!svc.external_ips.empty()) return servicePortSrvs(name, svc.ports, ttl, name, true, out);
  // A name with a CNAME has no other data (RFC 1034 §3.6.2), so an address wins over a
  // hostname, and one hostname is served. An SRV target must not be an alias (RFC 2782):
  // the SRV records point at the hostname itself, and the bare name has none.
  auto alias = wire::Name::parse(svc.external_hostnames.front());
  if (!alias || alias->isRoot()) return;
  out.add(name, wire::type::CNAME, ttl, {}, &*alias);
  servicePortSrvs(name, svc.ports, ttl, *alias, false, out);
}

}  // namespace

std::vector<base::IpAddress> externalNsAddresses(const cluster::Cluster& cluster,
                                                 const RecordOptions& options) {
  if (!options.external_ns_ips.empty()) return options.external_ns_ips;
  const cluster::Service* dns = kubeDns(cluster);
  return dns ? dns->external_ips : std::vector<base::IpAddress>{};
}

wire::Name externalNsName(const wire::Name& apex, const RecordOptions& options) {
  return options.external_ns ? *options.external_ns : *apex.child("ns1");
}

std::vector<ZoneContent> externalZones(const cluster::Cluster& cluster,
                                       const RecordOptions& options) {
  const std::vector<base::IpAddress> ns_ips = externalNsAddresses(cluster, options);
  std::vector<ZoneContent> zones;
  for (const wire::Name& apex : options.external_zones) {
    const uint32_t ttl = options.ttl;
    ZoneContent zone{apex, {}, {}, {}, ttl, {}};
    const wire::Name ns = externalNsName(apex, options);
    zone.records.push_back(
        soaRecord(apex, ns, *apex.child("hostmaster"), ttl, options.serial, ttl));
    zone.records.push_back(nameRecord(apex, wire::type::NS, ttl, ns));
    // Glue only in its own zone: a name elsewhere has its addresses there.
    if (ns.isSubdomainOf(apex))
      for (const auto& ip : ns_ips) zone.records.addAddress(ns, ttl, ip);
    // A namespace exists with or without external Services (CoreDNS answers it NODATA).
    for (const auto& ns_name : cluster.namespaces)
      if (auto n = apex.child(ns_name)) zone.empty_names.push_back(*n);
    for (const auto& rs : cluster.services) externalService(rs.service, apex, ttl, zone.records);
    zones.push_back(std::move(zone));
  }
  return zones;
}

void serviceRecords(const cluster::ResolvedService& rs, const RecordOptions& options,
                    RecordList& out) {
  const cluster::Service& svc = rs.service;
  std::string service;
  if (!appendServiceName(service, options.domain, svc)) return;
  const wire::Name name = wire::Name::fromWire(service);
  ServiceRecords(rs, name, options, out).build();
  // Its PTRs, as ptrTargets() and addPtrs() make them.
  if (svc.type != cluster::ServiceType::ExternalName) {
    char buffer[wire::kMaxReverseName];
    for (const auto& ip : svc.cluster_ips)
      out.add(wire::reverseWire(ip, buffer), wire::type::PTR, options.ttl, {}, service);
    std::string dashed, target;
    for (const auto& ep : rs.endpoints) {
      target.clear();
      if (wire::appendChild(target, {endpointLabel(ep, options, dashed)}, service))
        out.add(wire::reverseWire(ep.ip, buffer), wire::type::PTR, options.ttl, {}, target);
    }
  }
  for (const wire::Name& apex : options.external_zones)
    externalService(svc, apex, options.ttl, out);
}

// Fewer Services and Pods than this are not worth a thread: the API source rebuilds a small
// cluster for every event.
constexpr size_t kParallelZonesMin = 1000;

std::vector<ZoneContent> allZones(const cluster::Cluster& cluster, const RecordOptions& options) {
  // The two halves only read the cluster: on two cores, a large cluster's records take the
  // time of the longer one. A thread's memory comes from its own malloc arena, which the
  // loader has not prefaulted: on the other thread the reverse zones paid thousands of page
  // faults of their own. So they are made here, and the cluster zone is made on the other
  // thread into a list reserved here, in prefaulted memory.
  ZoneContent cluster_zone;
  std::vector<ZoneContent> reverse_zones;
  base::alongside(
      cluster.services.size() + cluster.pods.size(), kParallelZonesMin,
      [&, records = reservedClusterRecords(cluster)]() mutable {
        cluster_zone = clusterZoneInto(cluster, options, std::move(records));
      },
      [&] { reverse_zones = reverseZones(cluster, options); });
  // Not `zones{clusterZone(...)}`: an initializer list is const, so that copied the
  // cluster zone's whole record list.
  std::vector<ZoneContent> zones;
  std::vector<ZoneContent> external_zones = externalZones(cluster, options);
  zones.reserve(1 + reverse_zones.size() + external_zones.size());
  zones.push_back(std::move(cluster_zone));
  for (auto& z : reverse_zones) zones.push_back(std::move(z));
  for (auto& z : external_zones) zones.push_back(std::move(z));
  return zones;
}

}  // namespace dnsd::zone
