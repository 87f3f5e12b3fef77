// manifest::load and loadText: every kind dnsd reads, the YAML shapes kubectl prints, and
// the errors users see (file, line, object, field).
#include "dnsd/manifest/load.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace dnsd::manifest {
namespace {

namespace fs = std::filesystem;
using cluster::Inputs;

Inputs parse(const std::string& text) {
  Inputs inputs;
  const base::Status status = loadText(text, "t.yaml", inputs);
  REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().str()));
  return inputs;
}

base::Error failure(const std::string& text) {
  Inputs inputs;
  const base::Status status = loadText(text, "t.yaml", inputs);
  REQUIRE_FALSE(status.ok());
  return status.error();
}

std::string ip(const base::IpAddress& address) { return address.str(); }

TEST_CASE("a Service with every field read is stripped to cluster::Service") {
  const Inputs inputs = parse(R"(apiVersion: v1
kind: Service
metadata:
  name: Web
  namespace: Prod
  labels: {app: web, tier: "1"}
  annotations:
    note: hello
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  selector:
    app: web
  publishNotReadyAddresses: true
  ports:
  - name: HTTP
    port: 80
    targetPort: 8080
  - name: dns
    protocol: udp
    port: "53"
    targetPort: "5353"
  - port: 443
    targetPort: https
)");
  REQUIRE(inputs.services.size() == 1);
  const cluster::Service& service = inputs.services[0];
  CHECK(service.meta.name == "web");
  CHECK(service.meta.ns == "prod");
  CHECK(service.meta.labels == cluster::Labels{{"app", "web"}, {"tier", "1"}});
  CHECK(service.meta.annotations.at("note") == "hello");
  CHECK(service.meta.source.str() == "t.yaml:1");
  CHECK(service.type == cluster::ServiceType::NodePort);
  CHECK_FALSE(service.headless);
  REQUIRE(service.cluster_ips.size() == 1);
  CHECK(ip(service.cluster_ips[0]) == "10.96.0.10");
  REQUIRE(service.selector.has_value());
  CHECK(service.selector->at("app") == "web");
  CHECK(service.publish_not_ready);
  REQUIRE(service.ports.size() == 3);
  CHECK(service.ports[0].name == "http");
  CHECK(service.ports[0].protocol == "TCP");
  CHECK(service.ports[0].port == 80);
  CHECK(service.ports[0].target_port == 8080);
  CHECK(service.ports[1].protocol == "UDP");
  CHECK(service.ports[1].port == 53);
  CHECK(service.ports[1].target_port == 5353);
  CHECK(service.ports[1].target_port_name.empty());
  CHECK(service.ports[2].name.empty());
  CHECK(service.ports[2].target_port == 0);
  CHECK(service.ports[2].target_port_name == "https");
  CHECK(inputs.read_kinds.at("Service") == 1);
}

TEST_CASE("a minimal Service gets the API server's defaults") {
  const Inputs inputs = parse("kind: Service\nmetadata: {name: web}\n");
  REQUIRE(inputs.services.size() == 1);
  const cluster::Service& service = inputs.services[0];
  CHECK(service.meta.ns == "default");
  CHECK(service.type == cluster::ServiceType::ClusterIP);
  CHECK(service.cluster_ips.empty());
  CHECK_FALSE(service.headless);
  CHECK_FALSE(service.selector.has_value());
  CHECK(service.ports.empty());
  CHECK_FALSE(service.publish_not_ready);
}

TEST_CASE("clusterIP None is headless, an empty clusterIP is left to allocate") {
  const Inputs inputs = parse(R"(kind: Service
metadata: {name: headless}
spec: {clusterIP: None, selector: {}}
---
kind: Service
metadata: {name: unallocated}
spec: {clusterIP: ""}
---
kind: Service
metadata: {name: none-in-list}
spec: {clusterIPs: [None]}
)");
  REQUIRE(inputs.services.size() == 3);
  CHECK(inputs.services[0].headless);
  CHECK(inputs.services[0].cluster_ips.empty());
  CHECK_FALSE(inputs.services[0].selector.has_value());  // an empty selector is no selector
  CHECK_FALSE(inputs.services[1].headless);
  CHECK(inputs.services[1].cluster_ips.empty());
  CHECK(inputs.services[2].headless);
}

TEST_CASE("spec.clusterIPs is preferred over spec.clusterIP") {
  const Inputs inputs = parse(R"(kind: Service
metadata: {name: dual}
spec:
  clusterIP: 10.96.0.1
  clusterIPs: [10.96.0.2, "fd00:0::0:1"]
)");
  REQUIRE(inputs.services[0].cluster_ips.size() == 2);
  CHECK(ip(inputs.services[0].cluster_ips[0]) == "10.96.0.2");
  CHECK(ip(inputs.services[0].cluster_ips[1]) == "fd00::1");
}

TEST_CASE("an ExternalName target loses its trailing dot and its case") {
  const Inputs inputs = parse(R"(kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: My.Example.COM.}
)");
  CHECK(inputs.services[0].type == cluster::ServiceType::ExternalName);
  CHECK(inputs.services[0].external_name == "my.example.com");
}

TEST_CASE("externalIPs and the load balancer's ingress are read, IPs first, hostnames lowercase") {
  const Inputs inputs = parse(R"(kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  externalIPs: [192.0.2.10, "2001:db8::10"]
status:
  loadBalancer:
    ingress:
    - ip: 34.120.83.23
    - hostname: A1.ELB.Example.COM
    - {ip: 198.51.100.7, hostname: b2.elb.example.com}
---
kind: Service
metadata: {name: plain}
status: {loadBalancer: {}}
)");
  const cluster::Service& lb = inputs.services[0];
  std::vector<std::string> ips;
  for (const auto& address : lb.external_ips) ips.push_back(ip(address));
  CHECK(ips ==
        std::vector<std::string>{"192.0.2.10", "2001:db8::10", "34.120.83.23", "198.51.100.7"});
  CHECK(lb.external_hostnames ==
        std::vector<std::string>{"a1.elb.example.com", "b2.elb.example.com"});
  CHECK(inputs.services[1].external_ips.empty());
  CHECK(inputs.services[1].external_hostnames.empty());
}

TEST_CASE("the tolerate-unready-endpoints annotation sets publish_not_ready") {
  const Inputs inputs = parse(R"(kind: Service
metadata:
  name: a
  annotations: {service.alpha.kubernetes.io/tolerate-unready-endpoints: "true"}
---
kind: Service
metadata:
  name: b
  annotations: {service.alpha.kubernetes.io/tolerate-unready-endpoints: "false"}
spec: {publishNotReadyAddresses: false}
)");
  CHECK(inputs.services[0].publish_not_ready);
  CHECK_FALSE(inputs.services[1].publish_not_ready);
}

TEST_CASE("a Pod is read with its IPs, hostname, readiness and container ports") {
  const Inputs inputs = parse(R"(apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: prod, labels: {app: web}}
spec:
  hostname: Web-0
  subdomain: web
  initContainers:
  - ports: [{containerPort: 1}]
  containers:
  - name: a
    ports:
    - {name: http, containerPort: 8080}
    - {containerPort: 53, protocol: UDP}
  - name: b
    ports: [{name: metrics, containerPort: "9090"}]
status:
  podIP: 10.0.0.9
  podIPs: [{ip: 10.0.0.1}, {ip: "fd00::1"}]
  conditions:
  - {type: PodScheduled, status: "True"}
  - {type: Ready, status: "True"}
)");
  REQUIRE(inputs.pods.size() == 1);
  const cluster::Pod& pod = inputs.pods[0];
  CHECK(pod.meta.id() == "prod/web-0");
  CHECK(pod.hostname == "web-0");
  CHECK(pod.subdomain == "web");
  REQUIRE(pod.ips.size() == 2);
  CHECK(ip(pod.ips[0]) == "10.0.0.1");
  CHECK(ip(pod.ips[1]) == "fd00::1");
  CHECK(pod.ready);
  CHECK_FALSE(pod.terminating);
  REQUIRE(pod.ports.size() == 3);
  CHECK(pod.ports[0].name == "http");
  CHECK(pod.ports[0].port == 8080);
  CHECK(pod.ports[0].protocol == "TCP");
  CHECK(pod.ports[1].protocol == "UDP");
  CHECK(pod.ports[2].port == 9090);
}

TEST_CASE("Pod readiness comes from the Ready condition, phase and deletionTimestamp") {
  const Inputs inputs = parse(R"(kind: Pod
metadata: {name: no-status}
---
kind: Pod
metadata: {name: not-ready}
status:
  podIP: 10.0.0.2
  conditions: [{type: Ready, status: "False"}]
---
kind: Pod
metadata: {name: unknown}
status: {conditions: [{type: Ready, status: Unknown}]}
---
kind: Pod
metadata: {name: done}
status: {phase: Succeeded}
---
kind: Pod
metadata: {name: leaving, deletionTimestamp: "2024-01-01T00:00:00Z"}
)");
  REQUIRE(inputs.pods.size() == 5);
  CHECK(inputs.pods[0].ready);
  CHECK(inputs.pods[0].ips.empty());
  CHECK_FALSE(inputs.pods[1].ready);
  REQUIRE(inputs.pods[1].ips.size() == 1);  // podIP when there is no podIPs
  CHECK(ip(inputs.pods[1].ips[0]) == "10.0.0.2");
  CHECK_FALSE(inputs.pods[2].ready);
  CHECK_FALSE(inputs.pods[3].ready);
  CHECK(inputs.pods[4].terminating);
  CHECK(inputs.pods[4].ready);
}

TEST_CASE("StatefulSets, Deployments and ReplicaSets become workloads") {
  const Inputs inputs = parse(R"(apiVersion: apps/v1
kind: StatefulSet
metadata: {name: zk, namespace: data}
spec:
  serviceName: ZK-HS
  replicas: 3
  template:
    metadata: {labels: {app: zk}}
    spec:
      hostname: h
      subdomain: s
      containers: [{ports: [{name: client, containerPort: 2181}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {template: {metadata: {labels: {app: web}}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-123}
spec: {replicas: "0"}
)");
  REQUIRE(inputs.workloads.size() == 3);
  const cluster::Workload& zk = inputs.workloads[0];
  CHECK(zk.kind == cluster::WorkloadKind::StatefulSet);
  CHECK(zk.meta.id() == "data/zk");
  CHECK(zk.service_name == "zk-hs");
  CHECK(zk.replicas == 3);
  CHECK(zk.pod_labels.at("app") == "zk");
  CHECK(zk.pod_hostname == "h");
  CHECK(zk.pod_subdomain == "s");
  REQUIRE(zk.ports.size() == 1);
  CHECK(zk.ports[0].port == 2181);
  CHECK(inputs.workloads[1].kind == cluster::WorkloadKind::Deployment);
  CHECK(inputs.workloads[1].replicas == 1);
  CHECK(inputs.workloads[2].kind == cluster::WorkloadKind::ReplicaSet);
  CHECK(inputs.workloads[2].replicas == 0);
}

TEST_CASE("an EndpointSlice is tied to its Service by the service-name label") {
  const Inputs inputs = parse(R"(addressType: IPv4
apiVersion: discovery.k8s.io/v1
endpoints:
- addresses: [10.0.0.1]
  conditions: {ready: true, serving: true, terminating: false}
  hostname: Web-0
  targetRef: {kind: Pod, name: Web-0, namespace: prod}
- addresses: [10.0.0.2]
  conditions: {ready: false, terminating: true}
- addresses: [10.0.0.3]
  targetRef: {kind: Node, name: node-1}
kind: EndpointSlice
metadata:
  name: web-abcde
  namespace: prod
  labels: {kubernetes.io/service-name: Web}
ports:
- {name: http, port: 80}
- {name: "", protocol: UDP, port: 53}
- {name: any}
)");
  REQUIRE(inputs.slices.size() == 1);
  const cluster::EndpointSlice& slice = inputs.slices[0];
  CHECK(slice.meta.id() == "prod/web-abcde");
  CHECK(slice.service_name == "web");
  CHECK_FALSE(slice.legacy);
  REQUIRE(slice.endpoints.size() == 3);
  CHECK(ip(slice.endpoints[0].addresses.at(0)) == "10.0.0.1");
  CHECK(slice.endpoints[0].hostname == "web-0");
  CHECK(slice.endpoints[0].pod_name == "web-0");
  CHECK(slice.endpoints[0].ready);
  CHECK_FALSE(slice.endpoints[0].terminating);
  CHECK_FALSE(slice.endpoints[1].ready);
  CHECK(slice.endpoints[1].terminating);
  CHECK(slice.endpoints[2].ready);  // no conditions.ready counts as ready
  CHECK(slice.endpoints[2].pod_name.empty());
  REQUIRE(slice.ports.size() == 2);  // a port without a number names nothing
  CHECK(slice.ports[0].name == "http");
  CHECK(slice.ports[0].protocol == "TCP");
  CHECK(slice.ports[1].name.empty());
  CHECK(slice.ports[1].protocol == "UDP");
  CHECK(slice.ports[1].port == 53);
}

TEST_CASE("EndpointSlices without the label or of type FQDN are read but give no slice") {
  const Inputs inputs = parse(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: orphan}
addressType: IPv4
endpoints: [{addresses: [10.0.0.1]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: fqdn, labels: {kubernetes.io/service-name: web}}
addressType: FQDN
endpoints: [{addresses: [example.com]}]
)");
  CHECK(inputs.slices.empty());
  CHECK(inputs.read_kinds.at("EndpointSlice") == 2);
}

TEST_CASE("EndpointSlice ports null, empty or absent mean no ports") {
  for (const char* ports : {"ports: null\n", "ports: []\n", ""}) {
    const Inputs inputs = parse(std::string(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s, labels: {kubernetes.io/service-name: web}}
addressType: IPv6
endpoints: [{addresses: ["fd00::1"]}]
)") + ports);
    REQUIRE(inputs.slices.size() == 1);
    CHECK(inputs.slices[0].ports.empty());
  }
}

TEST_CASE("v1 Endpoints become one legacy slice per subset") {
  const Inputs inputs = parse(R"(apiVersion: v1
kind: Endpoints
metadata: {name: Web, namespace: prod}
subsets:
- addresses:
  - {ip: 10.0.0.1, hostname: a, targetRef: {kind: Pod, name: web-a}}
  notReadyAddresses:
  - ip: 10.0.0.2
  ports: [{name: http, port: 80}]
- addresses: [{ip: "fd00::2"}]
  ports: [{port: 53, protocol: UDP}]
)");
  REQUIRE(inputs.slices.size() == 2);
  const cluster::EndpointSlice& first = inputs.slices[0];
  CHECK(first.legacy);
  CHECK(first.service_name == "web");
  CHECK(first.meta.id() == "prod/web");
  REQUIRE(first.endpoints.size() == 2);
  CHECK(first.endpoints[0].ready);
  CHECK(first.endpoints[0].hostname == "a");
  CHECK(first.endpoints[0].pod_name == "web-a");
  CHECK_FALSE(first.endpoints[1].ready);
  CHECK(ip(first.endpoints[1].addresses.at(0)) == "10.0.0.2");
  REQUIRE(first.ports.size() == 1);
  CHECK(first.ports[0].port == 80);
  CHECK(inputs.slices[1].ports.at(0).protocol == "UDP");
  CHECK(inputs.read_kinds.at("Endpoints") == 1);
}

TEST_CASE("Namespaces are listed and take no namespace of their own") {
  const Inputs inputs = parse("apiVersion: v1\nkind: Namespace\nmetadata: {name: Prod}\n");
  CHECK(inputs.namespaces == std::vector<std::string>{"prod"});
}

TEST_CASE("a List printed by kubectl, items before kind, is read item by item") {
  const Inputs inputs = parse(R"(apiVersion: v1
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}
- metadata: {name: b}
  kind: Service
  apiVersion: v1
- kind: ConfigMap
  metadata: {name: c}
kind: List
metadata: {resourceVersion: ""}
)");
  REQUIRE(inputs.services.size() == 2);
  CHECK(inputs.services[0].meta.source.str() == "t.yaml:3");
  CHECK(inputs.services[1].meta.source.str() == "t.yaml:6");
  CHECK(inputs.read_kinds.at("Service") == 2);
  CHECK(inputs.skipped_kinds.at("ConfigMap") == 1);
  CHECK_FALSE(inputs.read_kinds.contains("List"));
}

TEST_CASE("a JSON List is read like YAML") {
  const Inputs inputs = parse(R"({
	"kind": "List",
	"items": [
		{"kind": "Service", "metadata": {"name": "a"}, "spec": {"ports": [{"port": 80}]}},
		{"kind": "Namespace", "metadata": {"name": "n"}}
	]
})");
  REQUIRE(inputs.services.size() == 1);
  CHECK(inputs.services[0].ports.at(0).port == 80);
  CHECK(inputs.namespaces.size() == 1);
}

TEST_CASE("JSON errors name the line, like YAML ones") {
  const base::Error bad_port = failure(R"({
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {
        "ports": [
            {"port": 70000}
        ]
    }
})");
  CHECK(bad_port.where == "t.yaml:6");
  CHECK(bad_port.message == R"(Service default/web: spec.ports[0].port: "70000" is not a port number (1-65535))");
  const base::Error missing_name = failure("{\n\"kind\": \"Service\",\n\"metadata\": {}\n}");
  CHECK(missing_name.where == "t.yaml:3");
  CHECK(missing_name.message == "Service: metadata.name: missing");
  // Quoted, "true" is a string, as the API server reads it.
  const base::Error quoted_bool = failure(
      R"({"kind": "Service", "metadata": {"name": "a"}, "spec": {"publishNotReadyAddresses": "true"}})");
  CHECK(quoted_bool.message.find(R"("true" is not true or false)") != std::string::npos);
}

TEST_CASE("broken JSON is reported by the YAML reader, with its line") {
  const base::Error unclosed = failure("{\n\"kind\": \"Service\",\n\"metadata\": {\"name\": \"a\"\n");
  CHECK(unclosed.message.starts_with("YAML: "));
  CHECK(unclosed.where.starts_with("t.yaml:"));
  // Objects one after another are not one JSON value: the YAML reader takes them as
  // documents, and an error in the second names its line.
  const base::Error second =
      failure("{\"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}}\n{\"kind\": \"Namespace\"}\n");
  CHECK(second.where == "t.yaml:2");
  CHECK(second.message == "Namespace: metadata.name: missing");
  // Not JSON but YAML flow style: read as YAML.
  CHECK(parse("{kind: Namespace, metadata: {name: a}}").namespaces.at(0) == "a");
}

TEST_CASE("a JSON object records its line") {
  const Inputs inputs = parse(R"({"kind": "List", "items": [
  {"kind": "Namespace", "metadata": {"name": "a"}},

  {"kind": "Service", "metadata": {"name": "w", "namespace": "a"}}
]})");
  REQUIRE(inputs.services.size() == 1);
  CHECK(inputs.services[0].meta.source.line == 4);
}

TEST_CASE("multi-document YAML with comments, end markers and empty documents") {
  const Inputs inputs = parse(R"(# leading comment
---
---
kind: Namespace  # trailing comment
metadata: {name: a}
...
---
# only a comment
---
null
---
{kind: Namespace, metadata: {name: b}}
)");
  CHECK(inputs.namespaces == std::vector<std::string>{"a", "b"});
  CHECK(parse("").namespaces.empty());
}

TEST_CASE("kinds dnsd does not read are counted and skipped") {
  const Inputs inputs = parse(R"(kind: ConfigMap
metadata: {name: c}
data: {a: [1, 2]}
---
kind: Secret
---
kind: ConfigMap
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: k}
---
apiVersion: extensions/v1beta1
kind: Ingress
)");
  CHECK(inputs.skipped_kinds.at("ConfigMap") == 2);
  CHECK(inputs.skipped_kinds.at("Secret") == 1);
  CHECK(inputs.skipped_kinds.at("Service.serving.knative.dev") == 1);
  CHECK(inputs.skipped_kinds.at("Ingress.extensions") == 1);
  CHECK(inputs.services.empty());
  CHECK(inputs.read_kinds.empty());
}

TEST_CASE("loadText appends to what was already loaded") {
  Inputs inputs;
  REQUIRE(loadText("kind: Namespace\nmetadata: {name: a}\n", "a.yaml", inputs).ok());
  REQUIRE(loadText("kind: Namespace\nmetadata: {name: b}\n", "b.yaml", inputs).ok());
  CHECK(inputs.namespaces.size() == 2);
  CHECK(inputs.read_kinds.at("Namespace") == 2);
}

// ---- errors ----

struct Broken {
  const char* what;
  const char* yaml;
  const char* where;
  const char* message;  // a substring of the message
};

const Broken kBroken[] = {
    {"no name", "kind: Service\nmetadata: {}\n", "t.yaml:2", "Service: metadata.name: missing"},
    {"no metadata", "apiVersion: v1\nkind: Service\n", "t.yaml:1",
     "Service: metadata.name: missing"},
    {"port not a number", "kind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: abc\n",
     "t.yaml:5",
     R"(Service default/web: spec.ports[0].port: "abc" is not a port number (1-65535))"},
    {"port too large", "kind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: 70000\n",
     "t.yaml:5", R"(spec.ports[0].port: "70000" is not a port number)"},
    {"port fractional", "kind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80.0}]}\n",
     "t.yaml:3", R"(spec.ports[0].port: "80.0" is not a port number)"},
    {"port negative", "kind: Service\nmetadata: {name: web}\nspec: {ports: [{port: -80}]}\n",
     "t.yaml:3", R"(spec.ports[0].port: "-80" is not a port number)"},
    {"port missing", "kind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - name: http\n",
     "t.yaml:5", "Service default/web: spec.ports[0].port: missing"},
    {"port is a map", "kind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: {a: 1}\n",
     "t.yaml:5", "spec.ports[0].port: not a port number (1-65535) (found a map)"},
    {"port entry is a scalar", "kind: Service\nmetadata: {name: web}\nspec:\n  ports: [80]\n",
     "t.yaml:4", R"(spec.ports[0]: not a map (found "80"))"},
    {"ports is a map", "kind: Service\nmetadata: {name: web}\nspec:\n  ports: {port: 80}\n",
     "t.yaml:4", "spec.ports: not a list (found a map)"},
    {"targetPort out of range",
     "kind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - {port: 80, targetPort: 0}\n",
     "t.yaml:5", R"(spec.ports[0].targetPort: "0" is not a port number)"},
    {"unknown protocol",
     "kind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - {port: 80, protocol: HTTP}\n",
     "t.yaml:5", R"(spec.ports[0].protocol: "HTTP" is not TCP, UDP or SCTP)"},
    {"bad clusterIP", "kind: Service\nmetadata: {name: web}\nspec:\n  clusterIP: 10.0.0.300\n",
     "t.yaml:4", R"(Service default/web: spec.clusterIP: "10.0.0.300" is not an IP address)"},
    {"bad clusterIPs",
     "kind: Service\nmetadata: {name: web}\nspec:\n  clusterIPs:\n  - 10.0.0.1\n  - nope\n",
     "t.yaml:6", R"(spec.clusterIPs[1]: "nope" is not an IP address)"},
    {"bad externalIP",
     "kind: Service\nmetadata: {name: web}\nspec:\n  externalIPs:\n  - 192.0.2.1\n  - 192.0.2\n",
     "t.yaml:6", R"(Service default/web: spec.externalIPs[1]: "192.0.2" is not an IP address)"},
    {"bad load balancer IP",
     "kind: Service\nmetadata: {name: lb}\nstatus:\n  loadBalancer:\n    ingress:\n"
     "    - ip: 34.120.83.256\n",
     "t.yaml:6",
     R"(Service default/lb: status.loadBalancer.ingress[0].ip: "34.120.83.256" is not an IP)"},
    {"None mixed with an address",
     "kind: Service\nmetadata: {name: web}\nspec: {clusterIPs: [10.0.0.1, None]}\n", "t.yaml:3",
     "spec.clusterIPs[1]: \"None\" mixed with addresses"},
    {"unknown type", "kind: Service\nmetadata: {name: web}\nspec:\n  type: Foo\n", "t.yaml:4",
     R"(spec.type: "Foo" is not ClusterIP, NodePort, LoadBalancer or ExternalName)"},
    {"ExternalName without a name",
     "kind: Service\nmetadata: {name: ext}\nspec:\n  type: ExternalName\n", "t.yaml:4",
     "Service default/ext: spec.externalName: missing"},
    {"selector is a list", "kind: Service\nmetadata: {name: web}\nspec:\n  selector: [a]\n",
     "t.yaml:4", "Service default/web: spec.selector: not a map"},
    {"selector value is a list",
     "kind: Service\nmetadata: {name: web}\nspec:\n  selector:\n    app: [a]\n", "t.yaml:5",
     "spec.selector.app: not a string (found a list)"},
    {"spec is a list", "kind: Service\nmetadata: {name: web}\nspec:\n- a\n", "t.yaml:4",
     "Service default/web: spec: not a map (found a list)"},
    {"quoted boolean",
     "kind: Service\nmetadata: {name: web}\nspec:\n  publishNotReadyAddresses: \"true\"\n",
     "t.yaml:4", R"(spec.publishNotReadyAddresses: "true" is not true or false)"},
    {"not a boolean",
     "kind: Service\nmetadata: {name: web}\nspec:\n  publishNotReadyAddresses: maybe\n", "t.yaml:4",
     R"(spec.publishNotReadyAddresses: "maybe" is not true or false)"},
    {"label value is a map", "kind: Service\nmetadata:\n  name: web\n  labels:\n    app: {a: b}\n",
     "t.yaml:5", "Service default/web: metadata.labels.app: not a string (found a map)"},
    {"label key is a list", "kind: Service\nmetadata:\n  name: web\n  labels: {[a]: b}\n",
     "t.yaml:4", "metadata.labels: not a string key (found a list)"},
    {"labels is a list", "kind: Service\nmetadata:\n  name: web\n  labels: [a]\n", "t.yaml:4",
     "metadata.labels: not a map (found a list)"},
    {"annotation value is a list",
     "kind: Service\nmetadata:\n  name: web\n  annotations:\n    a: [1]\n", "t.yaml:5",
     "metadata.annotations.a: not a string"},
    {"name is a map", "kind: Service\nmetadata:\n  name: {a: b}\n", "t.yaml:3",
     "Service: metadata.name: not a string (found a map)"},
    {"namespace is a list", "kind: Service\nmetadata:\n  name: web\n  namespace: [a]\n", "t.yaml:4",
     "Service: metadata.namespace: not a string (found a list)"},
    {"metadata is a scalar", "kind: Pod\nmetadata: web\n", "t.yaml:2",
     R"(Pod: metadata: not a map (found "web"))"},
    {"document is a list", "- a\n- b\n", "t.yaml:1",
     "not a Kubernetes object (a map), found a list"},
    {"document is a scalar", "---\nhello\n", "t.yaml:2",
     R"(not a Kubernetes object (a map), found "hello")"},
    {"no kind", "apiVersion: v1\nmetadata: {name: x}\n", "t.yaml:1", "kind: missing"},
    {"kind is a map", "kind: {a: b}\n", "t.yaml:1", "kind: not a string (found a map)"},
    {"error in a later document",
     "kind: Namespace\nmetadata: {name: a}\n---\nkind: Service\n"
     "metadata: {name: b}\nspec: {ports: [{port: x}]}\n",
     "t.yaml:6", R"(Service default/b: spec.ports[0].port: "x" is not a port number)"},
    {"bad pod IP", "kind: Pod\nmetadata: {name: p}\nstatus:\n  podIP: 1.2.3\n", "t.yaml:4",
     R"(Pod default/p: status.podIP: "1.2.3" is not an IP address)"},
    {"pod IP entry without ip", "kind: Pod\nmetadata: {name: p}\nstatus:\n  podIPs:\n  - {}\n",
     "t.yaml:5", "Pod default/p: status.podIPs[0].ip: missing"},
    {"container port missing",
     "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - ports:\n    - name: http\n",
     "t.yaml:6", "Pod default/p: spec.containers[0].ports[0].containerPort: missing"},
    {"containers is a map", "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: {a: b}\n",
     "t.yaml:4", "spec.containers: not a list (found a map)"},
    {"negative replicas", "kind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: -1\n",
     "t.yaml:4", R"(Deployment default/d: spec.replicas: "-1" is not a replica count)"},
    {"replicas not a number", "kind: StatefulSet\nmetadata: {name: s}\nspec:\n  replicas: three\n",
     "t.yaml:4", R"(StatefulSet default/s: spec.replicas: "three" is not a replica count)"},
    {"huge replicas", "kind: ReplicaSet\nmetadata: {name: r}\nspec:\n  replicas: 99999999999\n",
     "t.yaml:4", R"(spec.replicas: "99999999999" is not a replica count (0-100000))"},
    {"bad slice address",
     "kind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: web}}\n"
     "endpoints:\n- addresses:\n  - 10.0.0.256\n",
     "t.yaml:5", R"(EndpointSlice default/s: endpoints[0].addresses[0]: "10.0.0.256" is not)"},
    {"slice address of the wrong family",
     "kind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: web}}\n"
     "addressType: IPv4\nendpoints: [{addresses: ['fd00::1']}]\n",
     "t.yaml:4", R"(endpoints[0].addresses[0]: "fd00::1" is not an IPv4 address)"},
    {"unknown addressType",
     "kind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: web}}\n"
     "addressType: IPX\n",
     "t.yaml:3", R"(addressType: "IPX" is not IPv4, IPv6 or FQDN)"},
    {"slice ready not a boolean",
     "kind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: web}}\n"
     "endpoints:\n- addresses: [10.0.0.1]\n  conditions: {ready: [true]}\n",
     "t.yaml:5", "endpoints[0].conditions.ready: not true or false (found a list)"},
    {"slice port out of range",
     "kind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: web}}\n"
     "ports:\n- port: 0\n",
     "t.yaml:4", R"(ports[0].port: "0" is not a port number)"},
    {"Endpoints address without ip",
     "kind: Endpoints\nmetadata: {name: web}\nsubsets:\n- addresses:\n  - hostname: a\n",
     "t.yaml:5", "Endpoints default/web: subsets[0].addresses[0].ip: missing"},
    {"Endpoints port missing",
     "kind: Endpoints\nmetadata: {name: web}\nsubsets:\n- ports:\n  - name: http\n", "t.yaml:5",
     "Endpoints default/web: subsets[0].ports[0].port: missing"},
    {"List items not a list", "kind: List\nitems: {a: b}\n", "t.yaml:2",
     "items: not a list (found a map)"},
    {"List item without kind", "kind: List\nitems:\n- metadata: {name: a}\n", "t.yaml:3",
     "items[0].kind: missing"},
    {"List item is a scalar", "kind: List\nitems:\n- hello\n", "t.yaml:3",
     R"(items[0]: not a map (found "hello"))"},
    {"List inside a List", "kind: List\nitems:\n- kind: List\n  items: []\n", "t.yaml:3",
     "items[0].kind: a List inside a List"},
    {"error inside a List item",
     "kind: List\nitems:\n- kind: Service\n  metadata: {name: a}\n  spec:\n    type: Bad\n",
     "t.yaml:6", R"(Service default/a: spec.type: "Bad" is not)"},
    {"YAML syntax", "kind: Service\nmetadata: {name: [}\n", "t.yaml:2", "YAML: "},
    {"list inside a map", "kind: Service\nmetadata:\n  name: web\n- item\n", "t.yaml:4",
     "YAML: end of map not found"},
};

TEST_CASE("broken manifests are errors naming file, line, object and field") {
  for (const Broken& broken : kBroken) {
    const std::string what = broken.what;
    CAPTURE(what);
    const base::Error error = failure(broken.yaml);
    CHECK(error.where == broken.where);
    CHECK_MESSAGE(error.message.find(broken.message) != std::string::npos, error.message);
  }
}

TEST_CASE("a message quotes a huge value only in part") {
  const std::string huge(1 << 20, '9');
  const base::Error error =
      failure("kind: Service\nmetadata: {name: web}\nspec: {ports: [{port: " + huge + "}]}\n");
  CHECK(error.where == "t.yaml:3");
  CHECK(error.message.size() < 200);
}

TEST_CASE("control characters in a quoted value do not reach the message") {
  const base::Error error =
      failure("kind: Service\nmetadata: {name: web}\nspec: {type: \"a\\nb\\u0007\"}\n");
  CHECK_MESSAGE(error.message.find("\"a?b?\"") != std::string::npos, error.message);
}

// ---- hostile inputs ----

TEST_CASE("deeply nested YAML is an error, not a crash") {
  const base::Error flow = failure(std::string(100000, '['));
  CHECK(flow.message.find("nested too deeply") != std::string::npos);
  const base::Error json = failure("{\"a\": " + std::string(100000, '[') + std::string(100000, ']') + "}");
  CHECK(json.message.find("nested too deeply") != std::string::npos);
  std::string block;
  for (int i = 0; i < 5000; ++i) block += std::string(i, ' ') + "a:\n";
  CHECK(failure(block).message.find("nested too deeply") != std::string::npos);
  std::string in_labels = "kind: Service\nmetadata:\n  name: web\n  labels: {a: ";
  // Deep, but within what yaml-cpp accepts.
  in_labels += std::string(300, '[') + std::string(300, ']') + "}\n";
  const base::Error deep_label = failure(in_labels);
  CHECK_MESSAGE(deep_label.message.find("metadata.labels.a: not a string") != std::string::npos,
                deep_label.message);
}

TEST_CASE("a huge name is read without trouble") {
  const std::string name(1 << 20, 'a');
  const Inputs inputs = parse("kind: Namespace\nmetadata: {name: " + name + "}\n");
  CHECK(inputs.namespaces.at(0).size() == name.size());
}

TEST_CASE("cyclic aliases are errors, not endless loops") {
  CHECK(failure("kind: List\nitems: &a\n- kind: List\n  items: *a\n").message ==
        "items[0].kind: a List inside a List");
  const base::Error labels = failure("kind: Pod\nmetadata: &m {name: p, labels: *m}\n");
  CHECK(labels.message.find("metadata.labels.labels: not a string") != std::string::npos);
}

TEST_CASE("binary garbage is an error or nothing, never a crash") {
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919) % 256);
  Inputs inputs;
  (void)loadText(garbage, "g.yaml", inputs);
  (void)loadText(std::string("kind: Pod\0metadata: x", 21), "g.yaml", inputs);
  CHECK(loadText("\xef\xbb\xbfkind: Namespace\nmetadata: {name: bom}\n", "g.yaml", inputs).ok());
}

// ---- files and directories ----

// A directory under the system temporary directory, removed when the test ends.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("dnsd_manifest_test_" + std::to_string(::getpid()) + "_" + std::to_string(next_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string write(const std::string& relative, const std::string& text) const {
    const fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file.string();
  }
  std::string str() const { return path_.string(); }

 private:
  static inline int next_ = 0;
  fs::path path_;
};

std::string namespaceYaml(const std::string& name) {
  return "kind: Namespace\nmetadata: {name: " + name + "}\n";
}

TEST_CASE("a directory is walked recursively in sorted order for yaml, yml and json") {
  TempDir dir;
  dir.write("b.yaml", namespaceYaml("b"));
  dir.write("a.yml", namespaceYaml("a"));
  dir.write("sub/deeper/c.json", R"({"kind": "Namespace", "metadata": {"name": "c"}})");
  dir.write("sub/D.YAML", namespaceYaml("d"));
  dir.write("notes.txt", "not: [yaml");
  dir.write("empty.yaml", "# nothing here\n");
  dir.write(".hidden.yaml", namespaceYaml("hidden"));
  dir.write("..data/e.yaml", namespaceYaml("configmap-copy"));
  const base::Result<Inputs> inputs = load({dir.str()});
  REQUIRE_MESSAGE(inputs.ok(), (inputs.ok() ? "" : inputs.error().str()));
  CHECK(inputs->namespaces == std::vector<std::string>{"a", "b", "d", "c"});
  CHECK(inputs->files == 5);
}

TEST_CASE("a file named directly is read whatever its extension") {
  TempDir dir;
  const std::string file = dir.write("services.txt", namespaceYaml("x"));
  const std::string other = dir.write("other.yaml", namespaceYaml("y"));
  const base::Result<Inputs> inputs = load({file, other});
  REQUIRE(inputs.ok());
  CHECK(inputs->namespaces == std::vector<std::string>{"x", "y"});
  CHECK(inputs->files == 2);
  CHECK(inputs->read_kinds.at("Namespace") == 2);
}

TEST_CASE("objects from a file record that file and their line") {
  TempDir dir;
  const std::string file = dir.write(
      "apps.yaml", "---\n" + namespaceYaml("x") + "---\nkind: Service\nmetadata: {name: w}\n");
  const base::Result<Inputs> inputs = load({file});
  REQUIRE(inputs.ok());
  CHECK(inputs->services.at(0).meta.source.file == file);
  CHECK(inputs->services.at(0).meta.source.line == 5);
}

TEST_CASE("an error in a walked file names that file and the line") {
  TempDir dir;
  dir.write("a.yaml", namespaceYaml("a"));
  const std::string bad = dir.write("z/bad.yaml",
                                    "kind: Service\nmetadata:\n  name: web\n"
                                    "spec:\n  clusterIP: x\n");
  const base::Result<Inputs> inputs = load({dir.str()});
  REQUIRE_FALSE(inputs.ok());
  CHECK(inputs.error().where == bad + ":5");
  CHECK(inputs.error().message ==
        R"(Service default/web: spec.clusterIP: "x" is not an IP address)");
}

TEST_CASE("a missing path is an error") {
  TempDir dir;
  const std::string missing = dir.str() + "/nope";
  const base::Result<Inputs> inputs = load({missing});
  REQUIRE_FALSE(inputs.ok());
  CHECK(inputs.error().where == missing);
  CHECK(inputs.error().message == "no such file or directory");
}

TEST_CASE("an empty directory loads nothing") {
  TempDir dir;
  const base::Result<Inputs> inputs = load({dir.str()});
  REQUIRE(inputs.ok());
  CHECK(inputs->files == 0);
}

}  // namespace
}  // namespace dnsd::manifest
