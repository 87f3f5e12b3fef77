#include "dnsd/manifest/read_object.h"

#include <cctype>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace dnsd::manifest {

namespace {

using cluster::Inputs;
using cluster::Meta;

constexpr std::string_view kPortNumber = "a port number (1-65535)";
// Kubernetes allows any int32, but cluster/ creates a Pod per replica: a typo must not
// become a billion Pods.
constexpr int kMaxReplicas = 100000;
constexpr std::string_view kReplicaCount = "a replica count (0-100000)";
constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";
constexpr std::string_view kTolerateUnready =
    "service.alpha.kubernetes.io/tolerate-unready-endpoints";

// ---- ports ----

std::string protocol(const Field& field) {
  if (!field.present()) return "TCP";
  std::string text = field.text();
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (text != "TCP" && text != "UDP" && text != "SCTP") {
    field.fail(field.quoted() + " is not TCP, UDP or SCTP");
  }
  return text;
}

// Every container's ports; init containers serve nothing a Service can name.
std::vector<cluster::ContainerPort> containerPorts(const Field& containers) {
  std::vector<cluster::ContainerPort> out;
  for (const Field& container : containers.list()) {
    for (const Field& port : container["ports"].list()) {
      out.push_back({.name = port["name"].name(),
                     .port = port["containerPort"].integer(1, 65535, kPortNumber),
                     .protocol = protocol(port["protocol"])});
    }
  }
  return out;
}

// `targetPort: 8080`, `targetPort: "8080"` or `targetPort: http` (a container port name).
void readTargetPort(const Field& field, cluster::ServicePort& port) {
  const std::string text = field.text();
  if (text.empty()) return;
  const unsigned char first = text[0];
  if (std::isdigit(first) || first == '-' || first == '+') {
    port.target_port = field.integer(1, 65535, kPortNumber);
  } else {
    port.target_port_name = lowercase(text);
  }
}

cluster::ServicePort servicePort(const Field& field) {
  cluster::ServicePort port;
  port.name = field["name"].name();
  port.protocol = protocol(field["protocol"]);
  port.port = field["port"].integer(1, 65535, kPortNumber);
  readTargetPort(field["targetPort"], port);
  return port;
}

// EndpointSlice and Endpoints ports. In a slice `port` may be absent ("all ports"), which
// names nothing in DNS: such a port is dropped.
std::optional<cluster::EndpointPort> endpointPort(const Field& field, bool port_required) {
  const Field number = field["port"];
  if (!number.present() && !port_required) return std::nullopt;
  cluster::EndpointPort port;
  port.name = field["name"].name();
  port.protocol = protocol(field["protocol"]);
  port.port = number.integer(1, 65535, kPortNumber);
  return port;
}

// ---- Service ----

cluster::ServiceType serviceType(const Field& field) {
  using cluster::ServiceType;
  static constexpr std::pair<std::string_view, ServiceType> kTypes[] = {
      {"ClusterIP", ServiceType::ClusterIP},
      {"NodePort", ServiceType::NodePort},
      {"LoadBalancer", ServiceType::LoadBalancer},
      {"ExternalName", ServiceType::ExternalName}};
  if (!field.present()) return ServiceType::ClusterIP;
  const std::string text = field.text();
  for (const auto& [name, type] : kTypes) {
    if (text == name) return type;
  }
  field.fail(field.quoted() + " is not ClusterIP, NodePort, LoadBalancer or ExternalName");
}

// spec.clusterIPs (dual stack) wins over spec.clusterIP; "None" means headless, and ""
// leaves the address for cluster/ to allocate, as the API server would.
void readClusterIps(const Field& spec, cluster::Service& service) {
  std::vector<Field> ips = spec["clusterIPs"].list();
  if (ips.empty()) ips.push_back(spec["clusterIP"]);
  for (const Field& ip : ips) {
    const std::string text = ip.text();
    if (text == "None") {
      service.headless = true;
    } else if (!text.empty()) {
      service.cluster_ips.push_back(ip.ip());
    }
    if (service.headless && !service.cluster_ips.empty()) ip.fail("\"None\" mixed with addresses");
  }
}

std::string externalName(const Field& field) {
  std::string name = field.name();
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

// An empty selector selects nothing, like no selector at all (endpoints managed by hand).
std::optional<cluster::Labels> selector(const Field& field) {
  cluster::Labels labels = field.stringMap();
  if (labels.empty()) return std::nullopt;
  return labels;
}

// The pre-publishNotReadyAddresses annotation; the endpoint controller parses its value
// with Go's strconv.ParseBool.
bool toleratesUnready(const Meta& meta) {
  const auto it = meta.annotations.find(std::string(kTolerateUnready));
  if (it == meta.annotations.end()) return false;
  for (std::string_view yes : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (it->second == yes) return true;
  }
  return false;
}

// spec.externalIPs and what the cloud's load balancer controller wrote in
// status.loadBalancer.ingress: an address or a hostname per entry. A hostname is checked in
// cluster/, as Pod hostnames are.
void readExternal(const Field& object, cluster::Service& service) {
  for (const Field& ip : object["spec"]["externalIPs"].list()) {
    service.external_ips.push_back(ip.ip());
  }
  for (const Field& ingress : object["status"]["loadBalancer"]["ingress"].list()) {
    const Field ip = ingress["ip"];
    if (!ip.text().empty()) service.external_ips.push_back(ip.ip());
    std::string hostname = ingress["hostname"].name();
    if (!hostname.empty()) service.external_hostnames.push_back(std::move(hostname));
  }
}

void readService(const Field& object, Meta meta, Inputs& into) {
  cluster::Service service;
  service.meta = std::move(meta);
  const Field spec = object["spec"];
  service.type = serviceType(spec["type"]);
  readClusterIps(spec, service);
  service.external_name = externalName(spec["externalName"]);
  if (service.type == cluster::ServiceType::ExternalName && service.external_name.empty()) {
    spec["externalName"].fail("missing (required for type ExternalName)");
  }
  service.selector = selector(spec["selector"]);
  for (const Field& port : spec["ports"].list()) service.ports.push_back(servicePort(port));
  service.publish_not_ready =
      spec["publishNotReadyAddresses"].boolean().value_or(false) || toleratesUnready(service.meta);
  readExternal(object, service);
  into.services.push_back(std::move(service));
}

// ---- Pod ----

std::vector<base::IpAddress> podIps(const Field& status) {
  std::vector<base::IpAddress> ips;
  for (const Field& item : status["podIPs"].list()) ips.push_back(item["ip"].ip());
  const Field single = status["podIP"];
  if (ips.empty() && !single.text().empty()) ips.push_back(single.ip());
  return ips;
}

// Only a Ready condition with status "True" counts (k8s podutil.IsPodReady), and a Pod that
// has finished is never an endpoint (endpoint controller, ShouldPodBeInEndpoints). A manifest
// without status is taken as a running Pod.
bool podReady(const Field& status) {
  const std::string phase = status["phase"].text();
  if (phase == "Succeeded" || phase == "Failed") return false;
  for (const Field& condition : status["conditions"].list()) {
    if (condition["type"].text() == "Ready") return condition["status"].text() == "True";
  }
  return true;
}

void readPod(const Field& object, Meta meta, Inputs& into) {
  cluster::Pod pod;
  pod.meta = std::move(meta);
  const Field spec = object["spec"];
  pod.hostname = spec["hostname"].name();
  pod.subdomain = spec["subdomain"].name();
  pod.ports = containerPorts(spec["containers"]);
  const Field status = object["status"];
  pod.ips = podIps(status);
  pod.ready = podReady(status);
  pod.terminating = object["metadata"]["deletionTimestamp"].present();
  into.pods.push_back(std::move(pod));
}

// ---- StatefulSet, Deployment, ReplicaSet ----

void readWorkload(const Field& object, Meta meta, cluster::WorkloadKind kind, Inputs& into) {
  cluster::Workload workload;
  workload.meta = std::move(meta);
  workload.kind = kind;
  const Field spec = object["spec"];
  const Field replicas = spec["replicas"];
  if (replicas.present()) workload.replicas = replicas.integer(0, kMaxReplicas, kReplicaCount);
  if (kind == cluster::WorkloadKind::StatefulSet) {
    workload.service_name = spec["serviceName"].name();
  }
  const Field pod = spec["template"];
  workload.pod_labels = pod["metadata"]["labels"].stringMap();
  workload.pod_hostname = pod["spec"]["hostname"].name();
  workload.pod_subdomain = pod["spec"]["subdomain"].name();
  workload.ports = containerPorts(pod["spec"]["containers"]);
  into.workloads.push_back(std::move(workload));
}

void readStatefulSet(const Field& object, Meta meta, Inputs& into) {
  readWorkload(object, std::move(meta), cluster::WorkloadKind::StatefulSet, into);
}

void readDeployment(const Field& object, Meta meta, Inputs& into) {
  readWorkload(object, std::move(meta), cluster::WorkloadKind::Deployment, into);
}

void readReplicaSet(const Field& object, Meta meta, Inputs& into) {
  readWorkload(object, std::move(meta), cluster::WorkloadKind::ReplicaSet, into);
}

// ---- EndpointSlice and Endpoints ----

std::string podName(const Field& target_ref) {
  return target_ref["kind"].text() == "Pod" ? target_ref["name"].name() : "";
}

std::string addressType(const Field& field) {
  const std::string text = field.text();
  if (!text.empty() && text != "IPv4" && text != "IPv6" && text != "FQDN") {
    field.fail(field.quoted() + " is not IPv4, IPv6 or FQDN");
  }
  return text;
}

base::IpAddress sliceAddress(const Field& field, std::string_view address_type) {
  const base::IpAddress ip = field.ip();
  if ((address_type == "IPv4" && ip.v6) || (address_type == "IPv6" && !ip.v6)) {
    field.fail(field.quoted() + " is not an " + std::string(address_type) + " address");
  }
  return ip;
}

cluster::Endpoint sliceEndpoint(const Field& field, std::string_view address_type) {
  cluster::Endpoint endpoint;
  for (const Field& address : field["addresses"].list()) {
    endpoint.addresses.push_back(sliceAddress(address, address_type));
  }
  endpoint.hostname = field["hostname"].name();
  endpoint.pod_name = podName(field["targetRef"]);
  const Field conditions = field["conditions"];
  // discovery/v1: a nil ready condition counts as ready.
  endpoint.ready = conditions["ready"].boolean().value_or(true);
  endpoint.terminating = conditions["terminating"].boolean().value_or(false);
  return endpoint;
}

void readEndpointSlice(const Field& object, Meta meta, Inputs& into) {
  // A slice is tied to its Service by this label, not by its name (CoreDNS object/endpoint.go);
  // without it the slice belongs to no Service and names nothing.
  const auto service = meta.labels.find(std::string(kServiceNameLabel));
  if (service == meta.labels.end()) return;
  const std::string address_type = addressType(object["addressType"]);
  if (address_type == "FQDN") return;  // deprecated; CoreDNS ignores such slices too
  cluster::EndpointSlice slice;
  slice.service_name = lowercase(service->second);
  slice.meta = std::move(meta);
  for (const Field& endpoint : object["endpoints"].list()) {
    slice.endpoints.push_back(sliceEndpoint(endpoint, address_type));
  }
  for (const Field& port : object["ports"].list()) {
    if (auto read = endpointPort(port, false)) slice.ports.push_back(std::move(*read));
  }
  into.slices.push_back(std::move(slice));
}

cluster::Endpoint legacyEndpoint(const Field& field, bool ready) {
  cluster::Endpoint endpoint;
  endpoint.addresses.push_back(field["ip"].ip());
  endpoint.hostname = field["hostname"].name();
  endpoint.pod_name = podName(field["targetRef"]);
  endpoint.ready = ready;
  return endpoint;
}

// v1 Endpoints: each subset becomes a slice named like the Service (k8s DNS spec 2.1 reads
// `addresses` as ready and `notReadyAddresses` as not ready).
void readEndpoints(const Field& object, Meta meta, Inputs& into) {
  for (const Field& subset : object["subsets"].list()) {
    cluster::EndpointSlice slice;
    slice.meta = meta;
    slice.service_name = meta.name;
    slice.legacy = true;
    for (const Field& address : subset["addresses"].list()) {
      slice.endpoints.push_back(legacyEndpoint(address, true));
    }
    for (const Field& address : subset["notReadyAddresses"].list()) {
      slice.endpoints.push_back(legacyEndpoint(address, false));
    }
    for (const Field& port : subset["ports"].list()) {
      slice.ports.push_back(*endpointPort(port, true));
    }
    into.slices.push_back(std::move(slice));
  }
}

void readNamespace(const Field&, Meta meta, Inputs& into) {
  into.namespaces.push_back(std::move(meta.name));
}

// ---- dispatch ----

struct Kind {
  std::string_view name;
  std::string_view group;  // API group of apiVersion; "" is the core group (`apiVersion: v1`)
  bool namespaced;
  void (*read)(const Field& object, Meta meta, Inputs& into);
};

constexpr Kind kKinds[] = {
    {"Namespace", "", false, readNamespace},
    {"Service", "", true, readService},
    {"Pod", "", true, readPod},
    {"Endpoints", "", true, readEndpoints},
    {"EndpointSlice", "discovery.k8s.io", true, readEndpointSlice},
    {"StatefulSet", "apps", true, readStatefulSet},
    {"Deployment", "apps", true, readDeployment},
    {"ReplicaSet", "apps", true, readReplicaSet},
};

// "apps/v1" -> "apps", "v1" -> ""; nullopt when apiVersion is absent.
std::optional<std::string> apiGroup(const Field& api_version) {
  if (!api_version.present()) return std::nullopt;
  const std::string text = api_version.text();
  const size_t slash = text.rfind('/');
  return slash == std::string::npos ? "" : text.substr(0, slash);
}

// Kind and group must both match: a Knative `serving.knative.dev/v1 Service` is not a
// Service. A manifest without apiVersion is matched on its kind alone.
const Kind* findKind(const std::string& kind, const std::optional<std::string>& group) {
  for (const Kind& candidate : kKinds) {
    if (candidate.name == kind && (!group || candidate.group == *group)) return &candidate;
  }
  return nullptr;
}

// Sets `label` to "Kind ns/name" (cluster-scoped: "Kind name") for every later message.
Meta readMeta(const Field& object, const Kind& kind, const std::string& file, std::string& label) {
  const Field metadata = object["metadata"];
  Meta meta;
  meta.name = metadata["name"].name();
  if (meta.name.empty()) metadata["name"].fail("missing");
  if (kind.namespaced) {
    const std::string ns = metadata["namespace"].name();
    if (!ns.empty()) meta.ns = ns;
  } else {
    meta.ns.clear();
  }
  label = std::string(kind.name) + " " + (kind.namespaced ? meta.id() : meta.name);
  meta.labels = metadata["labels"].stringMap();
  meta.annotations = metadata["annotations"].stringMap();
  meta.source = {.file = file, .line = object.line()};
  return meta;
}

void readList(const Field& list, const std::string& file, Inputs& into) {
  for (const Field& item : list["items"].list()) {
    // kubectl never prints one, and with YAML aliases a nested List could even be cyclic.
    const Field kind = item["kind"];
    if (kind.text() == "List") kind.fail("a List inside a List");
    readObject(item, file, into);
  }
}

}  // namespace

void readObject(const Field& object, const std::string& file, Inputs& into) {
  const Field kind_field = object["kind"];
  const std::string kind = kind_field.text();
  if (kind.empty()) kind_field.fail("missing");
  if (kind == "List") return readList(object, file, into);
  const std::optional<std::string> group = apiGroup(object["apiVersion"]);
  const Kind* reader = findKind(kind, group);
  if (!reader) {
    // "Service.serving.knative.dev": kubectl's resource.group spelling.
    ++into.skipped_kinds[group && !group->empty() ? kind + "." + *group : kind];
    return;
  }
  std::string label(reader->name);
  const Field root = object.asObject(&label);
  Meta meta = readMeta(root, *reader, file, label);
  ++into.read_kinds[kind];
  reader->read(root, std::move(meta), into);
}

}  // namespace dnsd::manifest
