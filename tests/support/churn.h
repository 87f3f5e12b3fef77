// A small cluster under random change, as the Kubernetes API server would report it, and the
// check that what dnsd serves after any sequence of its events is the zone a fresh start on
// the final state serves. Shared by tests/unit/server/churn_test.cc (seeded choices) and
// tests/fuzz/fuzz_churn.cc (the fuzzer's bytes).
//
// The API server's truth is kept as JSON objects. Each change is sent as the API server
// sends it: a watch event (one JSON line) through kube::Decoder into kube::Store, or a
// relist in pages after the watch was lost (changes made meanwhile are never sent as
// events; the list shows them, and objects it no longer names must go). The zone is rebuilt
// only when the store says something changed, as the API client and the server do, so a
// store that misses a change leaves a stale zone behind and fails the check.
//
// Three zones are compared by `dnsd records` text (server::loadRecords, zone::zonesText):
// - served: the store after the events, rebuilt when it reported a change;
// - listed: the final state as one fresh list into an empty store;
// - manifests: the final state as a `kind: List` manifest read by manifest/. Manifests have
//   no control plane, so the generator writes no selectors (dnsd would fill in endpoints
//   from Pods) and leaves out the Pods the API path drops (no IP yet, finished, deleting),
//   which dnsd would otherwise give addresses.
// And when the options allow the server to apply API events one Service at a time
// (server::IncrementalZone), the snapshot it patched is compared with a full build of the
// fresh list, node by node (tests/support/snapshot_dump.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "dnsd/kube/decode.h"
#include "dnsd/kube/store.h"
#include "dnsd/manifest/load.h"
#include "dnsd/server/config.h"
#include "dnsd/server/incremental_zone.h"
#include "dnsd/server/loader.h"
#include "dnsd/zone/presentation.h"
#include "tests/support/snapshot_dump.h"

namespace dnsd::testing::churn {

using kube::Resource;

// Where each random decision comes from.
class Choices {
 public:
  virtual ~Choices() = default;
  virtual uint32_t below(uint32_t n) = 0;  // in [0, n); n > 0
  virtual bool exhausted() const = 0;
  bool percent(uint32_t p) { return below(100) < p; }
  template <typename T>
  const T& one(const std::vector<T>& from) {
    return from[below(static_cast<uint32_t>(from.size()))];
  }
};

// A seeded generator: the same seed gives the same sequence on every machine (no
// std::uniform_int_distribution, whose results the standard leaves to the library).
class SeededChoices : public Choices {
 public:
  explicit SeededChoices(uint64_t seed) : rng_(seed) {}
  uint32_t below(uint32_t n) override { return static_cast<uint32_t>(rng_() % n); }
  bool exhausted() const override { return false; }

 private:
  std::mt19937_64 rng_;
};

// The fuzzer's bytes, one per decision; zeros once they run out.
class ByteChoices : public Choices {
 public:
  ByteChoices(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint32_t below(uint32_t n) override {
    if (pos_ >= size_) return 0;
    return data_[pos_++] % n;
  }
  bool exhausted() const override { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// ---- the objects: small pools, so that names, addresses and targets collide ----

inline const std::vector<std::string> kNamespaces = {"a", "b", "c"};
inline const std::vector<std::string> kServices = {"s0", "s1", "s2", "s3"};
inline const std::vector<std::string> kSlices = {"e0", "e1", "e2", "e3", "e4"};
inline const std::vector<std::string> kPods = {"p0", "p1", "p2", "p3"};
inline const std::vector<std::string> kClusterIps = {"10.96.0.1", "10.96.0.2", "10.96.0.3",
                                                     "10.96.0.4"};
inline const std::vector<std::string> kPodIps = {"10.244.0.1", "10.244.0.2", "10.244.0.3",
                                                 "10.244.0.4", "10.244.0.5", "10.244.0.6"};
inline const std::vector<std::string> kPodIps6 = {"fd00:244::1", "fd00:244::2", "fd00:244::3"};
inline const std::vector<std::string> kExternalIps = {"192.0.2.1", "192.0.2.2", "2001:db8::1"};
inline const std::vector<std::string> kExternalNames = {
    "example.com", "s0.a.svc.cluster.local", "S1.B.svc.cluster.local.", "s2.c.svc.cluster.local"};

inline std::string quoted(const std::string& text) { return "\"" + text + "\""; }

inline std::string list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]";
}

inline std::string metadata(const std::string& ns, const std::string& name,
                            const std::string& extra = "") {
  std::string out = "{\"name\":" + quoted(name);
  if (!ns.empty()) out += ",\"namespace\":" + quoted(ns);
  return out + extra + "}";
}

// A few ports, some unnamed (no SRV), some UDP.
inline std::string ports(Choices& c, bool service) {
  std::vector<std::string> out;
  const uint32_t n = c.below(3);
  for (uint32_t i = 0; i < n; ++i) {
    const int port =
        service ? 80 + static_cast<int>(c.below(3)) : 8080 + static_cast<int>(c.below(3));
    std::string p = "{\"port\":" + std::to_string(port) +
                    ",\"protocol\":" + quoted(c.percent(25) ? "UDP" : "TCP");
    if (!c.percent(20))
      p += ",\"name\":" + quoted(c.one(std::vector<std::string>{"http", "dns", "web"}));
    out.push_back(p + "}");
  }
  return list(out);
}

struct Object {
  Resource resource;
  std::string ns;  // empty for a Namespace
  std::string name;
  std::string json;      // as the API server returns it (apiVersion and kind included)
  std::string ip;        // a Service's first ClusterIP, for the allocator's uniqueness
  bool manifest = true;  // false: a Pod the API path drops, left out of the manifests
  std::string key() const { return ns.empty() ? name : ns + "/" + name; }
};

inline const char* kindOf(Resource r) {
  switch (r) {
    case Resource::Services:
      return "Service";
    case Resource::EndpointSlices:
      return "EndpointSlice";
    case Resource::Namespaces:
      return "Namespace";
    case Resource::Pods:
      return "Pod";
  }
  return "";
}

inline std::string apiVersionOf(Resource r) {
  return r == Resource::EndpointSlices ? "discovery.k8s.io/v1" : "v1";
}

inline std::string wrap(Resource r, const std::string& meta, const std::string& rest) {
  return "{\"apiVersion\":" + quoted(apiVersionOf(r)) + ",\"kind\":" + quoted(kindOf(r)) +
         ",\"metadata\":" + meta + rest + "}";
}

// A Service as the API server holds it: ClusterIP (sometimes dual stack), headless,
// NodePort or ExternalName. `ip` is the ClusterIP it gets (the caller keeps them unique).
inline Object service(Choices& c, const std::string& ns, const std::string& name,
                      const std::string& ip) {
  Object o{Resource::Services, ns, name, "", "", true};
  const uint32_t kind = c.below(10);
  std::string spec;
  const std::string extra =
      c.percent(30) ? ",\"labels\":{\"tier\":" + quoted(std::to_string(c.below(3))) + "}" : "";
  if (kind < 2) {
    spec = "\"type\":\"ClusterIP\",\"clusterIP\":\"None\",\"clusterIPs\":[\"None\"]";
  } else if (kind < 3) {
    spec = "\"type\":\"ExternalName\",\"externalName\":" + quoted(c.one(kExternalNames));
  } else {
    o.ip = ip;
    std::vector<std::string> ips{quoted(ip)};
    if (c.percent(20)) ips.push_back(quoted(std::string("fd00:96::") + ip.back()));
    spec = std::string("\"type\":") + (kind < 5 ? "\"NodePort\"" : "\"ClusterIP\"") +
           ",\"clusterIP\":" + quoted(ip) + ",\"clusterIPs\":" + list(ips);
  }
  if (c.percent(25)) spec += ",\"publishNotReadyAddresses\":true";
  spec += ",\"ports\":" + ports(c, true);
  // Addresses outside the cluster, served under --external-zone.
  if (c.percent(20)) spec += ",\"externalIPs\":[" + quoted(c.one(kExternalIps)) + "]";
  std::string status;
  if (c.percent(20))
    status = ",\"status\":{\"loadBalancer\":{\"ingress\":[" +
             std::string(c.percent(50) ? "{\"ip\":" + quoted(c.one(kExternalIps)) + "}"
                                       : "{\"hostname\":\"lb.example.net\"}") +
             "]}}";
  o.json = wrap(o.resource, metadata(ns, name, extra), ",\"spec\":{" + spec + "}" + status);
  return o;
}

// An EndpointSlice that names a Service by its label (or none), with endpoints ready, not
// ready or terminating, some with hostnames and Pods.
inline Object slice(Choices& c, const std::string& ns, const std::string& name) {
  Object o{Resource::EndpointSlices, ns, name, "", "", true};
  const bool v6 = c.percent(20);
  const bool fqdn = c.percent(5);
  std::string labels;
  if (!c.percent(10))
    labels = ",\"labels\":{\"kubernetes.io/service-name\":" + quoted(c.one(kServices)) + "}";
  std::vector<std::string> endpoints;
  const uint32_t n = c.below(4);
  for (uint32_t i = 0; i < n; ++i) {
    std::string e = "{\"addresses\":[" +
                    quoted(fqdn ? "x.example.com"
                           : v6 ? c.one(kPodIps6)
                                : c.one(kPodIps)) +
                    "]";
    const uint32_t ready = c.below(6);
    if (ready == 0)
      e += ",\"conditions\":{\"ready\":false}";
    else if (ready == 1)
      e += ",\"conditions\":{\"ready\":false,\"terminating\":true}";
    else if (ready == 2)
      e += ",\"conditions\":{\"ready\":true}";
    else if (ready == 3)
      e += ",\"conditions\":{}";
    if (c.percent(40)) e += ",\"hostname\":" + quoted(c.one(std::vector<std::string>{"h0", "h1"}));
    if (c.percent(50))
      e += ",\"targetRef\":{\"kind\":\"Pod\",\"name\":" + quoted(c.one(kPods)) +
           ",\"namespace\":" + quoted(ns) + "}";
    endpoints.push_back(e + "}");
  }
  o.json = wrap(o.resource, metadata(ns, name, labels),
                std::string(",\"addressType\":") +
                    (fqdn ? "\"FQDN\""
                     : v6 ? "\"IPv6\""
                          : "\"IPv4\"") +
                    ",\"endpoints\":" + list(endpoints) + ",\"ports\":" + ports(c, false));
  return o;
}

// A Pod: running with one or two addresses, pending without one, finished, or deleting.
inline Object pod(Choices& c, const std::string& ns, const std::string& name) {
  Object o{Resource::Pods, ns, name, "", "", true};
  const uint32_t state = c.below(10);
  std::string extra, status;
  if (state == 0) {
    status = "{\"phase\":\"Pending\"}";
    o.manifest = false;
  } else {
    const std::string ip = c.one(kPodIps);
    std::vector<std::string> ips{"{\"ip\":" + quoted(ip) + "}"};
    if (c.percent(20)) ips.push_back("{\"ip\":" + quoted(c.one(kPodIps6)) + "}");
    const char* phase = state == 1 ? "Succeeded" : "Running";
    o.manifest = state >= 3;
    if (state == 2) extra = ",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\"";
    status = std::string("{\"phase\":\"") + phase + "\",\"podIP\":" + quoted(ip) +
             ",\"podIPs\":" + list(ips) + "}";
  }
  if (c.percent(30)) extra += ",\"labels\":{\"app\":" + quoted(c.one(kServices)) + "}";
  o.json = wrap(o.resource, metadata(ns, name, extra), ",\"status\":" + status);
  return o;
}

inline Object namespaceObject(const std::string& name) {
  Object o{Resource::Namespaces, "", name, "", "", true};
  o.json = wrap(o.resource, metadata("", name), ",\"status\":{\"phase\":\"Active\"}");
  return o;
}

// ---- the run ----

struct Options {
  int steps = 40;
  // The manifest comparison after every step (else after the last only): reading the
  // manifest costs as much as the rest of a check.
  bool manifests_each_step = true;
  // Watch only these namespaces (--kube-namespaces): one watch and list per namespace.
  std::vector<std::string> watched;
  server::Config config;  // the zone's options (pod records, autopath...)
};

// The outcome of one sequence: empty `failure` when every check passed.
struct Outcome {
  std::string failure;  // what differed, the zones and the events that led there
  int checks = 0;
  int applied = 0;  // publications the incremental path made without a full build
  int compacted = 0;  // patched zones grown enough to be built whole again (server.cc)
};

inline std::string recordsOf(const server::Config& config, cluster::Inputs inputs,
                             std::string& error) {
  server::ApiObjects api{std::move(inputs), true};
  auto zones = server::loadRecords(config, 1, &api);
  if (!zones) {
    error = zones.error().str();
    return {};
  }
  return zone::zonesText(*zones);
}

// The first line where two zones' texts differ, with both lines.
inline std::string firstDifference(const std::string& a, const std::string& b) {
  std::istringstream in_a(a), in_b(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(in_a, la));
    const bool more_b = static_cast<bool>(std::getline(in_b, lb));
    if (!more_a && !more_b) return "no difference";
    if (!more_a) la = "(end)";
    if (!more_b) lb = "(end)";
    if (la != lb) return "line " + std::to_string(line) + ": " + la + "  vs  " + lb;
  }
}

class Run {
 public:
  Run(Choices& choices, Options options) : c_(choices), options_(std::move(options)) {}

  // Every change in order, as the API server made it (and the relists), for a failure.
  const std::string& events() const { return log_; }

  Outcome go() {
    // Start as dnsd does: every resource listed once.
    for (Resource r : kResources) relist(r, false);
    publish();
    check("after the first lists", true);
    int step = 0;
    for (; step < options_.steps && outcome_.failure.empty() && !c_.exhausted(); ++step) {
      change();
      check("after step " + std::to_string(step), options_.manifests_each_step);
    }
    if (!options_.manifests_each_step) check("after the last step", true);
    return outcome_;
  }

 private:
  static constexpr Resource kResources[] = {Resource::Namespaces, Resource::Services,
                                            Resource::EndpointSlices, Resource::Pods};
  using Key = std::pair<Resource, std::string>;

  bool watched(const Object& o) const {
    if (options_.watched.empty()) return true;
    const std::string& ns = o.resource == Resource::Namespaces ? o.name : o.ns;
    return std::find(options_.watched.begin(), options_.watched.end(), ns) !=
           options_.watched.end();
  }

  std::vector<std::string> scopes() const {
    return options_.watched.empty() ? std::vector<std::string>{""} : options_.watched;
  }

  bool inScope(const Object& o, const std::string& scope) const {
    if (scope.empty()) return true;
    return (o.resource == Resource::Namespaces ? o.name : o.ns) == scope;
  }

  void log(const std::string& line) { log_ += line + "\n"; }

  // ---- the API server's side ----

  // A watch event for the object, sent when a watch covers it.
  void send(const char* type, const Object& o) {
    log(std::string(type) + " " + o.json);
    if (!watched(o)) return;
    const std::string line = std::string("{\"type\":\"") + type + "\",\"object\":" + o.json + "}";
    auto event = decoder_.event(o.resource, line);
    if (!event) return fail("the decoder refused a watch event: " + event.error().message);
    if (store_.apply(o.resource, event->type, std::move(event->object))) dirty_ = true;
    publishIfDirty();
  }

  void put(Object o, bool event) {
    const Key key{o.resource, o.key()};
    auto it = truth_.find(key);
    const char* type = it == truth_.end() ? "ADDED" : "MODIFIED";
    truth_[key] = o;
    if (event) send(type, o);
  }

  void remove(const Key& key, bool event) {
    auto it = truth_.find(key);
    if (it == truth_.end()) return;
    const Object o = it->second;
    truth_.erase(it);
    if (event) send("DELETED", o);
  }

  // The Service holding a ClusterIP, if any.
  std::optional<Key> holderOf(const std::string& ip) const {
    for (const auto& [key, o] : truth_)
      if (o.resource == Resource::Services && o.ip == ip) return key;
    return std::nullopt;
  }

  // One change to the truth, in namespace `ns`; `event`: sent as a watch event (false: the
  // watch is down, a later list shows it). `resource` narrows the kind of change.
  void mutate(Resource resource, const std::string& ns, bool event) {
    const bool erase = c_.percent(30);
    switch (resource) {
      case Resource::Services: {
        const std::string name = c_.one(kServices);
        if (erase) return remove({resource, ns + "/" + name}, event);
        // The allocator never gives one ClusterIP to two Services: a reused one was freed
        // by a delete first (reported before the new owner appears).
        const std::string ip = c_.one(kClusterIps);
        Object o = service(c_, ns, name, ip);
        if (!o.ip.empty()) {
          auto holder = holderOf(o.ip);
          if (holder && holder->second != o.key()) {
            // Within one list's scope, or in order on the watches.
            if (!event && !inScope(truth_.at(*holder), ns)) return;
            log("(ClusterIP " + o.ip + " freed for " + o.key() + ")");
            remove(*holder, event);
          }
        }
        return put(std::move(o), event);
      }
      case Resource::EndpointSlices: {
        const std::string name = c_.one(kSlices);
        if (erase) return remove({resource, ns + "/" + name}, event);
        return put(slice(c_, ns, name), event);
      }
      case Resource::Pods: {
        const std::string name = c_.one(kPods);
        if (erase) return remove({resource, ns + "/" + name}, event);
        return put(pod(c_, ns, name), event);
      }
      case Resource::Namespaces: {
        if (!erase) return put(namespaceObject(ns), event);
        // Deleting a Namespace deletes what is in it first (the namespace controller).
        if (event) {
          std::vector<Key> inside;
          for (const auto& [key, o] : truth_)
            if (o.resource != Resource::Namespaces && o.ns == ns) inside.push_back(key);
          for (const Key& key : inside) remove(key, true);
        }
        return remove({resource, ns}, event);
      }
    }
  }

  // A relist of one resource (every scope): the watch was lost, changes were made meanwhile
  // (`missed`), and the list comes in pages; sometimes a list breaks off and starts over.
  void relist(Resource r, bool missed) {
    for (const std::string& scope : scopes()) {
      if (missed) {
        const uint32_t n = c_.below(4);
        for (uint32_t i = 0; i < n; ++i)
          mutate(r, scope.empty() ? c_.one(kNamespaces) : scope, false);
      }
      log(std::string("relist ") + kube::nameOf(r) + (scope.empty() ? "" : " in " + scope));
      if (c_.percent(10)) listPages(r, scope, true);
      listPages(r, scope, false);
    }
  }

  void listPages(Resource r, const std::string& scope, bool broken) {
    std::vector<const Object*> items;
    for (const auto& [key, o] : truth_)
      if (key.first == r && inScope(o, scope)) items.push_back(&o);
    store_.begin(r, scope);
    const size_t page = 1 + c_.below(4);
    for (size_t start = 0; start < items.size() || start == 0; start += page) {
      std::vector<std::string> jsons;
      for (size_t i = start; i < std::min(items.size(), start + page); ++i)
        jsons.push_back(items[i]->json);
      const bool last = start + page >= items.size();
      std::string body = std::string("{\"kind\":\"") + kindOf(r) +
                         "List\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"7\"" +
                         (last ? "" : ",\"continue\":\"more\"") + "},\"items\":" + list(jsons) +
                         "}";
      auto decoded = decoder_.list(r, body, [&](kube::Object&& object) {
        if (store_.listed(r, scope, std::move(object))) dirty_ = true;
      });
      if (!decoded) return fail("the decoder refused a list: " + decoded.error().message);
      publishIfDirty();  // the client reloads after each page that changed something
      if (broken) {
        log("  (the list broke off)");
        return;
      }
      if (last) break;
    }
    if (store_.end(r, scope)) dirty_ = true;
    publishIfDirty();
  }

  void change() {
    const uint32_t what = c_.below(20);
    const std::string ns = c_.one(kNamespaces);
    if (what < 5) return mutate(Resource::Services, ns, true);
    if (what < 10) return mutate(Resource::EndpointSlices, ns, true);
    if (what < 13) return mutate(Resource::Pods, ns, true);
    if (what < 15) return mutate(Resource::Namespaces, ns, true);
    if (what < 17) {
      // An update of a field DNS does not read: no change, and no rebuild needed.
      std::vector<Key> keys;
      for (const auto& [key, o] : truth_) keys.push_back(key);
      if (keys.empty()) return;
      Object o = truth_.at(c_.one(keys));
      const std::string field = "\"resourceVersion\":\"";
      if (const size_t old = o.json.find(field); old != std::string::npos)
        o.json.erase(old, o.json.find(',', old) + 1 - old);
      const size_t meta = o.json.find("\"metadata\":{") + 12;
      o.json.insert(meta, field + std::to_string(++version_) + "\",");
      return put(std::move(o), true);
    }
    relist(kResources[c_.below(4)], true);
  }

  // ---- dnsd's side ----

  void publishIfDirty() {
    if (dirty_) publish();
  }

  // The server's reload: the whole store built again. A build that fails keeps the zone
  // served before (server.cc), as when the store is caught between two consistent states.
  void publish() {
    dirty_ = false;
    std::string error;
    std::string text = recordsOf(options_.config, store_.inputs(), error);
    if (error.empty()) served_ = std::move(text);
    if (server::IncrementalZone::supported(options_.config)) applyChanges();
  }

  // The server's way with API events (server.cc reload): the store's changes applied to the
  // zone served, or else the zone built whole and followed from there.
  void applyChanges() {
    ++serial_;
    std::vector<std::string> warnings;
    if (incremental_.ready()) {
      auto patched = incremental_.apply(store_.takeChanges(), serial_, warnings);
      if (patched) {
        applied_ = *patched;
        ++outcome_.applied;
        // The server builds a grown zone whole once the API is quiet: here after one patch
        // in four that leaves it grown (a small zone is grown by any), so that runs of
        // patches on patches are tested as well as patches on the rebuilt zone.
        if (!incremental_.grown() || outcome_.applied % 4 != 0) return;
        ++outcome_.compacted;
        incremental_.invalidate();
      }
      // DNSD_CHURN_WHY=1: why each change was built whole, to see what the editor refuses.
      if (std::getenv("DNSD_CHURN_WHY"))
        std::fprintf(stderr, "built whole: %s\n", patched.error().message.c_str());
    }
    server::ApiObjects api{store_.takeInputs(), true};
    api.keep_cluster = true;
    auto loaded = server::loadZone(options_.config, serial_, nullptr, &api);
    if (!loaded) return incremental_.invalidate();
    applied_ = loaded->snapshot;
    incremental_.reset(std::move(*loaded->cluster), loaded->options,
                       std::move(loaded->own_apexes), loaded->snapshot, std::move(loaded->edit));
  }

  void fail(const std::string& why) {
    if (outcome_.failure.empty()) outcome_.failure = why + "\nevents:\n" + log_;
  }

  void check(const std::string& when, bool with_manifests) {
    if (!outcome_.failure.empty()) return;
    ++outcome_.checks;
    // The final state as one fresh list.
    kube::Store fresh;
    std::string manifest;
    for (Resource r : kResources) {
      for (const std::string& scope : scopes()) {
        fresh.begin(r, scope);
        for (const auto& [key, o] : truth_) {
          if (key.first != r || !inScope(o, scope)) continue;
          std::string body =
              std::string("{\"kind\":\"") + kindOf(r) + "List\",\"items\":[" + o.json + "]}";
          auto decoded = decoder_.list(
              r, body, [&](kube::Object&& object) { fresh.listed(r, scope, std::move(object)); });
          if (!decoded) return fail("the decoder refused a list: " + decoded.error().message);
          if (o.manifest) manifest += (manifest.empty() ? "" : ",") + o.json;
        }
        fresh.end(r, scope);
      }
    }
    std::string error;
    const std::string listed = recordsOf(options_.config, fresh.inputs(), error);
    if (!error.empty()) return fail(when + ": the fresh list does not build: " + error);
    if (served_ != listed)
      return fail(when + ": served after the events != built from one fresh list: " +
                  firstDifference(served_, listed) + "\nserved:\n" + served_ + "listed:\n" +
                  listed);
    if (applied_) {
      server::ApiObjects api{fresh.inputs(), true};
      auto built = server::loadZone(options_.config, applied_->serial(), nullptr, &api);
      if (!built) return fail(when + ": the fresh list does not build: " + built.error().str());
      const std::string a = testing::snapshotDump(*applied_),
                        b = testing::snapshotDump(*built->snapshot);
      if (a != b)
        return fail(when + ": the zone the events were applied to != built from one fresh " +
                    "list: " + firstDifference(a, b) + "\napplied:\n" + a + "built:\n" + b);
    }
    if (!with_manifests) return;
    cluster::Inputs from_manifest;
    auto read =
        manifest::loadText("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[" + manifest + "]}",
                           "churn.json", from_manifest);
    if (!read) return fail(when + ": the manifest does not load: " + read.error().str());
    const std::string manifests = recordsOf(options_.config, std::move(from_manifest), error);
    if (!error.empty()) return fail(when + ": the manifest does not build: " + error);
    if (listed != manifests)
      return fail(when + ": built from the API's list != built from manifests: " +
                  firstDifference(listed, manifests) + "\nlisted:\n" + listed + "manifests:\n" +
                  manifests);
  }

  Choices& c_;
  Options options_;
  std::map<Key, Object> truth_;
  kube::Decoder decoder_;
  kube::Store store_;
  bool dirty_ = false;
  std::string served_;
  // The incremental path's zone, when the options allow it.
  server::IncrementalZone incremental_;
  std::shared_ptr<const zone::Snapshot> applied_;
  uint32_t serial_ = 1;
  std::string log_;
  int version_ = 0;
  Outcome outcome_;
};

// The zone options and watched namespaces of one sequence, drawn from `c`.
inline Options randomOptions(Choices& c, int steps) {
  Options options;
  options.steps = steps;
  if (c.percent(20)) options.watched = {"a", "c"};
  const uint32_t pods = c.below(3);
  options.config.pods = pods == 0 ? "disabled" : pods == 1 ? "verified" : "insecure";
  options.config.endpoint_pod_names = c.percent(50);
  options.config.ptr_single = c.percent(30);
  options.config.autopath = c.percent(30);
  if (c.percent(30)) options.config.external_zones = {"example.org"};
  return options;
}

}  // namespace dnsd::testing::churn
