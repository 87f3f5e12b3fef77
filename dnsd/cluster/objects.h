// Kubernetes objects as stripped value types: only the fields cluster DNS reads
// (CoreDNS plugin/kubernetes/object/*.go strips them the same way). Filled by manifest/,
// normalized by cluster/normalize.h. Knows nothing of DNS.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dnsd/base/ip.h"

namespace dnsd::cluster {

using Labels = std::map<std::string, std::string>;

// Where an object came from, for error messages: "zones/apps.yaml:12".
struct Source {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  std::string str() const { return line ? file + ":" + std::to_string(line) : file; }
  bool operator==(const Source&) const = default;
};

struct Meta {
  std::string name;
  std::string ns = "default";  // metadata.namespace; defaulted at ingest
  Labels labels;
  Labels annotations;
  Source source;
  std::string id() const { return ns + "/" + name; }
  bool operator==(const Meta&) const = default;
};

enum class ServiceType { ClusterIP, NodePort, LoadBalancer, ExternalName };

struct ServicePort {
  std::string name;  // empty: unnamed, no SRV
  std::string protocol = "TCP";
  int port = 0;
  int target_port = 0;            // numeric targetPort; 0 when named or absent
  std::string target_port_name;   // named targetPort, resolved through container ports
  bool operator==(const ServicePort&) const = default;
};

struct Service {
  Meta meta;
  ServiceType type = ServiceType::ClusterIP;
  bool headless = false;                      // clusterIP: None
  std::vector<base::IpAddress> cluster_ips;   // spec.clusterIPs, else spec.clusterIP; empty: allocate
  std::string external_name;                  // ExternalName target, trailing dot removed, lowercase
  std::optional<Labels> selector;             // nullopt: no selector (endpoints managed by hand)
  std::vector<ServicePort> ports;
  bool publish_not_ready = false;             // publishNotReadyAddresses or the tolerate annotation
  // Addresses outside the cluster: spec.externalIPs, then status.loadBalancer.ingress[].ip
  // (CoreDNS object/service.go joins them the same way).
  std::vector<base::IpAddress> external_ips;
  std::vector<std::string> external_hostnames;  // status.loadBalancer.ingress[].hostname
  bool operator==(const Service&) const = default;
};

struct ContainerPort {
  std::string name;
  int port = 0;
  std::string protocol = "TCP";
  bool operator==(const ContainerPort&) const = default;
};

struct Pod {
  Meta meta;
  std::vector<base::IpAddress> ips;  // status.podIPs, else status.podIP; empty: allocate
  std::string hostname;              // spec.hostname
  std::string subdomain;             // spec.subdomain
  bool ready = true;                 // status.conditions[Ready]; no status counts as ready
  bool terminating = false;          // metadata.deletionTimestamp set
  std::vector<ContainerPort> ports;  // every container's ports, for named targetPorts
  bool operator==(const Pod&) const = default;
};

enum class WorkloadKind { StatefulSet, Deployment, ReplicaSet };

// A controller that creates Pods from a template.
struct Workload {
  Meta meta;
  WorkloadKind kind = WorkloadKind::Deployment;
  int replicas = 1;
  std::string service_name;  // StatefulSet spec.serviceName
  Labels pod_labels;         // spec.template.metadata.labels
  std::string pod_hostname;  // spec.template.spec.hostname
  std::string pod_subdomain; // spec.template.spec.subdomain
  std::vector<ContainerPort> ports;
};

struct EndpointPort {
  std::string name;
  std::string protocol = "TCP";
  int port = 0;
  bool operator==(const EndpointPort&) const = default;
};

struct Endpoint {
  std::vector<base::IpAddress> addresses;
  std::string hostname;
  std::string pod_name;  // targetRef.name when targetRef.kind is Pod
  bool ready = true;     // conditions.ready; absent counts as ready
  bool terminating = false;
  bool operator==(const Endpoint&) const = default;
};

// discovery.k8s.io/v1 EndpointSlice, or a v1 Endpoints subset converted at ingest.
struct EndpointSlice {
  Meta meta;
  std::string service_name;  // label kubernetes.io/service-name (Endpoints: its own name)
  bool legacy = false;       // came from v1 Endpoints
  std::vector<Endpoint> endpoints;
  std::vector<EndpointPort> ports;
  bool operator==(const EndpointSlice&) const = default;
};

// Everything the manifests held, before normalization.
struct Inputs {
  std::vector<std::string> namespaces;  // Namespace objects
  std::vector<Service> services;
  std::vector<Pod> pods;
  std::vector<Workload> workloads;
  std::vector<EndpointSlice> slices;
  std::map<std::string, int> skipped_kinds;  // kind -> count of objects we do not read
  std::map<std::string, int> read_kinds;     // kind -> count of objects read
  int files = 0;
};

}  // namespace dnsd::cluster
