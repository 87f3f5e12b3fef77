#include "dnsd/cluster/endpoints.h"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

namespace dnsd::cluster {
namespace {

auto portKey(const EndpointPort& port) { return std::tie(port.name, port.protocol, port.port); }

// Keeps the smallest non-empty value, so merging does not depend on the order of the input.
void keepSmallest(std::string& into, const std::string& other) {
  if (!other.empty() && (into.empty() || other < into)) into = other;
}

// Endpoints keyed by IP. One address can appear in two slices while the controller moves it
// (CoreDNS reverse_test "EndpointSlice skew"), and hostNetwork Pods share their node's IP,
// so each IP is counted once with the union of its ports.
class EndpointSet {
 public:
  void add(ResolvedEndpoint endpoint) {
    auto [it, fresh] = by_ip_.try_emplace(endpoint.ip, endpoint);
    if (fresh) return;
    keepSmallest(it->second.hostname, endpoint.hostname);
    keepSmallest(it->second.pod_name, endpoint.pod_name);
    auto& ports = it->second.ports;
    ports.insert(ports.end(), endpoint.ports.begin(), endpoint.ports.end());
  }

  std::vector<ResolvedEndpoint> take() {
    std::vector<ResolvedEndpoint> out;
    for (auto& [ip, endpoint] : by_ip_) out.push_back(sortedPorts(std::move(endpoint)));
    by_ip_.clear();
    return out;
  }

 private:
  static ResolvedEndpoint sortedPorts(ResolvedEndpoint endpoint) {
    auto& ports = endpoint.ports;
    std::sort(ports.begin(), ports.end(),
              [](const auto& a, const auto& b) { return portKey(a) < portKey(b); });
    auto same = [](const auto& a, const auto& b) { return portKey(a) == portKey(b); };
    ports.erase(std::unique(ports.begin(), ports.end(), same), ports.end());
    return endpoint;
  }

  std::map<base::IpAddress, ResolvedEndpoint> by_ip_;
};

// Slice conditions as the controller wrote them; dnsd policy (CoreDNS object/endpoint.go) also honours
// publishNotReadyAddresses for hand-written slices whose conditions do not reflect it.
bool publishes(const Endpoint& endpoint, const Service& service) {
  return (endpoint.ready && !endpoint.terminating) || service.publish_not_ready;
}

bool selects(const Labels& selector, const Labels& labels) {
  return std::all_of(selector.begin(), selector.end(), [&](const auto& pair) {
    auto it = labels.find(pair.first);
    return it != labels.end() && it->second == pair.second;
  });
}

// The container port a named targetPort refers to; name and protocol must both match
// (Kubernetes podutil.FindPort).
std::optional<int> containerPort(const Pod& pod, const ServicePort& port) {
  for (const ContainerPort& container : pod.ports)
    if (container.name == port.target_port_name && container.protocol == port.protocol)
      return container.port;
  return std::nullopt;
}

// The Service's ports as this Pod serves them. A named targetPort the Pod lacks leaves that
// port out for this Pod, as the endpoints controller does.
std::vector<EndpointPort> podPorts(const Service& service, const Pod& pod) {
  std::vector<EndpointPort> out;
  for (const ServicePort& port : service.ports) {
    std::optional<int> number = port.port;  // no targetPort: it defaults to port
    if (port.target_port > 0)
      number = port.target_port;
    else if (!port.target_port_name.empty())
      number = containerPort(pod, port);
    if (number) out.push_back(EndpointPort{port.name, port.protocol, *number});
  }
  return out;
}

// A Service with a ClusterIP only gets endpoints of the families it has a ClusterIP of (the
// controller makes one slice per Service IP family); a headless one takes every family.
bool servesFamily(const Service& service, const base::IpAddress& ip) {
  if (service.headless) return true;
  return std::any_of(service.cluster_ips.begin(), service.cluster_ips.end(),
                     [&](const base::IpAddress& own) { return own.v6 == ip.v6; });
}

bool podIsEndpoint(const Service& service, const Pod& pod) {
  if (pod.terminating) return false;  // CoreDNS object/pod.go drops terminating Pods
  if (!pod.ready && !service.publish_not_ready) return false;
  return selects(*service.selector, pod.meta.labels);
}

}  // namespace

std::vector<ResolvedEndpoint> endpointsFromSlices(const Service& service,
                                                  const std::vector<const EndpointSlice*>& slices) {
  bool any_current = std::any_of(slices.begin(), slices.end(),
                                 [](const EndpointSlice* slice) { return !slice->legacy; });
  EndpointSet set;
  for (const EndpointSlice* slice : slices) {
    if (slice->legacy && any_current) continue;  // coredns PR #6147: slices win over Endpoints
    for (const Endpoint& endpoint : slice->endpoints) {
      if (!publishes(endpoint, service)) continue;
      for (const base::IpAddress& ip : endpoint.addresses)
        set.add(ResolvedEndpoint{ip, endpoint.hostname, endpoint.pod_name, true, slice->ports});
    }
  }
  return set.take();
}

std::vector<ResolvedEndpoint> endpointsFromPods(const Service& service,
                                                const std::vector<const Pod*>& pods) {
  // The API server stores `selector: {}` as no selector, and the controllers skip Services
  // without one (their endpoints are managed by hand).
  if (!service.selector || service.selector->empty()) return {};
  EndpointSet set;
  for (const Pod* pod : pods) {
    if (!podIsEndpoint(service, *pod)) continue;
    // The controllers set hostname only when the Pod's subdomain names this Service
    // (k8s docs dns-pod-service "A/AAAA records"; CoreDNS endpointHostname).
    std::string hostname = pod->subdomain == service.meta.name ? pod->hostname : "";
    std::vector<EndpointPort> ports = podPorts(service, *pod);
    for (const base::IpAddress& ip : pod->ips)
      if (servesFamily(service, ip))
        set.add(ResolvedEndpoint{ip, hostname, pod->meta.name, true, ports});
  }
  return set.take();
}

}  // namespace dnsd::cluster
