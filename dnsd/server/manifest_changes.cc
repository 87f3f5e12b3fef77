#include "dnsd/server/manifest_changes.h"

#include <cstdio>
#include <map>
#include <utility>

#include "dnsd/kube/decode.h"
#include "dnsd/server/incremental_zone.h"

namespace dnsd::server {
namespace {

using kube::Resource;

// The store's key of an object ("NS/NAME"): a '/' in a name would split it elsewhere.
bool slashIn(const cluster::Meta& meta) {
  return meta.ns.find('/') != std::string::npos || meta.name.find('/') != std::string::npos;
}

// Why a full build of these objects is not the sum of their Services' own normalizations
// (cluster/normalize.cc), or empty: the steps that look across objects.
std::string acrossObjects(const cluster::Inputs& inputs) {
  // Pods made from workloads get addresses allocated among every Pod, and their namespaces
  // and selectors' endpoints come from those Pods; the store holds no workloads.
  if (!inputs.workloads.empty())
    return "workloads (" + inputs.workloads.front().meta.id() + ") make Pods";
  for (const cluster::Service& s : inputs.services) {
    // A ClusterIP dnsd allocates depends on every address the other Services hold: one
    // Service's change may move another's.
    if (!s.headless && s.type != cluster::ServiceType::ExternalName && s.cluster_ips.empty())
      return "Service " + s.meta.id() + " has no clusterIP: dnsd allocates it among all";
    if (slashIn(s.meta)) return "a name holds '/'";
  }
  for (const cluster::EndpointSlice& s : inputs.slices)
    if (slashIn(s.meta)) return "a name holds '/'";
  for (const cluster::Pod& p : inputs.pods)
    if (slashIn(p.meta)) return "a name holds '/'";
  for (const std::string& ns : inputs.namespaces)
    if (ns.find('/') != std::string::npos) return "a name holds '/'";
  return {};
}

std::string keyOf(const cluster::Meta& meta) { return meta.ns + "/" + meta.name; }

}  // namespace

bool ManifestChanges::supported(const Config& config) {
  return !config.manifests.empty() && !config.kube.enabled() && config.zone_files.empty() &&
         config.reload_cache && IncrementalZone::optionsAllow(config);
}

base::Result<kube::Store::Changes> ManifestChanges::list(const cluster::Inputs& inputs) {
  store_.begin(Resource::Namespaces, "");
  for (const std::string& ns : inputs.namespaces)
    store_.listed(Resource::Namespaces, "", {ns, kube::NamespaceObject{ns}, ""});
  store_.end(Resource::Namespaces, "");
  store_.begin(Resource::Services, "");
  for (const cluster::Service& s : inputs.services)
    store_.listed(Resource::Services, "", {keyOf(s.meta), s, ""});
  store_.end(Resource::Services, "");
  // A v1 Endpoints becomes one slice per subset, all of its name (and two Endpoints of one
  // name are no error, as the subsets of one are not): each gets a key of its own, in the
  // order read, which a name cannot hold.
  std::map<std::pair<std::string, std::string>, int> subsets;
  store_.begin(Resource::EndpointSlices, "");
  for (const cluster::EndpointSlice& s : inputs.slices) {
    std::string key = keyOf(s.meta);
    if (s.legacy) {
      char index[24];
      std::snprintf(index, sizeof index, "#endpoints#%09d", subsets[{s.meta.ns, s.meta.name}]++);
      key += index;
    }
    store_.listed(Resource::EndpointSlices, "", {std::move(key), s, ""});
  }
  store_.end(Resource::EndpointSlices, "");
  store_.begin(Resource::Pods, "");
  for (const cluster::Pod& p : inputs.pods)
    store_.listed(Resource::Pods, "", {keyOf(p.meta), p, ""});
  store_.end(Resource::Pods, "");
  kube::Store::Changes changes = store_.takeChanges();
  // An object defined twice fails a full build (the store kept one of them).
  if (store_.count(Resource::Services) != inputs.services.size() ||
      store_.count(Resource::EndpointSlices) != inputs.slices.size() ||
      store_.count(Resource::Pods) != inputs.pods.size())
    return base::Error{"an object is defined twice", ""};
  // The zone of the last list was built whole, of what the store does not hold (a
  // workload's Pods and namespace): what went since is not among the changes either.
  std::string why = acrossObjects(inputs);
  const bool after_whole = std::exchange(built_whole_, !why.empty());
  if (!why.empty()) return base::Error{why, ""};
  if (after_whole) return base::Error{"the last objects were built whole", ""};
  return changes;
}

}  // namespace dnsd::server
