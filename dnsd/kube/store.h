// The cluster as the API server last told it: the trimmed objects of every watched
// resource, changed by watch events and replaced by relists. Written by the client's thread,
// copied out whole by whoever builds the zone; a mutex guards it (never the query path).
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

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

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, name (sorts as normalize())
  using Scope = std::pair<Resource, std::string>;
  bool upsert(Resource resource, Object&& object);
  bool erase(Resource resource, const Key& key);

  mutable std::mutex mutex_;
  std::map<Key, cluster::Service> services_;
  std::map<Key, cluster::EndpointSlice> slices_;
  std::map<Key, cluster::Pod> pods_;
  std::set<Key> namespaces_;  // ("", name)
  std::map<Scope, std::set<Key>> seen_;  // the keys each list under way has named
};

}  // namespace dnsd::kube
