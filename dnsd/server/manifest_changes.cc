#include "dnsd/server/manifest_changes.h"

#include <cstdio>
#include <set>
#include <utility>

#include "dnsd/kube/decode.h"
#include "dnsd/server/incremental_zone.h"

namespace dnsd::server {
namespace {

using kube::EventType;
using kube::Resource;

// The store's key of an object ("NS/NAME"): a '/' in a name would split it elsewhere.
bool slashIn(const cluster::Meta& meta) {
  return meta.ns.find('/') != std::string::npos || meta.name.find('/') != std::string::npos;
}

// Why a full build of a file's objects is not the sum of their Services' own normalizations
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

// Each object of a file with its store key. A v1 Endpoints becomes one slice per subset, all
// of its name (and two Endpoints of one name are no error, as the subsets of one are not):
// each gets a key of its own, which a name cannot hold, in the order read.
template <typename F>
void eachObject(const std::string& file, const cluster::Inputs& inputs, F f) {
  for (const cluster::Service& s : inputs.services) f(Resource::Services, keyOf(s.meta), s);
  std::map<std::string, int> subsets;
  for (const cluster::EndpointSlice& s : inputs.slices) {
    std::string key = keyOf(s.meta);
    if (s.legacy) {
      char index[16];
      std::snprintf(index, sizeof index, "#%09d", subsets[key]++);
      key += "#endpoints#" + file + index;
    }
    f(Resource::EndpointSlices, std::move(key), s);
  }
  for (const cluster::Pod& p : inputs.pods) f(Resource::Pods, keyOf(p.meta), p);
}

std::string ownerKey(Resource resource, const std::string& key) {
  return static_cast<char>('0' + static_cast<int>(resource)) + key;
}

}  // namespace

bool ManifestChanges::supported(const Config& config) {
  return !config.manifests.empty() && !config.kube.enabled() && config.zone_files.empty() &&
         config.reload_cache && IncrementalZone::optionsAllow(config);
}

void ManifestChanges::add(Resource resource, std::string key, const auto& object,
                          const std::string& file) {
  auto [owner, fresh] = owners_.try_emplace(ownerKey(resource, key), file);
  if (!fresh && owner->second != file) {
    duplicate_ = true;
    return;
  }
  store_.apply(resource, EventType::Added, {std::move(key), object, ""});
}

void ManifestChanges::remove(Resource resource, const std::string& key, const std::string& file) {
  auto owner = owners_.find(ownerKey(resource, key));
  if (owner == owners_.end() || owner->second != file) {
    duplicate_ = true;  // it was defined twice
    return;
  }
  owners_.erase(owner);
  store_.apply(resource, EventType::Deleted, {key, {}, ""});
}

// A namespace exists while a file has a Namespace object of that name.
void ManifestChanges::countNamespace(const std::string& ns, int by) {
  int& files = namespaces_[ns];
  files += by;
  if (files == 1 && by > 0)
    store_.apply(Resource::Namespaces, EventType::Added, {ns, kube::NamespaceObject{ns}, ""});
  if (files == 0) {
    namespaces_.erase(ns);
    store_.apply(Resource::Namespaces, EventType::Deleted, {ns, {}, ""});
  }
}

base::Result<kube::Store::Changes> ManifestChanges::apply(
    const std::vector<manifest::FileChange>& files, const manifest::Cache& cache) {
  if (duplicate_) return relist(cache);
  // What a file no longer holds goes first, so that an object moved to another file in one
  // reload is no duplicate.
  for (const manifest::FileChange& change : files) {
    std::set<std::string> now;
    eachObject(change.file, change.now, [&](Resource r, std::string key, const auto&) {
      if (!now.insert(ownerKey(r, key)).second) duplicate_ = true;  // twice in one file
    });
    eachObject(change.file, change.before, [&](Resource r, std::string key, const auto&) {
      if (!now.count(ownerKey(r, key))) remove(r, key, change.file);
    });
    const std::set<std::string> before_ns(change.before.namespaces.begin(),
                                          change.before.namespaces.end());
    const std::set<std::string> now_ns(change.now.namespaces.begin(), change.now.namespaces.end());
    for (const std::string& ns : before_ns)
      if (!now_ns.count(ns)) countNamespace(ns, -1);
  }
  for (const manifest::FileChange& change : files) {
    eachObject(change.file, change.now, [&](Resource r, std::string key, const auto& object) {
      add(r, std::move(key), object, change.file);
    });
    const std::set<std::string> before_ns(change.before.namespaces.begin(),
                                          change.before.namespaces.end());
    const std::set<std::string> now_ns(change.now.namespaces.begin(), change.now.namespaces.end());
    for (const std::string& ns : now_ns)
      if (!before_ns.count(ns)) countNamespace(ns, 1);
    if (std::string why = acrossObjects(change.now); !why.empty())
      whole_[change.file] = std::move(why);
    else
      whole_.erase(change.file);
  }
  kube::Store::Changes changes = store_.takeChanges();
  // A full build fails on it; the store kept one of the two, and lists every file again at
  // the next reload.
  if (duplicate_) return base::Error{"an object is defined twice", ""};
  // The zone of the last files was built whole, of what the store does not hold (a
  // workload's Pods and namespace): what went since is not among the changes either.
  const std::string why = whole_.empty() ? std::string() : whole_.begin()->second;
  const bool after_whole = std::exchange(built_whole_, !why.empty());
  if (!why.empty()) return base::Error{why, ""};
  if (after_whole) return base::Error{"the last files were built whole", ""};
  return changes;
}

// Every file's objects listed into the store again, as a relist of every resource.
base::Result<kube::Store::Changes> ManifestChanges::relist(const manifest::Cache& cache) {
  owners_.clear();
  namespaces_.clear();
  whole_.clear();
  duplicate_ = false;
  constexpr Resource kListed[] = {Resource::Services, Resource::EndpointSlices, Resource::Pods,
                                  Resource::Namespaces};
  for (Resource r : kListed) store_.begin(r, "");
  cache.forEachFile([&](const std::string& file, const cluster::Inputs& inputs) {
    eachObject(file, inputs, [&](Resource r, std::string key, const auto& object) {
      auto [owner, fresh] = owners_.try_emplace(ownerKey(r, key), file);
      if (!fresh) duplicate_ = true;
      store_.listed(r, "", {std::move(key), object, ""});
    });
    for (const std::string& ns :
         std::set<std::string>(inputs.namespaces.begin(), inputs.namespaces.end()))
      if (++namespaces_[ns] == 1)
        store_.listed(Resource::Namespaces, "", {ns, kube::NamespaceObject{ns}, ""});
    if (std::string why = acrossObjects(inputs); !why.empty()) whole_[file] = std::move(why);
  });
  for (Resource r : kListed) store_.end(r, "");
  store_.takeChanges();
  built_whole_ = !whole_.empty();
  return base::Error{"an object was defined twice: every file listed again", ""};
}

}  // namespace dnsd::server
