// normalize(): what a Kubernetes control plane would have made of the manifests. Steps:
// validate names, expand workloads into Pods, allocate Pod IPs and ClusterIPs, resolve each
// Service's endpoints. Every step works on sorted input, so input order never shows.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "dnsd/base/parallel.h"
#include "dnsd/cluster/address_allocator.h"
#include "dnsd/cluster/cluster.h"
#include "dnsd/cluster/endpoints.h"
#include "dnsd/cluster/names.h"

namespace dnsd::cluster {
namespace {

using Warnings = std::vector<std::string>;

// Kubernetes has no such limit; dnsd has one so that a typo in `replicas` fails the load
// instead of exhausting memory before the Pod CIDR runs out.
constexpr int kMaxReplicas = 100000;

// ---- Naming objects in messages ----

std::string_view kindOf(const Service&) { return "Service"; }
std::string_view kindOf(const Pod&) { return "Pod"; }
std::string_view kindOf(const EndpointSlice& slice) {
  return slice.legacy ? "Endpoints" : "EndpointSlice";
}
std::string_view kindOf(const Workload& workload) {
  switch (workload.kind) {
    case WorkloadKind::StatefulSet:
      return "StatefulSet";
    case WorkloadKind::Deployment:
      return "Deployment";
    case WorkloadKind::ReplicaSet:
      return "ReplicaSet";
  }
  return "Workload";
}

// "Service default/web"
template <typename T>
std::string subject(const T& object) {
  return std::string(kindOf(object)) + " " + object.meta.id();
}

// "zones/a.yaml:3: ", or nothing when the source is unknown.
std::string prefix(const Source& source) {
  std::string where = source.str();
  return where.empty() ? where : where + ": ";
}

// " (zones/a.yaml:3)", or nothing when the source is unknown.
std::string seenAt(const Source& source) {
  std::string where = source.str();
  return where.empty() ? where : " (" + where + ")";
}

// ---- Sorting: kind, namespace, name, then source to order duplicates ----

template <typename T>
void sortObjects(std::vector<T>& objects) {
  auto key = [](const T& object) {
    const Meta& meta = object.meta;
    return std::tuple<std::string_view, const std::string&, const std::string&, const std::string&,
                      int>(kindOf(object), meta.ns, meta.name, meta.source.file, meta.source.line);
  };
  const auto less = [&](const T& a, const T& b) { return key(a) < key(b); };
  // Manifests written per namespace and sorted by name (as kubectl prints them) come in
  // order already: one pass, and nothing moves.
  if (std::is_sorted(objects.begin(), objects.end(), less)) return;
  // Sorting indices and moving each object once: a Service or Pod is hundreds of bytes of
  // strings and maps, and std::sort would move each many times.
  std::vector<uint32_t> order(objects.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  // Stable: equal keys (Endpoints subsets, one file line) keep their input order, so
  // sorting each file first (manifest/) and then the whole gives the same result.
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return less(objects[a], objects[b]); });
  std::vector<T> sorted;
  sorted.reserve(objects.size());
  for (const uint32_t i : order) sorted.push_back(std::move(objects[i]));
  objects = std::move(sorted);
}

// ---- Step 1: drop what the API server would have rejected (as the API server validates) ----

// A namespace, and a Service's or workload's name, become labels of the zone: DNS labels. A
// Pod's name (`subdomain_name`) is never part of a name served, and the API server allows a
// DNS subdomain, dots and all.
std::string_view badName(const Meta& meta, bool subdomain_name) {
  if (!isDnsLabel(meta.ns)) return "namespace is not a DNS-1123 label";
  if (subdomain_name && !isSubdomainName(meta.name)) return "name is not a DNS-1123 subdomain";
  if (!subdomain_name && !isDnsLabel(meta.name)) return "name is not a DNS-1123 label";
  return {};
}

template <typename T>
void dropBadNames(std::vector<T>& objects, Warnings& warnings, bool subdomain_names = false) {
  std::erase_if(objects, [&](const T& object) {
    std::string_view why = badName(object.meta, subdomain_names);
    if (why.empty()) return false;
    warnings.push_back(prefix(object.meta.source) + subject(object) + ": " + std::string(why) +
                       "; skipped");
    return true;
  });
}

// A hostname or subdomain that cannot be a label is cleared; its object stays.
template <typename T>
void dropBadField(const T& object, std::string_view field, std::string& value, Warnings& warnings) {
  if (value.empty() || isDnsLabel(value)) return;
  warnings.push_back(prefix(object.meta.source) + subject(object) + ": " + std::string(field) +
                     " \"" + value + "\" is not a DNS-1123 label; dropped");
  value.clear();
}

// A load balancer's hostname becomes a CNAME target: it must be a DNS name.
void dropBadHostnames(Service& service, Warnings& warnings) {
  std::erase_if(service.external_hostnames, [&](const std::string& hostname) {
    if (isDnsSubdomain(hostname)) return false;
    warnings.push_back(prefix(service.meta.source) + subject(service) +
                       ": status.loadBalancer.ingress hostname \"" + hostname +
                       "\" is not a DNS-1123 subdomain; dropped");
    return true;
  });
}

void dropBadFields(Inputs& inputs, Warnings& warnings) {
  for (Service& service : inputs.services) dropBadHostnames(service, warnings);
  for (Pod& pod : inputs.pods) {
    dropBadField(pod, "hostname", pod.hostname, warnings);
    dropBadField(pod, "subdomain", pod.subdomain, warnings);
  }
  for (Workload& workload : inputs.workloads) {
    dropBadField(workload, "template hostname", workload.pod_hostname, warnings);
    dropBadField(workload, "template subdomain", workload.pod_subdomain, warnings);
    dropBadField(workload, "serviceName", workload.service_name, warnings);
  }
  for (EndpointSlice& slice : inputs.slices)
    for (Endpoint& endpoint : slice.endpoints)
      dropBadField(slice, "endpoint hostname", endpoint.hostname, warnings);
}

// Objects are sorted, so a duplicate follows its first; the error points at the second.
template <typename T>
base::Status checkUnique(const std::vector<T>& sorted) {
  for (size_t i = 1; i < sorted.size(); ++i) {
    const T& first = sorted[i - 1];
    const T& second = sorted[i];
    if (kindOf(first) != kindOf(second) || first.meta.ns != second.meta.ns ||
        first.meta.name != second.meta.name)
      continue;
    if (kindOf(second) == "Endpoints") continue;  // manifest/ makes one slice per subset
    return base::Error{subject(second) + ": defined twice" + seenAt(first.meta.source),
                       second.meta.source.str()};
  }
  return base::Ok{};
}

// Pods are made before addresses are allocated: cap the total too, or 300 Deployments of
// 100,000 replicas each take minutes and gigabytes before the Pod CIDR runs out (found by
// fuzz_manifest).
constexpr int64_t kMaxWorkloadPods = 1000000;

base::Status checkReplicas(const std::vector<Workload>& workloads) {
  int64_t total = 0;
  for (const Workload& workload : workloads) {
    if (workload.replicas > kMaxReplicas)
      return base::Error{subject(workload) + ": replicas " + std::to_string(workload.replicas) +
                             " is more than dnsd's limit of " + std::to_string(kMaxReplicas),
                         workload.meta.source.str()};
    total += workload.replicas;
    if (total > kMaxWorkloadPods)
      return base::Error{subject(workload) + ": the workloads make more than " +
                             std::to_string(kMaxWorkloadPods) + " Pods, dnsd's limit",
                         workload.meta.source.str()};
  }
  return base::Ok{};
}

base::Status validate(Inputs& inputs, Warnings& warnings) {
  sortInputs(inputs);
  dropBadNames(inputs.services, warnings);
  dropBadNames(inputs.pods, warnings, true);
  dropBadNames(inputs.workloads, warnings);
  dropBadFields(inputs, warnings);
  for (base::Status status :
       {checkUnique(inputs.services), checkUnique(inputs.pods), checkUnique(inputs.workloads),
        checkUnique(inputs.slices), checkReplicas(inputs.workloads)})
    if (!status) return status;
  return base::Ok{};
}

// ---- Step 2: namespaces (CoreDNS namespace.go: Namespace objects and every one referenced) ----

template <typename T>
void addNamespaces(const std::vector<T>& objects, std::set<std::string>& into) {
  for (const T& object : objects)
    if (isDnsLabel(object.meta.ns)) into.insert(object.meta.ns);
}

std::set<std::string> collectNamespaces(const Inputs& inputs, Warnings& warnings) {
  std::set<std::string> namespaces;
  for (const std::string& name : inputs.namespaces) {
    if (isDnsLabel(name))
      namespaces.insert(name);
    else
      warnings.push_back("Namespace " + name + ": name is not a DNS-1123 label; skipped");
  }
  addNamespaces(inputs.services, namespaces);
  addNamespaces(inputs.pods, namespaces);
  addNamespaces(inputs.workloads, namespaces);
  addNamespaces(inputs.slices, namespaces);
  return namespaces;
}

// ---- Step 3: Pods from workloads ----

// Kubernetes names Deployment Pods NAME-<pod-template-hash>-<random>; dnsd needs names that
// stay the same across reloads, so both parts come from the workload: 40 bits of its hash
// and the replica index.
std::string templateHash(const Meta& meta) {
  char text[16];
  unsigned long long bits = fnv1a64(meta.id()) & 0xffffffffffull;
  std::snprintf(text, sizeof text, "%010llx", bits);
  return text;
}

Pod podFrom(const Workload& workload, std::string name) {
  Pod pod;
  pod.meta.name = std::move(name);
  pod.meta.ns = workload.meta.ns;
  pod.meta.labels = workload.pod_labels;
  pod.meta.source = workload.meta.source;
  pod.hostname = workload.pod_hostname;
  pod.subdomain = workload.pod_subdomain;
  pod.ports = workload.ports;
  return pod;
}

// The StatefulSet controller sets hostname = Pod name and subdomain = serviceName (k8s docs
// "StatefulSets: Stable Network ID"), and the label that per-Pod Services select on.
void setStatefulIdentity(Pod& pod, const Workload& set) {
  pod.hostname = pod.meta.name;
  pod.subdomain = set.service_name;
  pod.meta.labels["statefulset.kubernetes.io/pod-name"] = pod.meta.name;
}

std::vector<Pod> podsOf(const Workload& workload) {
  const bool stateful = workload.kind == WorkloadKind::StatefulSet;
  const std::string stem =
      workload.meta.name + "-" + (stateful ? std::string() : templateHash(workload.meta) + "-");
  std::vector<Pod> pods;
  for (int i = 0; i < workload.replicas; ++i) {
    pods.push_back(podFrom(workload, stem + std::to_string(i)));
    if (stateful) setStatefulIdentity(pods.back(), workload);
  }
  return pods;
}

void addWorkloadPods(const std::vector<Workload>& workloads, std::vector<Pod>& pods,
                     Warnings& warnings) {
  std::set<std::string> taken;
  for (const Pod& pod : pods) taken.insert(pod.meta.id());
  for (const Workload& workload : workloads)
    for (Pod& pod : podsOf(workload)) {
      if (!isDnsLabel(pod.meta.name)) {
        warnings.push_back(prefix(workload.meta.source) + subject(pod) + " of " +
                           subject(workload) + ": name is not a DNS-1123 label; skipped");
        continue;
      }
      // A dump of a live cluster holds both the workload and its Pods: the Pod object wins.
      if (taken.insert(pod.meta.id()).second) pods.push_back(std::move(pod));
    }
}

// ---- Step 4: addresses ----

template <typename T>
base::Error cidrFull(const T& object, std::string_view which, const base::Cidr& cidr) {
  return base::Error{subject(object) + ": no free address left in the " + std::string(which) +
                         " CIDR " + cidr.str(),
                     object.meta.source.str()};
}

base::Status allocatePodIps(std::vector<Pod>& pods, const base::Cidr& cidr) {
  AddressAllocator allocator(cidr);
  // Pod IPs given in a manifest may repeat (hostNetwork Pods share their node's IP).
  for (const Pod& pod : pods)
    for (const base::IpAddress& ip : pod.ips) allocator.reserve(ip);
  for (Pod& pod : pods) {
    if (!pod.ips.empty()) continue;
    std::optional<base::IpAddress> ip = allocator.allocate(pod.meta.id());
    if (!ip) return cidrFull(pod, "pod", cidr);
    pod.ips.push_back(*ip);
  }
  return base::Ok{};
}

base::Error clusterIpConflict(const Service& later, const base::IpAddress& ip,
                              const Service& earlier) {
  std::string message = subject(later) + ": clusterIP " + ip.str();
  if (&later == &earlier)
    message += " is listed twice";
  else
    message += " is already used by " + subject(earlier) + seenAt(earlier.meta.source);
  return base::Error{message, later.meta.source.str()};
}

// ClusterIPs given in manifests are used as given, but no two Services may share one (the
// API server's allocator refuses the second).
base::Status claimClusterIps(const std::vector<Service>& services, AddressAllocator& allocator) {
  std::map<base::IpAddress, const Service*> owners;
  for (const Service& service : services)
    for (const base::IpAddress& ip : service.cluster_ips) {
      auto [it, fresh] = owners.try_emplace(ip, &service);
      if (!fresh) return clusterIpConflict(service, ip, *it->second);
      allocator.reserve(ip);
    }
  return base::Ok{};
}

bool needsClusterIp(const Service& service) {
  return !service.headless && service.type != ServiceType::ExternalName &&
         service.cluster_ips.empty();
}

base::Status allocateClusterIps(std::vector<Service>& services, const base::Cidr& cidr) {
  AddressAllocator allocator(cidr);
  if (base::Status status = claimClusterIps(services, allocator); !status) return status;
  for (Service& service : services) {
    if (!needsClusterIp(service)) continue;
    std::optional<base::IpAddress> ip = allocator.allocate(service.meta.id());
    if (!ip) return cidrFull(service, "service", cidr);
    service.cluster_ips.push_back(*ip);
  }
  return base::Ok{};
}

// ---- Step 5: endpoints ----

using SliceIndex = std::map<std::pair<std::string, std::string>, std::vector<const EndpointSlice*>>;
using PodIndex = std::map<std::string, std::vector<const Pod*>>;

// Slices belong to a Service by the label kubernetes.io/service-name (CoreDNS object/endpoint.go).
SliceIndex slicesByService(const std::vector<EndpointSlice>& slices) {
  SliceIndex index;
  for (const EndpointSlice& slice : slices)
    index[{slice.meta.ns, slice.service_name}].push_back(&slice);
  return index;
}

PodIndex podsByNamespace(const std::vector<Pod>& pods) {
  PodIndex index;
  for (const Pod& pod : pods) index[pod.meta.ns].push_back(&pod);
  return index;
}

std::vector<ResolvedEndpoint> endpointsOf(const Service& service, const SliceIndex& slices,
                                          const PodIndex& pods) {
  if (service.type == ServiceType::ExternalName) return {};  // only a CNAME (k8s DNS spec 2.5)
  auto slice = slices.find({service.meta.ns, service.meta.name});
  if (slice != slices.end()) return endpointsFromSlices(service, slice->second);
  auto pod = pods.find(service.meta.ns);
  if (pod == pods.end()) return {};
  return endpointsFromPods(service, pod->second);
}

// Fewer Services than this in each half are not worth a thread.
constexpr size_t kParallelResolveMin = 1000;

std::vector<ResolvedService> resolveServices(std::vector<Service> services,
                                             const std::vector<EndpointSlice>& slices,
                                             const std::vector<Pod>& pods) {
  const SliceIndex slice_index = slicesByService(slices);
  const PodIndex pod_index = podsByNamespace(pods);
  std::vector<ResolvedService> resolved(services.size());
  auto resolve = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      resolved[i].endpoints = endpointsOf(services[i], slice_index, pod_index);
      resolved[i].service = std::move(services[i]);
    }
  };
  // Each Service's endpoints depend on it and the (read-only) indexes alone: a large
  // cluster's second half is resolved on another thread (the second core idles here).
  base::inHalves(services.size(), 2 * kParallelResolveMin, resolve);
  return resolved;
}

}  // namespace

void sortInputs(Inputs& inputs) {
  std::sort(inputs.namespaces.begin(), inputs.namespaces.end());
  sortObjects(inputs.services);
  sortObjects(inputs.pods);
  sortObjects(inputs.workloads);
  sortObjects(inputs.slices);
}

base::Result<Cluster> normalize(Inputs inputs, const Options& options) {
  Cluster cluster;
  if (base::Status status = validate(inputs, cluster.warnings); !status) return status.error();
  cluster.namespaces = collectNamespaces(inputs, cluster.warnings);

  std::vector<Pod> pods = std::move(inputs.pods);
  addWorkloadPods(inputs.workloads, pods, cluster.warnings);
  sortObjects(pods);
  if (base::Status status = allocatePodIps(pods, options.pod_cidr); !status) return status.error();
  if (base::Status status = allocateClusterIps(inputs.services, options.service_cidr); !status)
    return status.error();

  cluster.services = resolveServices(std::move(inputs.services), inputs.slices, pods);
  cluster.pods = std::move(pods);
  // Sorted text puts them in file:line order, whatever order the objects came in.
  std::sort(cluster.warnings.begin(), cluster.warnings.end());
  return cluster;
}

}  // namespace dnsd::cluster
