// normalize(): validation, workload expansion, address allocation, endpoint resolution,
// and that the result never depends on the order of the input.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dnsd/cluster/address_allocator.h"
#include "dnsd/cluster/cluster.h"

namespace dnsd::cluster {
namespace {

// ---- Builders: the smallest objects a test needs; fields set in the test body ----

base::IpAddress ip(const char* text) {
  std::optional<base::IpAddress> parsed = base::IpAddress::parse(text);
  REQUIRE_MESSAGE(parsed, text);
  return *parsed;
}

Meta meta(std::string name, std::string ns = "default", Source source = {"test.yaml", 1}) {
  Meta out;
  out.name = std::move(name);
  out.ns = std::move(ns);
  out.source = std::move(source);
  return out;
}

Service service(std::string name, std::optional<Labels> selector = std::nullopt) {
  Service out;
  out.meta = meta(std::move(name));
  out.selector = std::move(selector);
  out.ports = {ServicePort{"http", "TCP", 80, 0, ""}};
  return out;
}

Service headless(std::string name, std::optional<Labels> selector = std::nullopt) {
  Service out = service(std::move(name), std::move(selector));
  out.headless = true;
  return out;
}

Pod pod(std::string name, Labels labels, std::vector<const char*> ips = {}) {
  Pod out;
  out.meta = meta(std::move(name));
  out.meta.labels = std::move(labels);
  for (const char* text : ips) out.ips.push_back(ip(text));
  return out;
}

Endpoint endpoint(const char* address, bool ready = true) {
  Endpoint out;
  out.addresses = {ip(address)};
  out.ready = ready;
  return out;
}

EndpointSlice slice(std::string name, std::string service_name, std::vector<Endpoint> endpoints,
                    bool legacy = false) {
  EndpointSlice out;
  out.meta = meta(std::move(name));
  out.service_name = std::move(service_name);
  out.endpoints = std::move(endpoints);
  out.legacy = legacy;
  out.ports = {EndpointPort{"http", "TCP", 8080}};
  return out;
}

Workload workload(WorkloadKind kind, std::string name, int replicas, Labels labels) {
  Workload out;
  out.meta = meta(std::move(name), "default", {"apps.yaml", 5});
  out.kind = kind;
  out.replicas = replicas;
  out.pod_labels = std::move(labels);
  return out;
}

// ---- Reading the result ----

Cluster normalizeOk(Inputs inputs, const Options& options = {}) {
  base::Result<Cluster> result = normalize(std::move(inputs), options);
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().str()));
  return std::move(*result);
}

std::string normalizeError(Inputs inputs, const Options& options = {}) {
  base::Result<Cluster> result = normalize(std::move(inputs), options);
  REQUIRE_FALSE(result.ok());
  return result.error().str();
}

const ResolvedService& find(const Cluster& cluster, const std::string& name,
                            const std::string& ns = "default") {
  for (const ResolvedService& resolved : cluster.services)
    if (resolved.service.meta.name == name && resolved.service.meta.ns == ns) return resolved;
  FAIL("no service " << ns << "/" << name);
  throw 0;  // unreachable: FAIL throws
}

const Pod& findPod(const Cluster& cluster, const std::string& name) {
  for (const Pod& p : cluster.pods)
    if (p.meta.name == name) return p;
  FAIL("no pod " << name);
  throw 0;
}

// "10.0.0.1 10.0.0.2"
std::string ipsOf(const ResolvedService& resolved) {
  std::string out;
  for (const ResolvedEndpoint& e : resolved.endpoints) out += (out.empty() ? "" : " ") + e.ip.str();
  return out;
}

// "http/TCP/8080 metrics/TCP/9090"
std::string portsOf(const ResolvedEndpoint& e) {
  std::string out;
  for (const EndpointPort& p : e.ports)
    out += (out.empty() ? "" : " ") + p.name + "/" + p.protocol + "/" + std::to_string(p.port);
  return out;
}

// Everything in a Cluster as text, so two results compare with one CHECK and diff readably.
std::string describe(const Cluster& cluster) {
  std::ostringstream out;
  for (const std::string& ns : cluster.namespaces) out << "namespace " << ns << "\n";
  for (const ResolvedService& resolved : cluster.services) {
    const Service& s = resolved.service;
    out << "service " << s.meta.id() << " headless=" << s.headless << " ips=";
    for (const base::IpAddress& address : s.cluster_ips) out << address.str() << ",";
    out << "\n";
    for (const ResolvedEndpoint& e : resolved.endpoints)
      out << "  endpoint " << e.ip.str() << " host=" << e.hostname << " pod=" << e.pod_name
          << " ready=" << e.ready << " ports=" << portsOf(e) << "\n";
  }
  for (const Pod& p : cluster.pods) {
    out << "pod " << p.meta.id() << " host=" << p.hostname << " sub=" << p.subdomain
        << " ready=" << p.ready << " terminating=" << p.terminating << " ips=";
    for (const base::IpAddress& address : p.ips) out << address.str() << ",";
    out << " labels=";
    for (const auto& [key, value] : p.meta.labels) out << key << "=" << value << ",";
    out << "\n";
  }
  for (const std::string& warning : cluster.warnings) out << "warning " << warning << "\n";
  return out.str();
}

const Labels kApp{{"app", "web"}};

// ---- Namespaces ----

TEST_CASE("namespaces come from Namespace objects and from every object's namespace") {
  Inputs inputs;
  inputs.namespaces = {"empty", "Bad_NS"};
  Service s = service("api");
  s.meta.ns = "prod";
  inputs.services = {s};
  Workload w = workload(WorkloadKind::Deployment, "web", 1, kApp);
  w.meta.ns = "apps";
  inputs.workloads = {w};
  Cluster cluster = normalizeOk(inputs);
  CHECK(cluster.namespaces == std::set<std::string>{"apps", "empty", "prod"});
  REQUIRE(cluster.warnings.size() == 1);
  CHECK(cluster.warnings[0] == "Namespace Bad_NS: name is not a DNS-1123 label; skipped");
}

// ---- Validation ----

TEST_CASE("services and pods with names Kubernetes would refuse are skipped with warnings") {
  Inputs inputs;
  Service bad_name = service("Bad_Name");
  bad_name.meta.source = {"zones/svc.yaml", 4};
  Service bad_ns = service("ok");
  bad_ns.meta.ns = "-bad";
  bad_ns.meta.source = {"zones/svc.yaml", 9};
  Service dotted_service = service("web.v2");
  dotted_service.meta.source = {"zones/svc.yaml", 2};
  Pod bad_pod = pod("web..0", {}, {"10.244.0.5"});
  bad_pod.meta.source = {"zones/pods.yaml", 2};
  // A Pod's name is a DNS subdomain: dots, and parts over 63 characters, are Kubernetes'.
  Pod dotted_pod = pod("web.v2-0", {}, {"10.244.0.6"});
  Pod long_pod = pod(std::string(64, 'p'), {}, {"10.244.0.7"});
  inputs.services = {bad_name, bad_ns, dotted_service, service("good")};
  inputs.pods = {bad_pod, dotted_pod, long_pod};
  Cluster cluster = normalizeOk(inputs);
  REQUIRE(cluster.services.size() == 1);
  CHECK(cluster.services[0].service.meta.name == "good");
  REQUIRE(cluster.pods.size() == 2);
  CHECK(cluster.pods[0].meta.name == std::string(64, 'p'));
  CHECK(cluster.pods[1].meta.name == "web.v2-0");
  CHECK(cluster.warnings ==
        std::vector<std::string>{
            "zones/pods.yaml:2: Pod default/web..0: name is not a DNS-1123 subdomain; skipped",
            "zones/svc.yaml:2: Service default/web.v2: name is not a DNS-1123 label; skipped",
            "zones/svc.yaml:4: Service default/Bad_Name: name is not a DNS-1123 label; skipped",
            "zones/svc.yaml:9: Service -bad/ok: namespace is not a DNS-1123 label; skipped"});
}

TEST_CASE("an invalid pod hostname or subdomain is dropped with a warning, the pod stays") {
  Inputs inputs;
  Pod p = pod("web-0", kApp, {"10.244.0.5"});
  p.hostname = "Web_0";
  p.subdomain = "web.svc";
  p.meta.source = {"pods.yaml", 3};
  inputs.pods = {p};
  Cluster cluster = normalizeOk(inputs);
  REQUIRE(cluster.pods.size() == 1);
  CHECK(cluster.pods[0].hostname.empty());
  CHECK(cluster.pods[0].subdomain.empty());
  CHECK(cluster.warnings ==
        std::vector<std::string>{
            "pods.yaml:3: Pod default/web-0: hostname \"Web_0\" is not a DNS-1123 label; dropped",
            "pods.yaml:3: Pod default/web-0: subdomain \"web.svc\" is not a DNS-1123 label; "
            "dropped"});
}

TEST_CASE("a load balancer hostname that is no DNS name is dropped with a warning") {
  Inputs inputs;
  Service lb = service("lb");
  lb.type = ServiceType::LoadBalancer;
  lb.external_hostnames = {"a1.elb.example.com", "not a name"};
  lb.external_ips = {ip("203.0.113.7")};
  lb.meta.source = {"lb.yaml", 2};
  inputs.services = {lb};
  Cluster cluster = normalizeOk(inputs);
  REQUIRE(cluster.services.size() == 1);
  CHECK(cluster.services[0].service.external_hostnames ==
        std::vector<std::string>{"a1.elb.example.com"});
  CHECK(cluster.services[0].service.external_ips ==
        std::vector<base::IpAddress>{ip("203.0.113.7")});
  CHECK(cluster.warnings ==
        std::vector<std::string>{"lb.yaml:2: Service default/lb: status.loadBalancer.ingress "
                                 "hostname \"not a name\" is not a DNS-1123 subdomain; dropped"});
}

TEST_CASE("two services with the same namespace and name are an error at the second") {
  Service first = service("web");
  first.meta.source = {"a.yaml", 3};
  Service second = service("web");
  second.meta.source = {"b.yaml", 8};
  for (bool reversed : {false, true}) {
    Inputs inputs;
    inputs.services = reversed ? std::vector{second, first} : std::vector{first, second};
    CHECK(normalizeError(inputs) == "b.yaml:8: Service default/web: defined twice (a.yaml:3)");
  }
}

TEST_CASE("two pods with the same name are an error, but a Service and a Pod may share one") {
  Inputs inputs;
  inputs.services = {service("web")};
  inputs.pods = {pod("web", {}), pod("web", {})};
  inputs.pods[1].meta.source.line = 20;
  CHECK(normalizeError(inputs) == "test.yaml:20: Pod default/web: defined twice (test.yaml:1)");
  inputs.pods.pop_back();
  CHECK(normalize(inputs, {}).ok());
}

// ---- ClusterIPs ----

TEST_CASE("a ClusterIP given in a manifest is used as given") {
  Inputs inputs;
  Service s = service("dns");
  s.cluster_ips = {ip("10.96.0.10"), ip("fd00:10::a")};
  inputs.services = {s};
  Cluster cluster = normalizeOk(inputs);
  CHECK(cluster.services[0].service.cluster_ips ==
        std::vector<base::IpAddress>{ip("10.96.0.10"), ip("fd00:10::a")});
}

TEST_CASE("a missing ClusterIP is allocated from the service CIDR at the name's hash") {
  Inputs inputs;
  inputs.services = {service("web")};
  Options options;
  Cluster cluster = normalizeOk(inputs, options);
  const auto& ips = cluster.services[0].service.cluster_ips;
  REQUIRE(ips.size() == 1);
  CHECK(options.service_cidr.contains(ips[0]));
  const base::Cidr& range = options.service_cidr;
  CHECK(ips[0] == *range.at(fnv1a64("default/web") % range.size()));
}

TEST_CASE("an allocated ClusterIP stays the same when other services are added") {
  Inputs one;
  one.services = {service("web")};
  base::IpAddress alone = normalizeOk(one).services[0].service.cluster_ips.at(0);
  Inputs many = one;
  for (int i = 0; i < 50; ++i) many.services.push_back(service("svc" + std::to_string(i)));
  Service explicit_ip = service("pinned");
  explicit_ip.cluster_ips = {ip("10.96.0.10")};
  many.services.push_back(explicit_ip);
  CHECK(find(normalizeOk(many), "web").service.cluster_ips.at(0) == alone);
}

TEST_CASE("allocation skips an address a manifest already gave to another service") {
  Options options;
  const base::Cidr& range = options.service_cidr;
  base::IpAddress hashed = *range.at(fnv1a64("default/web") % range.size());
  Inputs inputs;
  Service pinned = service("zzz");
  pinned.cluster_ips = {hashed};
  inputs.services = {service("web"), pinned};
  Cluster cluster = normalizeOk(inputs, options);
  base::IpAddress got = find(cluster, "web").service.cluster_ips.at(0);
  CHECK(got != hashed);
  CHECK(range.contains(got));
}

TEST_CASE("headless and ExternalName services get no ClusterIP") {
  Inputs inputs;
  Service external = service("ext");
  external.type = ServiceType::ExternalName;
  external.external_name = "example.com";
  inputs.services = {headless("db"), external};
  Cluster cluster = normalizeOk(inputs);
  CHECK(find(cluster, "db").service.cluster_ips.empty());
  CHECK(find(cluster, "ext").service.cluster_ips.empty());
}

TEST_CASE("two services claiming one ClusterIP name each other in the error") {
  Service a = service("a");
  a.meta.source = {"zones/a.yaml", 3};
  a.cluster_ips = {ip("10.96.0.10")};
  Service b = service("b");
  b.meta.source = {"zones/b.yaml", 1};
  b.cluster_ips = {ip("10.96.0.10")};
  for (bool reversed : {false, true}) {
    Inputs inputs;
    inputs.services = reversed ? std::vector{b, a} : std::vector{a, b};
    CHECK(normalizeError(inputs) ==
          "zones/b.yaml:1: Service default/b: clusterIP 10.96.0.10 is already used by "
          "Service default/a (zones/a.yaml:3)");
  }
}

TEST_CASE("a full service CIDR is an error") {
  Options options;
  options.service_cidr = *base::Cidr::parse("10.96.0.0/30");  // two usable addresses
  Inputs inputs;
  inputs.services = {service("a"), service("b")};
  Cluster cluster = normalizeOk(inputs, options);
  CHECK(find(cluster, "a").service.cluster_ips != find(cluster, "b").service.cluster_ips);
  inputs.services.push_back(service("c"));
  inputs.services.back().meta.source = {"c.yaml", 2};
  CHECK(normalizeError(inputs, options) ==
        "c.yaml:2: Service default/c: no free address left in the service CIDR 10.96.0.0/30");
}

// ---- Pods and their IPs ----

TEST_CASE("a pod without an IP gets one from the pod CIDR, avoiding explicit pod IPs") {
  Options options;
  const base::Cidr& range = options.pod_cidr;
  base::IpAddress hashed = *range.at(fnv1a64("default/b") % range.size());
  Inputs inputs;
  Pod a = pod("a", {});
  a.ips = {hashed};
  inputs.pods = {pod("b", {}), a};
  Cluster cluster = normalizeOk(inputs, options);
  CHECK(findPod(cluster, "a").ips == std::vector{hashed});
  base::IpAddress got = findPod(cluster, "b").ips.at(0);
  CHECK(got != hashed);
  CHECK(range.contains(got));
}

TEST_CASE("a StatefulSet becomes NAME-0..NAME-(r-1) with hostname and subdomain") {
  Inputs inputs;
  Workload set = workload(WorkloadKind::StatefulSet, "cassandra", 3, {{"app", "cassandra"}});
  set.service_name = "db-headless";
  set.ports = {ContainerPort{"cql", 9042, "TCP"}};
  inputs.workloads = {set};
  Cluster cluster = normalizeOk(inputs);
  REQUIRE(cluster.pods.size() == 3);
  for (int i = 0; i < 3; ++i) {
    const Pod& p = cluster.pods[i];
    CAPTURE(i);
    CHECK(p.meta.name == "cassandra-" + std::to_string(i));
    CHECK(p.hostname == p.meta.name);
    CHECK(p.subdomain == "db-headless");
    CHECK(p.meta.labels.at("app") == "cassandra");
    CHECK(p.meta.labels.at("statefulset.kubernetes.io/pod-name") == p.meta.name);
    CHECK(p.ports.at(0).name == "cql");
    CHECK(p.meta.source.str() == "apps.yaml:5");
    CHECK(p.ips.size() == 1);
    CHECK(p.ready);
  }
  CHECK(cluster.pods[0].ips != cluster.pods[1].ips);
}

TEST_CASE("a StatefulSet's pods resolve under its headless service by hostname") {
  Inputs inputs;
  Workload set = workload(WorkloadKind::StatefulSet, "cassandra", 2, {{"app", "cassandra"}});
  set.service_name = "db-headless";
  inputs.workloads = {set};
  inputs.services = {headless("db-headless", Labels{{"app", "cassandra"}}),
                     service("db", Labels{{"app", "cassandra"}})};
  Cluster cluster = normalizeOk(inputs);
  std::vector<std::string> hostnames;
  for (const ResolvedEndpoint& e : find(cluster, "db-headless").endpoints)
    hostnames.push_back(e.hostname);
  std::sort(hostnames.begin(), hostnames.end());
  CHECK(hostnames == std::vector<std::string>{"cassandra-0", "cassandra-1"});
  for (const ResolvedEndpoint& e : find(cluster, "db").endpoints) CHECK(e.hostname.empty());
}

TEST_CASE("a Deployment becomes r pods named NAME-<hash>-<i> from its template") {
  Inputs inputs;
  Workload deployment = workload(WorkloadKind::Deployment, "web", 2, kApp);
  deployment.pod_hostname = "box";
  deployment.pod_subdomain = "grp";
  inputs.workloads = {deployment};
  Cluster cluster = normalizeOk(inputs);
  REQUIRE(cluster.pods.size() == 2);
  char hash[16];
  std::snprintf(hash, sizeof hash, "%010llx",
                static_cast<unsigned long long>(fnv1a64("default/web") & 0xffffffffffull));
  CHECK(cluster.pods[0].meta.name == "web-" + std::string(hash) + "-0");
  CHECK(cluster.pods[1].meta.name == "web-" + std::string(hash) + "-1");
  CHECK(cluster.pods[0].hostname == "box");
  CHECK(cluster.pods[0].subdomain == "grp");
  CHECK(cluster.pods[0].meta.labels == kApp);
}

TEST_CASE("an explicit pod wins over the one a workload would make") {
  Inputs inputs;
  inputs.workloads = {workload(WorkloadKind::StatefulSet, "web", 2, kApp)};
  Pod live = pod("web-1", {{"app", "web"}, {"live", "yes"}}, {"10.244.9.9"});
  inputs.pods = {live};
  Cluster cluster = normalizeOk(inputs);
  REQUIRE(cluster.pods.size() == 2);
  CHECK(findPod(cluster, "web-1").ips == std::vector{ip("10.244.9.9")});
  CHECK(findPod(cluster, "web-1").meta.labels.count("live") == 1);
}

TEST_CASE("a workload pod whose name is too long for a label is skipped with a warning") {
  Inputs inputs;
  inputs.workloads = {workload(WorkloadKind::StatefulSet, std::string(62, 's'), 1, kApp)};
  Cluster cluster = normalizeOk(inputs);
  CHECK(cluster.pods.empty());
  REQUIRE(cluster.warnings.size() == 1);
  CHECK(cluster.warnings[0].find("apps.yaml:5: Pod default/" + std::string(62, 's') +
                                 "-0 of "
                                 "StatefulSet") == 0);
}

TEST_CASE("absurd replica counts are an error rather than an out-of-memory") {
  Inputs inputs;
  inputs.workloads = {workload(WorkloadKind::ReplicaSet, "web", 1000000000, kApp)};
  CHECK(normalizeError(inputs) ==
        "apps.yaml:5: ReplicaSet default/web: replicas 1000000000 is more than dnsd's limit of "
        "100000");
}

// ---- Endpoints from selectors ----

TEST_CASE("a selector picks pods of its namespace that carry every selector label") {
  Inputs inputs;
  Pod match = pod("match", {{"app", "web"}, {"tier", "front"}, {"extra", "x"}}, {"10.244.0.1"});
  Pod wrong_value = pod("wrong", {{"app", "web"}, {"tier", "back"}}, {"10.244.0.2"});
  Pod missing = pod("missing", {{"app", "web"}}, {"10.244.0.3"});
  Pod elsewhere = match;
  elsewhere.meta.ns = "other";
  elsewhere.ips = {ip("10.244.0.4")};
  inputs.pods = {match, wrong_value, missing, elsewhere};
  inputs.services = {service("web", Labels{{"app", "web"}, {"tier", "front"}}), service("manual"),
                     service("empty-selector", Labels{})};
  Cluster cluster = normalizeOk(inputs);
  const ResolvedService& web = find(cluster, "web");
  CHECK(ipsOf(web) == "10.244.0.1");
  CHECK(web.endpoints[0].pod_name == "match");
  CHECK(web.endpoints[0].ready);
  CHECK(portsOf(web.endpoints[0]) == "http/TCP/80");
  CHECK(find(cluster, "manual").endpoints.empty());
  CHECK(find(cluster, "empty-selector").endpoints.empty());
}

TEST_CASE("a headless service gets one endpoint per ready pod") {
  Inputs inputs;
  inputs.pods = {pod("a", kApp, {"10.244.0.2"}), pod("b", kApp, {"10.244.0.1"}),
                 pod("c", kApp, {"10.244.0.3"})};
  inputs.services = {headless("web", kApp)};
  CHECK(ipsOf(normalizeOk(inputs).services[0]) == "10.244.0.1 10.244.0.2 10.244.0.3");
}

TEST_CASE("a not-ready pod is excluded unless the service publishes not-ready addresses") {
  Inputs inputs;
  Pod unready = pod("unready", kApp, {"10.244.0.2"});
  unready.ready = false;
  inputs.pods = {pod("ready", kApp, {"10.244.0.1"}), unready};
  Service published = headless("published", kApp);
  published.publish_not_ready = true;
  inputs.services = {headless("web", kApp), published};
  Cluster cluster = normalizeOk(inputs);
  CHECK(ipsOf(find(cluster, "web")) == "10.244.0.1");
  CHECK(ipsOf(find(cluster, "published")) == "10.244.0.1 10.244.0.2");
  for (const ResolvedEndpoint& e : find(cluster, "published").endpoints) CHECK(e.ready);
}

TEST_CASE("a terminating pod is kept as a pod but never becomes an endpoint") {
  Inputs inputs;
  Pod leaving = pod("leaving", kApp, {"10.244.0.2"});
  leaving.terminating = true;
  inputs.pods = {pod("staying", kApp, {"10.244.0.1"}), leaving};
  Service published = headless("published", kApp);
  published.publish_not_ready = true;
  inputs.services = {headless("web", kApp), published};
  Cluster cluster = normalizeOk(inputs);
  CHECK(ipsOf(find(cluster, "web")) == "10.244.0.1");
  CHECK(ipsOf(find(cluster, "published")) == "10.244.0.1");
  CHECK(findPod(cluster, "leaving").terminating);
}

TEST_CASE("a pod's hostname reaches the endpoint only when its subdomain names the service") {
  Inputs inputs;
  Pod matching = pod("matching", kApp, {"10.244.0.1"});
  matching.hostname = "alpha";
  matching.subdomain = "web";
  Pod other_subdomain = pod("other", kApp, {"10.244.0.2"});
  other_subdomain.hostname = "beta";
  other_subdomain.subdomain = "elsewhere";
  Pod no_subdomain = pod("plain", kApp, {"10.244.0.3"});
  no_subdomain.hostname = "gamma";
  inputs.pods = {matching, other_subdomain, no_subdomain};
  inputs.services = {headless("web", kApp)};
  const Cluster cluster = normalizeOk(inputs);
  const auto& endpoints = cluster.services[0].endpoints;
  REQUIRE(endpoints.size() == 3);
  CHECK(endpoints[0].hostname == "alpha");
  CHECK(endpoints[1].hostname.empty());
  CHECK(endpoints[2].hostname.empty());
}

TEST_CASE("a named targetPort resolves through the pod's container ports") {
  Inputs inputs;
  Pod with_port = pod("with", kApp, {"10.244.0.1"});
  with_port.ports = {ContainerPort{"web", 8080, "TCP"}, ContainerPort{"dns", 5353, "UDP"}};
  Pod without_port = pod("without", kApp, {"10.244.0.2"});
  Service s = headless("web", kApp);
  s.ports = {ServicePort{"http", "TCP", 80, 0, "web"},
             ServicePort{"metrics", "TCP", 9090, 9091, ""},
             ServicePort{"plain", "TCP", 7000, 0, ""}, ServicePort{"dns", "TCP", 53, 0, "dns"}};
  inputs.pods = {with_port, without_port};
  inputs.services = {s};
  const Cluster cluster = normalizeOk(inputs);
  const auto& endpoints = cluster.services[0].endpoints;
  REQUIRE(endpoints.size() == 2);
  // dns/TCP finds no TCP container port named "dns" (name and protocol must match).
  CHECK(portsOf(endpoints[0]) == "http/TCP/8080 metrics/TCP/9091 plain/TCP/7000");
  CHECK(portsOf(endpoints[1]) == "metrics/TCP/9091 plain/TCP/7000");
}

TEST_CASE("a ClusterIP service only takes pod IPs of its own families; headless takes all") {
  Inputs inputs;
  inputs.pods = {pod("dual", kApp, {"10.244.0.1", "fd00:244::1"})};
  Service v4 = service("v4", kApp);
  v4.cluster_ips = {ip("10.96.0.20")};
  Service dual = service("dual", kApp);
  dual.cluster_ips = {ip("10.96.0.21"), ip("fd00:96::21")};
  inputs.services = {v4, dual, headless("hl", kApp)};
  Cluster cluster = normalizeOk(inputs);
  CHECK(ipsOf(find(cluster, "v4")) == "10.244.0.1");
  CHECK(ipsOf(find(cluster, "dual")) == "10.244.0.1 fd00:244::1");
  CHECK(ipsOf(find(cluster, "hl")) == "10.244.0.1 fd00:244::1");
}

TEST_CASE("an ExternalName service has no endpoints even with a selector") {
  Inputs inputs;
  Service external = service("ext", kApp);
  external.type = ServiceType::ExternalName;
  inputs.pods = {pod("a", kApp, {"10.244.0.1"})};
  inputs.services = {external};
  CHECK(normalizeOk(inputs).services[0].endpoints.empty());
}

// ---- Endpoints from slices ----

TEST_CASE("EndpointSlices are preferred over the selector") {
  Inputs inputs;
  inputs.pods = {pod("a", kApp, {"10.244.0.1"})};
  inputs.services = {headless("web", kApp)};
  inputs.slices = {slice("web-abcde", "web", {endpoint("10.1.0.7")})};
  const Cluster cluster = normalizeOk(inputs);
  const ResolvedService& web = cluster.services[0];
  CHECK(ipsOf(web) == "10.1.0.7");
  CHECK(portsOf(web.endpoints[0]) == "http/TCP/8080");
}

TEST_CASE("a slice belongs to the service its label names, in the same namespace") {
  Inputs inputs;
  inputs.services = {headless("web")};
  EndpointSlice other_ns = slice("web-1", "web", {endpoint("10.1.0.1")});
  other_ns.meta.ns = "other";
  inputs.slices = {other_ns, slice("web", "api", {endpoint("10.1.0.2")}),
                   slice("anything", "web", {endpoint("10.1.0.3")})};
  CHECK(ipsOf(normalizeOk(inputs).services[0]) == "10.1.0.3");
}

TEST_CASE("EndpointSlices win over legacy Endpoints, which are used when alone") {
  Inputs inputs;
  inputs.services = {headless("both"), headless("legacy-only")};
  inputs.slices = {slice("both", "both", {endpoint("10.1.0.1")}, true),
                   slice("both-xyz", "both", {endpoint("10.1.0.2")}),
                   slice("legacy-only", "legacy-only", {endpoint("10.1.0.3")}, true),
                   slice("legacy-only", "legacy-only", {endpoint("10.1.0.4")}, true)};
  Cluster cluster = normalizeOk(inputs);
  CHECK(ipsOf(find(cluster, "both")) == "10.1.0.2");
  CHECK(ipsOf(find(cluster, "legacy-only")) == "10.1.0.3 10.1.0.4");
}

TEST_CASE("slice endpoints need ready and not terminating, unless the service publishes all") {
  Endpoint terminating = endpoint("10.1.0.3");
  terminating.terminating = true;
  std::vector<Endpoint> endpoints = {endpoint("10.1.0.1"), endpoint("10.1.0.2", false),
                                     terminating};
  Service published = headless("published");
  published.publish_not_ready = true;
  Inputs inputs;
  inputs.services = {headless("web"), published};
  inputs.slices = {slice("web-a", "web", endpoints), slice("published-a", "published", endpoints)};
  Cluster cluster = normalizeOk(inputs);
  CHECK(ipsOf(find(cluster, "web")) == "10.1.0.1");
  CHECK(ipsOf(find(cluster, "published")) == "10.1.0.1 10.1.0.2 10.1.0.3");
}

TEST_CASE("an address in two slices counts once, with the ports of both") {
  Inputs inputs;
  inputs.services = {headless("web")};
  Endpoint named = endpoint("10.1.0.1");
  named.hostname = "alpha";
  named.pod_name = "web-0";
  EndpointSlice first = slice("web-a", "web", {named, endpoint("10.1.0.2")});
  EndpointSlice second = slice("web-b", "web", {endpoint("10.1.0.1")});
  second.ports = {EndpointPort{"metrics", "TCP", 9090}, EndpointPort{"http", "TCP", 8080}};
  inputs.slices = {first, second};
  const Cluster cluster = normalizeOk(inputs);
  const ResolvedService& web = cluster.services[0];
  REQUIRE(ipsOf(web) == "10.1.0.1 10.1.0.2");
  CHECK(web.endpoints[0].hostname == "alpha");
  CHECK(web.endpoints[0].pod_name == "web-0");
  CHECK(portsOf(web.endpoints[0]) == "http/TCP/8080 metrics/TCP/9090");
  CHECK(portsOf(web.endpoints[1]) == "http/TCP/8080");
}

TEST_CASE("a slice with no ports still gives endpoints") {
  Inputs inputs;
  inputs.services = {headless("web")};
  inputs.slices = {slice("web-a", "web", {endpoint("10.1.0.1")})};
  inputs.slices[0].ports.clear();
  const Cluster cluster = normalizeOk(inputs);
  const ResolvedService& web = cluster.services[0];
  REQUIRE(web.endpoints.size() == 1);
  CHECK(web.endpoints[0].ports.empty());
}

// ---- Determinism ----

// A bit of everything, including things that collide, so order could show if it leaked.
Inputs mixedInputs() {
  Inputs inputs;
  inputs.namespaces = {"prod", "empty", "default"};
  Workload set = workload(WorkloadKind::StatefulSet, "db", 3, {{"app", "db"}});
  set.service_name = "db";
  inputs.workloads = {set, workload(WorkloadKind::Deployment, "web", 4, kApp),
                      workload(WorkloadKind::ReplicaSet, "cache", 2, {{"app", "cache"}})};
  Pod unready = pod("unready", kApp);
  unready.ready = false;
  Pod shared_a = pod("host-a", kApp, {"10.244.7.7"});
  Pod shared_b = pod("host-b", kApp, {"10.244.7.7"});
  shared_b.hostname = "b";
  shared_b.subdomain = "web-hl";
  inputs.pods = {pod("db-1", {{"app", "db"}}, {"10.244.1.1"}), unready, shared_a, shared_b,
                 pod("Bad_Pod", kApp)};
  Service pinned = service("pinned", Labels{{"app", "cache"}});
  pinned.cluster_ips = {ip("10.96.0.10")};
  Service prod = service("api", kApp);
  prod.meta.ns = "prod";
  inputs.services = {headless("db", Labels{{"app", "db"}}),
                     service("web", kApp),
                     headless("web-hl", kApp),
                     pinned,
                     prod,
                     service("Bad_Svc"),
                     headless("sliced", kApp)};
  Endpoint a = endpoint("10.1.0.1");
  a.hostname = "a";
  Endpoint a2 = endpoint("10.1.0.1");
  a2.hostname = "b";
  EndpointSlice s2 = slice("sliced-2", "sliced", {a2, endpoint("10.1.0.9", false)});
  s2.ports = {EndpointPort{"dns", "UDP", 53}};
  inputs.slices = {slice("sliced-1", "sliced", {a, endpoint("10.1.0.2")}), s2,
                   slice("sliced", "sliced", {endpoint("10.1.0.3")}, true)};
  return inputs;
}

template <typename T>
void shuffle(std::vector<T>& items, std::mt19937& random) {
  std::shuffle(items.begin(), items.end(), random);
}

TEST_CASE("the same objects in any order give the same cluster") {
  const std::string expected = describe(normalizeOk(mixedInputs()));
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 random(seed);
    Inputs inputs = mixedInputs();
    shuffle(inputs.namespaces, random);
    shuffle(inputs.services, random);
    shuffle(inputs.pods, random);
    shuffle(inputs.workloads, random);
    shuffle(inputs.slices, random);
    for (EndpointSlice& s : inputs.slices) shuffle(s.endpoints, random);
    CAPTURE(seed);
    CHECK(describe(normalizeOk(inputs)) == expected);
  }
  Inputs reversed = mixedInputs();
  std::reverse(reversed.services.begin(), reversed.services.end());
  std::reverse(reversed.pods.begin(), reversed.pods.end());
  std::reverse(reversed.slices.begin(), reversed.slices.end());
  CHECK(describe(normalizeOk(reversed)) == expected);
}

TEST_CASE("the mixed cluster comes out sorted and merged as specified") {
  Cluster cluster = normalizeOk(mixedInputs());
  for (size_t i = 1; i < cluster.services.size(); ++i) {
    const Meta& a = cluster.services[i - 1].service.meta;
    const Meta& b = cluster.services[i].service.meta;
    CHECK(std::tie(a.ns, a.name) < std::tie(b.ns, b.name));
  }
  for (size_t i = 1; i < cluster.pods.size(); ++i)
    CHECK(std::tie(cluster.pods[i - 1].meta.ns, cluster.pods[i - 1].meta.name) <
          std::tie(cluster.pods[i].meta.ns, cluster.pods[i].meta.name));
  CHECK(cluster.namespaces == std::set<std::string>{"default", "empty", "prod"});
  CHECK(cluster.warnings.size() == 2);
  // db-1 is explicit and replaces the StatefulSet's; 3 + 4 + 2 workload pods + 4 valid pods.
  CHECK(cluster.pods.size() == 3 + 4 + 2 + 4 - 1);
  CHECK(findPod(cluster, "db-1").ips == std::vector{ip("10.244.1.1")});
  // Shared IP 10.244.7.7 appears once; its hostname comes from the pod whose subdomain matches.
  const ResolvedService& web_hl = find(cluster, "web-hl");
  int shared = 0;
  for (const ResolvedEndpoint& e : web_hl.endpoints)
    if (e.ip == ip("10.244.7.7")) {
      ++shared;
      CHECK(e.hostname == "b");
      CHECK(e.pod_name == "host-a");
    }
  CHECK(shared == 1);
  // Conflicting hostnames for one address: the smallest wins, whatever the order.
  CHECK(ipsOf(find(cluster, "sliced")) == "10.1.0.1 10.1.0.2");
  CHECK(find(cluster, "sliced").endpoints[0].hostname == "a");
  CHECK(portsOf(find(cluster, "sliced").endpoints[0]) == "dns/UDP/53 http/TCP/8080");
  CHECK(find(cluster, "api", "prod").endpoints.empty());
}

// Enough Services that normalize() resolves the second half on another thread (run under
// scripts/sanitize.sh --thread too): each keeps its own endpoints, in order.
TEST_CASE("a large cluster's services all get their own endpoints") {
  constexpr int kServices = 5000;
  Inputs inputs;
  for (int i = 0; i < kServices; ++i) {
    const std::string name = "svc-" + std::to_string(i);
    inputs.services.push_back(headless(name, i % 2 ? std::optional<Labels>(kApp) : std::nullopt));
    const std::string address = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    if (i % 2 == 0)
      inputs.slices.push_back(slice(name + "-abcde", name, {endpoint(address.c_str())}));
  }
  inputs.pods = {pod("a", kApp, {"10.244.0.1"})};
  const Cluster cluster = normalizeOk(inputs);
  REQUIRE(cluster.services.size() == kServices);
  for (int i = 0; i < kServices; ++i) {
    const std::string name = "svc-" + std::to_string(i);
    const std::string address = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    CHECK(ipsOf(find(cluster, name)) == (i % 2 ? "10.244.0.1" : address));
  }
  for (size_t i = 1; i < cluster.services.size(); ++i)
    CHECK(cluster.services[i - 1].service.meta.name < cluster.services[i].service.meta.name);
}

// The manifest reader sorts each file's objects (sortInputs) before they are merged: with
// equal keys, input order is kept both there and in normalize(), so the result is the same.
TEST_CASE("sorting each file first gives the same cluster as sorting the whole") {
  Inputs whole = mixedInputs();
  Inputs presorted = mixedInputs();
  sortInputs(presorted);
  CHECK(describe(normalizeOk(presorted)) == describe(normalizeOk(whole)));
  // Two legacy Endpoints subsets of one Service on one line keep their order.
  Inputs subsets;
  subsets.services = {headless("web")};
  subsets.slices = {slice("web", "web", {endpoint("10.1.0.9")}, true),
                    slice("web", "web", {endpoint("10.1.0.3")}, true)};
  sortInputs(subsets);
  CHECK(subsets.slices[0].endpoints[0].addresses[0] == ip("10.1.0.9"));
  CHECK(ipsOf(normalizeOk(subsets).services[0]) == "10.1.0.3 10.1.0.9");
}

}  // namespace
}  // namespace dnsd::cluster

TEST_CASE("workloads that would make more than a million Pods are refused before expanding") {
  dnsd::cluster::Inputs inputs;
  for (int i = 0; i < 11; ++i) {
    dnsd::cluster::Workload w;
    w.meta.name = "d" + std::to_string(i);
    w.meta.source = {"many.yaml", 10 * i + 1};
    w.replicas = 100000;
    inputs.workloads.push_back(w);
  }
  auto result = dnsd::cluster::normalize(std::move(inputs), dnsd::cluster::Options{});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message.find("more than 1000000 Pods") != std::string::npos);
  CHECK(result.error().where.rfind("many.yaml:", 0) == 0);  // the one that tips it over
}
