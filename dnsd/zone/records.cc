#include "dnsd/zone/records.h"

#include <algorithm>
#include <set>

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

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(wire::toLower(static_cast<uint8_t>(c)));
  return s;
}

// Builds the records of one Service; `svc_name` is SVC.NS.svc.DOMAIN.
class ServiceRecords {
 public:
  ServiceRecords(const cluster::ResolvedService& rs, const wire::Name& svc_name, uint32_t ttl,
                 std::vector<Record>& out)
      : rs_(rs), svc_(rs.service), name_(svc_name), ttl_(ttl), out_(out) {}

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
    if (target) out_.push_back(nameRecord(name_, wire::type::CNAME, ttl_, *target));
  }

  // k8s DNS spec §2.3.1 (A/AAAA per ClusterIP) and §2.3.2 (SRV per named port, to the
  // Service name, with the Service port).
  void clusterIp() {
    for (const auto& ip : svc_.cluster_ips) out_.push_back(addressRecord(name_, ttl_, ip));
    for (const auto& port : svc_.ports) {
      auto owner = srvOwner(port.name, port.protocol);
      if (owner) out_.push_back(srvRecord(*owner, ttl_, 0, 100, port.port, name_));
    }
  }

  // k8s DNS spec §2.4.1: one A/AAAA per ready endpoint at the Service name and at the
  // endpoint's own name; none ready means the name does not exist (NXDOMAIN).
  void headless() {
    for (const auto& ep : rs_.endpoints) {
      out_.push_back(addressRecord(name_, ttl_, ep.ip));
      auto ep_name = endpointName(ep);
      if (ep_name) out_.push_back(addressRecord(*ep_name, ttl_, ep.ip));
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
      auto owner = srvOwner(port_name, protocol);
      if (!owner) continue;
      std::set<std::pair<wire::Name, int>> targets;
      for (const auto& ep : rs_.endpoints)
        for (const auto& p : ep.ports)
          if (p.name == port_name && p.protocol == protocol)
            if (auto n = endpointName(ep)) targets.emplace(*n, p.port);
      uint16_t weight = targets.empty() ? 0 : static_cast<uint16_t>(100 / targets.size());
      for (const auto& [target, port] : targets)
        out_.push_back(srvRecord(*owner, ttl_, 0, weight, static_cast<uint16_t>(port), target));
    }
  }

  // The endpoint's hostname, else its dashed IP (CoreDNS endpointHostname).
  std::optional<wire::Name> endpointName(const cluster::ResolvedEndpoint& ep) const {
    return name_.child(ep.hostname.empty() ? ep.ip.dashed() : ep.hostname);
  }

  std::optional<wire::Name> srvOwner(const std::string& port, const std::string& protocol) {
    if (port.empty()) return std::nullopt;  // unnamed ports have no SRV (§2.3.2)
    auto p = name_.child("_" + lower(protocol));
    return p ? p->child("_" + lower(port)) : std::nullopt;
  }

  const cluster::ResolvedService& rs_;
  const cluster::Service& svc_;
  const wire::Name& name_;
  uint32_t ttl_;
  std::vector<Record>& out_;
};

std::optional<base::IpAddress> kubeDnsIp(const cluster::Cluster& cluster) {
  for (const auto& rs : cluster.services)
    if (rs.service.meta.ns == "kube-system" && rs.service.meta.name == "kube-dns" &&
        !rs.service.cluster_ips.empty())
      return rs.service.cluster_ips.front();
  return std::nullopt;
}

}  // namespace

Record addressRecord(const wire::Name& owner, uint32_t ttl, const base::IpAddress& ip) {
  Record r{owner, ip.v6 ? wire::type::AAAA : wire::type::A, ttl, {}, std::nullopt};
  r.rdata.assign(reinterpret_cast<const char*>(ip.bytes.data()), ip.size());
  return r;
}

Record nameRecord(const wire::Name& owner, uint16_t type, uint32_t ttl, const wire::Name& target) {
  return Record{owner, type, ttl, target.wire(), target};
}

Record srvRecord(const wire::Name& owner, uint32_t ttl, uint16_t priority, uint16_t weight,
                 uint16_t port, const wire::Name& target) {
  Record r{owner, wire::type::SRV, ttl, {}, target};
  put16(r.rdata, priority);
  put16(r.rdata, weight);
  put16(r.rdata, port);
  r.rdata += target.wire();
  return r;
}

Record txtRecord(const wire::Name& owner, uint32_t ttl, const std::string& text) {
  Record r{owner, wire::type::TXT, ttl, {}, std::nullopt};
  r.rdata.push_back(static_cast<char>(text.size()));
  r.rdata += text;
  return r;
}

Record soaRecord(const wire::Name& apex, uint32_t ttl, uint32_t serial, uint32_t minimum) {
  Record r{apex, wire::type::SOA, ttl, {}, std::nullopt};
  r.rdata = apex.child("dns")->child("ns")->wire() + apex.child("hostmaster")->wire();
  put32(r.rdata, serial);
  put32(r.rdata, 7200);   // refresh
  put32(r.rdata, 1800);   // retry
  put32(r.rdata, 86400);  // expire
  put32(r.rdata, minimum);
  return r;
}

ZoneContent clusterZone(const cluster::Cluster& cluster, const RecordOptions& options) {
  ZoneContent zone{options.domain, {}, {}};
  const wire::Name& apex = options.domain;
  uint32_t ttl = options.ttl;
  auto ns_name = *apex.child("dns")->child("ns");
  zone.records.push_back(soaRecord(apex, ttl, options.serial, ttl));
  zone.records.push_back(nameRecord(apex, wire::type::NS, ttl, ns_name));
  if (auto ip = options.dns_ip ? options.dns_ip : kubeDnsIp(cluster))
    zone.records.push_back(addressRecord(ns_name, ttl, *ip));
  // k8s DNS spec §2.2: the schema version, TTL 28800 as CoreDNS.
  zone.records.push_back(txtRecord(*apex.child("dns-version"), 28800, "1.1.0"));

  wire::Name svc = *apex.child("svc");
  zone.empty_names.push_back(svc);
  for (const auto& ns : cluster.namespaces)
    if (auto n = svc.child(ns)) zone.empty_names.push_back(*n);
  for (const auto& rs : cluster.services) {
    auto name = svc.child(rs.service.meta.ns);
    if (name) name = name->child(rs.service.meta.name);
    if (name) ServiceRecords(rs, *name, ttl, zone.records).build();
  }
  return zone;
}

}  // namespace dnsd::zone
