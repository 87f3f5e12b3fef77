#include "dnsd/server/incremental_zone.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "dnsd/wire/dns.h"

namespace dnsd::server {
namespace {

// Records in one order: owner, type, TTL, where the target starts, rdata. Any order that
// tells records apart will do; this one compares views in place, with no copy.
int compare(const zone::RecordList::View& a, const zone::RecordList::View& b) {
  if (a.owner_size != b.owner_size) return a.owner_size < b.owner_size ? -1 : 1;
  if (int c = std::memcmp(a.owner, b.owner, a.owner_size)) return c;
  if (a.type != b.type) return a.type < b.type ? -1 : 1;
  if (a.ttl != b.ttl) return a.ttl < b.ttl ? -1 : 1;
  if (a.target_at != b.target_at) return a.target_at < b.target_at ? -1 : 1;
  if (a.rdata_size != b.rdata_size) return a.rdata_size < b.rdata_size ? -1 : 1;
  return std::memcmp(a.rdata, b.rdata, a.rdata_size);
}

// The records of `records`, each once, in compare()'s order.
std::vector<zone::RecordList::View> sortedViews(const zone::RecordList& records) {
  std::vector<zone::RecordList::View> views;
  views.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) views.push_back(records[i]);
  std::sort(views.begin(), views.end(),
            [](const auto& a, const auto& b) { return compare(a, b) < 0; });
  views.erase(std::unique(views.begin(), views.end(),
                          [](const auto& a, const auto& b) { return compare(a, b) == 0; }),
              views.end());
  return views;
}

void addView(const zone::RecordList::View& r, zone::RecordList& out) {
  const std::string_view owner(reinterpret_cast<const char*>(r.owner), r.owner_size);
  const std::string_view rdata = r.rdataBytes();
  if (r.target_at == zone::RecordList::kNoTarget)
    out.add(owner, r.type, r.ttl, rdata, {});
  else
    out.add(owner, r.type, r.ttl, rdata.substr(0, r.target_at), rdata.substr(r.target_at));
}

// Adds to `gone` the records only `before` has, to `come` those only `after` has.
void difference(const zone::RecordList& before, const zone::RecordList& after,
                zone::RecordList& gone, zone::RecordList& come) {
  const auto a = sortedViews(before), b = sortedViews(after);
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    const int c = i == a.size() ? 1 : j == b.size() ? -1 : compare(a[i], b[j]);
    if (c < 0) {
      addView(a[i++], gone);
    } else if (c > 0) {
      addView(b[j++], come);
    } else {
      ++i;
      ++j;
    }
  }
}

// The cluster's DNS Service names dnsd's own address (ns.dns.DOMAIN, the external zones' NS):
// a change to it is built whole.
bool isKubeDns(const std::string& ns, const std::string& name) {
  return ns == "kube-system" && name == "kube-dns";
}

}  // namespace

bool IncrementalZone::supported(const Config& config) {
  return config.manifests.empty() && optionsAllow(config);
}

bool IncrementalZone::optionsAllow(const Config& config) {
  return config.pods != "verified" && !config.autopath && !config.ptr_single;
}

void IncrementalZone::reset(cluster::Cluster cluster, const zone::RecordOptions& options,
                            std::vector<wire::Name> own_apexes,
                            std::shared_ptr<const zone::Snapshot> snapshot, zone::EditState edit) {
  options_ = options;
  own_apexes_ = std::move(own_apexes);
  services_.clear();
  cluster_ips_.clear();
  for (auto& rs : cluster.services) {
    Key key{rs.service.meta.ns, rs.service.meta.name};
    for (const auto& ip : rs.service.cluster_ips) cluster_ips_.emplace(ip, key);
    Kept kept;
    zone::serviceRecords(rs, options_, kept.records);
    kept.records.shrink_to_fit();
    kept.cluster_ips = std::move(rs.service.cluster_ips);
    services_.emplace_hint(services_.end(), std::move(key), std::move(kept));
  }
  namespaces_ = std::move(cluster.namespaces);
  extra_reverse_.clear();
  const wire::Name in_addr = *wire::Name::parse("in-addr.arpa");
  const wire::Name ip6 = *wire::Name::parse("ip6.arpa");
  for (const wire::Name& apex : own_apexes_) {
    if (!apex.isSubdomainOf(in_addr) && !apex.isSubdomainOf(ip6)) continue;
    const bool configured =
        std::any_of(options_.reverse_cidrs.begin(), options_.reverse_cidrs.end(),
                    [&](const base::Cidr& cidr) { return zone::reverseZoneOf(cidr) == apex; });
    if (!configured) extra_reverse_[apex] = 0;
  }
  for (const auto& [key, kept] : services_) countPtrs(kept.records, 1);
  built_bytes_ = snapshot->bytes();
  editor_.adopt(std::move(snapshot), std::move(edit));
  ready_ = true;
}

bool IncrementalZone::grown() const {
  return ready_ && editor_.current() &&
         editor_.current()->bytes() > built_bytes_ + built_bytes_ / 16;
}

// The names a namespace gives the zones without any Service (clusterZone(), podRecords(),
// externalZones()).
void IncrementalZone::namespaceNames(const std::string& ns, bool exists, zone::Patch& patch) const {
  auto& kept = exists ? patch.kept_added : patch.kept_removed;
  auto& parents = exists ? patch.pod_parents_added : patch.pod_parents_removed;
  const wire::Name& domain = options_.domain;
  if (auto name = domain.child("svc")->child(ns)) kept.push_back(*name);
  if (options_.pods != zone::PodNames::Disabled)
    if (auto name = domain.child("pod")->child(ns)) {
      kept.push_back(*name);
      if (options_.pods == zone::PodNames::Insecure) parents.push_back(*name);
    }
  for (const wire::Name& apex : options_.external_zones)
    if (auto name = apex.child(ns)) kept.push_back(*name);
}

void IncrementalZone::soaRecords(uint32_t serial, zone::RecordList& out) const {
  const uint32_t ttl = options_.ttl;
  for (const wire::Name& apex : own_apexes_) {
    const bool external = std::find(options_.external_zones.begin(), options_.external_zones.end(),
                                    apex) != options_.external_zones.end();
    if (external) {
      out.push_back(zone::soaRecord(apex, zone::externalNsName(apex, options_),
                                    *apex.child("hostmaster"), ttl, serial, ttl));
    } else {
      out.push_back(zone::soaRecord(apex, options_.domain, ttl, serial, ttl));
    }
  }
}

bool IncrementalZone::countPtrs(const zone::RecordList& records, int sign) {
  if (extra_reverse_.empty()) return true;
  bool emptied = false;
  for (size_t i = 0; i < records.size(); ++i) {
    const zone::RecordList::View r = records[i];
    if (r.type != wire::type::PTR) continue;
    for (auto& [apex, count] : extra_reverse_)
      if (wire::isSubdomain(r.owner, r.owner_size, apex.data(), apex.size())) {
        count += sign;
        emptied |= count == 0;
      }
  }
  return !emptied;
}

base::Status IncrementalZone::addService(kube::Store::ServiceObjects&& objects, zone::Patch& patch,
                                         std::vector<std::string>& warnings,
                                         std::map<Key, std::optional<Kept>>& next) {
  if (isKubeDns(objects.ns, objects.name))
    return base::Error{"Service kube-system/kube-dns changed", ""};
  Key key{std::move(objects.ns), std::move(objects.name)};
  // What a full build makes of this Service: the same normalization, given the objects its
  // records come from.
  std::optional<Kept> now;
  if (objects.service) {
    const cluster::Service& svc = *objects.service;
    if (!svc.headless && svc.type != cluster::ServiceType::ExternalName && svc.cluster_ips.empty())
      return base::Error{"Service " + svc.meta.id() + " has no ClusterIP yet", ""};
    // Without slices, a full build takes endpoints from the Pods the selector picks.
    if (changes_have_pods_ && svc.selector && !svc.selector->empty() && objects.slices.empty())
      return base::Error{"Service " + svc.meta.id() + " selects Pods and has no slices", ""};
    cluster::Inputs inputs;
    inputs.services.push_back(std::move(*objects.service));
    inputs.slices = std::move(objects.slices);
    auto normalized = cluster::normalize(std::move(inputs), cluster::Options{});
    if (!normalized) return normalized.error();
    warnings.insert(warnings.end(), normalized->warnings.begin(), normalized->warnings.end());
    if (!normalized->services.empty()) {
      cluster::ResolvedService& rs = normalized->services.front();
      zone::serviceRecords(rs, options_, now.emplace().records);
      now->records.shrink_to_fit();
      now->cluster_ips = std::move(rs.service.cluster_ips);
    }
  }
  static const zone::RecordList none;
  auto old = services_.find(key);
  difference(old != services_.end() ? old->second.records : none, now ? now->records : none,
             patch.removed, patch.added);
  next.insert_or_assign(std::move(key), std::move(now));
  return base::Ok{};
}

base::Result<std::shared_ptr<const zone::Snapshot>> IncrementalZone::apply(
    kube::Store::Changes&& changes, uint32_t serial, std::vector<std::string>& warnings) {
  auto refuse = [&](const std::string& why) -> base::Error {
    ready_ = false;
    return base::Error{why, ""};
  };
  if (!ready_) return refuse("no zone to change");
  if (changes.pods) return refuse("a Pod changed");
  if (!takes(changes.services.size(), changes.service_count))
    return refuse(std::to_string(changes.services.size()) + " Services changed");
  changes_have_pods_ = changes.pod_count > 0;
  zone::Patch patch;
  patch.serial = serial;
  std::map<Key, std::optional<Kept>> next;
  for (auto& objects : changes.services)
    if (auto added = addService(std::move(objects), patch, warnings, next); !added)
      return refuse(added.error().message);
  // The API server gives no two Services one ClusterIP, and a full build refuses it: an
  // address of a changed Service may belong to another only if that one changed too and let
  // it go.
  std::map<base::IpAddress, const Key*> claimed;
  for (const auto& [key, now] : next)
    if (now)
      for (const auto& ip : now->cluster_ips) {
        auto owner = cluster_ips_.find(ip);
        if (!claimed.emplace(ip, &key).second ||
            (owner != cluster_ips_.end() && !next.count(owner->second)))
          return refuse("clusterIP " + ip.str() + " is used twice");
      }
  std::vector<std::pair<std::string, bool>> namespaces;
  for (const auto& [ns, exists] : changes.namespaces)
    if (exists != (namespaces_.count(ns) > 0)) {
      namespaceNames(ns, exists, patch);
      namespaces.emplace_back(ns, exists);
    }
  const uint32_t old_serial = editor_.current()->serial();
  if (old_serial != serial) {
    soaRecords(old_serial, patch.removed);
    soaRecords(serial, patch.added);
  }
  // A reverse zone of addresses outside the reverse CIDRs that loses its last PTR is gone
  // from a full build: the zones themselves change.
  auto counts = extra_reverse_;
  countPtrs(patch.added, 1);
  if (!countPtrs(patch.removed, -1)) {
    extra_reverse_ = std::move(counts);
    return refuse("a reverse zone lost its last address");
  }
  std::weak_ptr<const zone::Snapshot> base = editor_.current();
  auto patched = editor_.apply(patch);
  if (!patched) {
    extra_reverse_ = std::move(counts);
    return refuse(patched.error().message);
  }
  applied_ = {std::make_shared<const zone::Patch>(std::move(patch)), std::move(base)};
  for (auto& [key, now] : next) {
    auto old = services_.find(key);
    // The common change, endpoints: the entry and its addresses' owners stay.
    if (old != services_.end() && now && now->cluster_ips == old->second.cluster_ips) {
      old->second = std::move(*now);
      continue;
    }
    if (old != services_.end()) {
      for (const auto& ip : old->second.cluster_ips)
        if (auto owner = cluster_ips_.find(ip); owner != cluster_ips_.end() && owner->second == key)
          cluster_ips_.erase(owner);
      services_.erase(old);
    }
    if (!now) continue;
    for (const auto& ip : now->cluster_ips) cluster_ips_[ip] = key;
    services_.emplace(key, std::move(*now));
  }
  for (const auto& [ns, exists] : namespaces)
    if (exists)
      namespaces_.insert(ns);
    else
      namespaces_.erase(ns);
  options_.serial = serial;
  return *patched;
}

}  // namespace dnsd::server
