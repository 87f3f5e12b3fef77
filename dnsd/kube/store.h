// The cluster as the API server last told it: the trimmed objects of every watched
// resource, changed by watch events and replaced by relists. Written by the client's thread,
// copied out whole by whoever builds the zone; a mutex guards it (never the query path).
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "dnsd/cluster/objects.h"
#include "dnsd/kube/decode.h"

namespace dnsd::kube {

class Store {
 public:
  // A watch event's object. True when what DNS sees changed: an update that leaves every
  // field DNS reads as it was (a Pod's status churn, a label nobody reads) changes nothing
  // (CoreDNS controller.go detectChanges).
  bool apply(Resource resource, EventType type, Object&& object);

  // A relist: begin, one listed() per item, then end(), which forgets every object the
  // list did not name. Nothing is removed before the list is whole, so no name vanishes
  // while it is read; end() is true when anything changed.
  // `ns`: the namespace the list covers (empty: all), so that lists of other namespaces'
  // objects keep theirs.
  void begin(Resource resource, const std::string& ns);
  bool listed(Resource resource, const std::string& ns, Object&& object);
  bool end(Resource resource, const std::string& ns);

  size_t count(Resource resource) const;
  // A copy of everything, as manifest/ would give it: the zone is built from this.
  cluster::Inputs inputs() const;
  // The same, and the changes since are forgotten: the zone built from it holds them all.
  cluster::Inputs takeInputs();

  // What changed since the last takeInputs() or takeChanges(), for a zone that applies only
  // that (server/incremental_zone.h): every Service whose records may differ, with what they
  // are made of now, and every namespace that may have come or gone.
  struct ServiceObjects {
    std::string ns, name;
    std::optional<cluster::Service> service;     // none: deleted
    std::vector<cluster::EndpointSlice> slices;  // labelled with its name, in key order
  };
  struct Changes {
    std::vector<ServiceObjects> services;
    std::vector<std::pair<std::string, bool>> namespaces;  // name, whether it exists now
    bool pods = false;                                     // a Pod changed
    size_t service_count = 0;                              // Services in the store
    size_t pod_count = 0;                                  // Pods in the store
    bool empty() const { return services.empty() && namespaces.empty() && !pods; }
  };
  Changes takeChanges();
  // How many Services changed since the last take, and how many the store holds: whether the
  // changes are worth taking one by one, before they are copied.
  std::pair<size_t, size_t> changedServices() const;

  // Every object copied into memory the calling thread allocates, and the old copies freed:
  // after long churn the objects lie scattered over the pages of the thread that read the
  // events, among freed ones, and a page one object is left on cannot be handed back.
  // Only once the objects replaced or deleted since the last compaction number a sixteenth
  // of those held (as a zone grown by patches is built whole, server/incremental_zone.h):
  // the copy is worth its cost after churn, not after a few changes or the first lists,
  // which leave no holes. True if it copied.
  bool compactIfChurned();

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, name (sorts as normalize())
  using Scope = std::pair<Resource, std::string>;
  bool upsert(Resource resource, Object&& object);
  bool erase(Resource resource, const Key& key);
  // Notes what a change of this object (before or after it) touches.
  void touch(Resource resource, const Key& key);
  bool namespaceExists(const std::string& ns) const;
  size_t held() const;  // objects of every resource
  template <typename Objects>
  void copyAnew(Objects& objects);  // compactIfChurned()'s copy, a run of keys at a time
  cluster::Inputs copy() const;     // under mutex_

  mutable std::mutex mutex_;
  std::map<Key, cluster::Service> services_;
  std::map<Key, cluster::EndpointSlice> slices_;
  // The slices by the Service their label names: (namespace, Service, slice name), so that
  // a changed Service finds its slices without reading its whole namespace's.
  std::set<std::tuple<std::string, std::string, std::string>> slices_by_service_;
  std::map<Key, cluster::EndpointSlice>::iterator eraseSlice(
      std::map<Key, cluster::EndpointSlice>::iterator it);
  std::map<Key, cluster::Pod> pods_;
  std::set<Key> namespaces_;             // ("", name)
  std::map<Scope, std::set<Key>> seen_;  // the keys each list under way has named
  // Since the last take: Services by key, namespaces, whether a Pod changed.
  std::set<Key> touched_services_;
  std::set<std::string> touched_namespaces_;
  bool touched_pods_ = false;
  size_t freed_ = 0;  // objects replaced or deleted since the last compaction
};

}  // namespace dnsd::kube
