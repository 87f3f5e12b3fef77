#include "dnsd/kube/store.h"

#include <iterator>
#include <type_traits>

#include "dnsd/cluster/names.h"

namespace dnsd::kube {
namespace {

using Key = std::pair<std::string, std::string>;

Key keyOf(const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return {std::string(), key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

template <typename T>
bool put(std::map<Key, T>& into, const Key& key, T&& object) {
  auto [it, fresh] = into.try_emplace(key, std::move(object));
  if (fresh) return true;
  if (it->second == object) return false;
  it->second = std::move(object);
  return true;
}

template <typename T>
std::vector<T> values(const std::map<Key, T>& from) {
  std::vector<T> out;
  out.reserve(from.size());
  for (const auto& [key, object] : from) out.push_back(object);
  return out;
}

const Key& keyOfEntry(const Key& key) { return key; }
template <typename T>
const Key& keyOfEntry(const std::pair<const Key, T>& entry) {
  return entry.first;
}

}  // namespace

void Store::touch(Resource resource, const Key& key) {
  switch (resource) {
    case Resource::Services:
      touched_services_.insert(key);
      touched_namespaces_.insert(key.first);
      break;
    case Resource::EndpointSlices:
      // A slice belongs to the Service its label names, before and after the change.
      if (auto it = slices_.find(key); it != slices_.end())
        touched_services_.emplace(key.first, it->second.service_name);
      touched_namespaces_.insert(key.first);
      break;
    case Resource::Namespaces:
      touched_namespaces_.insert(key.second);
      break;
    case Resource::Pods:
      touched_pods_ = true;
      touched_namespaces_.insert(key.first);
      break;
  }
}

std::map<Key, cluster::EndpointSlice>::iterator Store::eraseSlice(
    std::map<Key, cluster::EndpointSlice>::iterator it) {
  slices_by_service_.erase({it->first.first, it->second.service_name, it->first.second});
  return slices_.erase(it);
}

bool Store::erase(Resource resource, const Key& key) {
  touch(resource, key);  // before: a slice's Service is read from it
  const size_t before = held();
  switch (resource) {
    case Resource::Services:
      services_.erase(key);
      break;
    case Resource::EndpointSlices:
      if (auto it = slices_.find(key); it != slices_.end()) eraseSlice(it);
      break;
    case Resource::Namespaces:
      namespaces_.erase(key);
      break;
    case Resource::Pods:
      pods_.erase(key);
      break;
  }
  if (held() == before) return false;
  ++freed_;
  return true;
}

size_t Store::held() const {
  return services_.size() + slices_.size() + pods_.size() + namespaces_.size();
}

bool Store::upsert(Resource resource, Object&& object) {
  const Key key = keyOf(object.key);
  // Nothing DNS can use (or rejected): an earlier version is forgotten.
  if (std::holds_alternative<std::monostate>(object.value)) return erase(resource, key);
  // A slice's Service before the change: a new label moves it to another Service.
  std::optional<std::string> was;
  if (resource == Resource::EndpointSlices)
    if (auto it = slices_.find(key); it != slices_.end()) was = it->second.service_name;
  bool changed = false;
  const size_t before = held();
  switch (resource) {
    case Resource::Services:
      changed = put(services_, key, std::get<cluster::Service>(std::move(object.value)));
      break;
    case Resource::EndpointSlices:
      changed = put(slices_, key, std::get<cluster::EndpointSlice>(std::move(object.value)));
      if (changed) {
        const std::string& now = slices_.find(key)->second.service_name;
        if (was && *was == now) {
          was.reset();  // still its Service's: the index holds it, touch() names the Service
        } else {
          if (was) slices_by_service_.erase({key.first, *was, key.second});
          slices_by_service_.emplace(key.first, now, key.second);
        }
      }
      break;
    case Resource::Namespaces:
      changed = namespaces_.insert(key).second;
      break;
    case Resource::Pods:
      changed = put(pods_, key, std::get<cluster::Pod>(std::move(object.value)));
      break;
  }
  if (!changed) return false;      // a relist names every object: only what changed is touched
  if (held() == before) ++freed_;  // an object replaced, not added
  touch(resource, key);
  if (was) touched_services_.emplace(key.first, std::move(*was));
  return true;
}

bool Store::apply(Resource resource, EventType type, Object&& object) {
  if (object.key.empty()) return false;
  std::lock_guard lock(mutex_);
  if (type == EventType::Deleted) return erase(resource, keyOf(object.key));
  return upsert(resource, std::move(object));
}

void Store::begin(Resource resource, const std::string& ns) {
  std::lock_guard lock(mutex_);
  seen_[{resource, ns}].clear();
}

bool Store::listed(Resource resource, const std::string& ns, Object&& object) {
  if (object.key.empty()) return false;
  std::lock_guard lock(mutex_);
  seen_[{resource, ns}].insert(keyOf(object.key));
  return upsert(resource, std::move(object));
}

bool Store::end(Resource resource, const std::string& ns) {
  std::lock_guard lock(mutex_);
  const std::set<Key> seen = std::move(seen_[{resource, ns}]);
  seen_.erase({resource, ns});
  // A Namespace's key is ("", name): a list of one namespace covers that name alone.
  auto covers = [&](const Key& key) {
    if (ns.empty()) return true;
    return resource == Resource::Namespaces ? key.second == ns : key.first == ns;
  };
  bool changed = false;
  auto forget = [&](auto& map) {
    for (auto it = map.begin(); it != map.end();) {
      const Key& key = keyOfEntry(*it);
      if (!covers(key) || seen.count(key)) {
        ++it;
      } else {
        touch(resource, key);
        if constexpr (std::is_same_v<std::decay_t<decltype(map)>, decltype(slices_)>)
          it = eraseSlice(it);
        else
          it = map.erase(it);
        changed = true;
      }
    }
  };
  switch (resource) {
    case Resource::Services:
      forget(services_);
      break;
    case Resource::EndpointSlices:
      forget(slices_);
      break;
    case Resource::Namespaces:
      forget(namespaces_);
      break;
    case Resource::Pods:
      forget(pods_);
      break;
  }
  return changed;
}

size_t Store::count(Resource resource) const {
  std::lock_guard lock(mutex_);
  switch (resource) {
    case Resource::Services:
      return services_.size();
    case Resource::EndpointSlices:
      return slices_.size();
    case Resource::Namespaces:
      return namespaces_.size();
    case Resource::Pods:
      return pods_.size();
  }
  return 0;
}

// As cluster::normalize() collects namespaces: Namespace objects and every namespace an
// object it keeps names.
bool Store::namespaceExists(const std::string& ns) const {
  if (!cluster::isDnsLabel(ns)) return false;
  if (namespaces_.count({std::string(), ns})) return true;
  auto names = [&](const auto& map, auto kept) {
    for (auto it = map.lower_bound({ns, std::string()}); it != map.end() && it->first.first == ns;
         ++it)
      if (kept(it->first.second)) return true;
    return false;
  };
  auto any = [](const std::string&) { return true; };
  return names(services_, cluster::isDnsLabel) || names(slices_, any) ||
         names(pods_, cluster::isSubdomainName);
}

Store::Changes Store::takeChanges() {
  std::lock_guard lock(mutex_);
  Changes changes;
  for (const Key& key : touched_services_) {
    ServiceObjects& objects = changes.services.emplace_back();
    objects.ns = key.first;
    objects.name = key.second;
    if (auto it = services_.find(key); it != services_.end()) objects.service = it->second;
    for (auto it = slices_by_service_.lower_bound({key.first, key.second, std::string()});
         it != slices_by_service_.end() && std::get<0>(*it) == key.first &&
         std::get<1>(*it) == key.second;
         ++it)
      objects.slices.push_back(slices_.at({key.first, std::get<2>(*it)}));
  }
  for (const std::string& ns : touched_namespaces_)
    changes.namespaces.emplace_back(ns, namespaceExists(ns));
  changes.pods = touched_pods_;
  changes.service_count = services_.size();
  changes.pod_count = pods_.size();
  touched_services_.clear();
  touched_namespaces_.clear();
  touched_pods_ = false;
  return changes;
}

bool Store::compactIfChurned() {
  {
    std::lock_guard lock(mutex_);
    if (freed_ == 0 || freed_ * 16 < held()) return false;
    freed_ = 0;
  }
  copyAnew(services_);
  copyAnew(slices_);
  copyAnew(slices_by_service_);
  copyAnew(pods_);
  copyAnew(namespaces_);
  return true;
}

// Each entry copied into a node of its own, a few hundred under the lock at a time, so that
// the client's thread never waits long for it (the whole store takes a few hundred
// milliseconds at tens of thousands of Services); what it changes between two runs is
// allocated anew anyway. The old nodes are freed only once every entry is copied: freed as
// it goes, each would go to this thread's cache of free chunks (glibc's tcache, which takes
// any arena's), and the next copy of its size would be made in the old one's place.
template <typename Objects>
void Store::copyAnew(Objects& objects) {
  constexpr size_t kRun = 256;
  std::vector<typename Objects::node_type> old;
  std::optional<typename Objects::key_type> last;
  for (bool more = true; more;) {
    std::lock_guard lock(mutex_);
    auto it = last ? objects.upper_bound(*last) : objects.begin();
    Objects copies;
    for (size_t n = 0; n < kRun && it != objects.end(); ++n) {
      copies.insert(copies.end(), *it);
      old.push_back(objects.extract(it++));
    }
    more = it != objects.end();
    if (more) {
      const auto& done = *std::prev(copies.end());
      if constexpr (std::is_same_v<typename Objects::key_type, typename Objects::value_type>)
        last = done;  // a set
      else
        last = done.first;
    }
    objects.merge(copies);
  }
}

std::pair<size_t, size_t> Store::changedServices() const {
  std::lock_guard lock(mutex_);
  return {touched_services_.size(), services_.size()};
}

cluster::Inputs Store::takeInputs() {
  std::lock_guard lock(mutex_);
  cluster::Inputs taken = copy();
  touched_services_.clear();
  touched_namespaces_.clear();
  touched_pods_ = false;
  return taken;
}

cluster::Inputs Store::inputs() const {
  std::lock_guard lock(mutex_);
  return copy();
}

cluster::Inputs Store::copy() const {
  cluster::Inputs inputs;
  for (const Key& key : namespaces_) inputs.namespaces.push_back(key.second);
  inputs.services = values(services_);
  inputs.slices = values(slices_);
  inputs.pods = values(pods_);
  inputs.read_kinds["Service"] = static_cast<int>(services_.size());
  inputs.read_kinds["EndpointSlice"] = static_cast<int>(slices_.size());
  inputs.read_kinds["Namespace"] = static_cast<int>(namespaces_.size());
  if (!pods_.empty()) inputs.read_kinds["Pod"] = static_cast<int>(pods_.size());
  return inputs;
}

}  // namespace dnsd::kube
