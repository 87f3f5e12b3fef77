// API JSON → trimmed objects: what a real API server sends (kubectl get -o json shapes),
// watch events of every type, and objects that cannot become DNS.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dnsd/kube/decode.h"

namespace {

using dnsd::kube::Decoder;
using dnsd::kube::EventType;
using dnsd::kube::Object;
using dnsd::kube::Resource;

const char* kService = R"({"type":"ADDED","object":{"kind":"Service","apiVersion":"v1",
  "metadata":{"name":"web","namespace":"shop","resourceVersion":"42","uid":"u1",
    "labels":{"app":"web"},"managedFields":[{"manager":"kubectl"}]},
  "spec":{"type":"ClusterIP","clusterIP":"10.96.0.20","clusterIPs":["10.96.0.20","fd00::20"],
    "ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":8080},{"port":81}],
    "selector":{"app":"web"},"publishNotReadyAddresses":true},
  "status":{"loadBalancer":{}}}})";

}  // namespace

TEST_CASE("a Service event keeps what DNS reads") {
  Decoder decoder;
  auto event = decoder.event(Resource::Services, kService);
  REQUIRE(event.ok());
  CHECK(event->type == EventType::Added);
  CHECK(event->resource_version == "42");
  CHECK(event->object.key == "shop/web");
  CHECK(event->object.rejected.empty());
  const auto& s = std::get<dnsd::cluster::Service>(event->object.value);
  CHECK(s.meta.name == "web");
  CHECK(s.meta.ns == "shop");
  REQUIRE(s.cluster_ips.size() == 2);
  CHECK(s.cluster_ips[0].str() == "10.96.0.20");
  CHECK(s.cluster_ips[1].str() == "fd00::20");
  CHECK(!s.headless);
  CHECK(s.publish_not_ready);
  // The selector is not kept: from the API, endpoints come from the slices alone.
  CHECK(!s.selector);
  REQUIRE(s.ports.size() == 2);
  CHECK(s.ports[0].name == "http");
  CHECK(s.ports[0].port == 80);
  CHECK(s.ports[1].protocol == "TCP");
}

TEST_CASE("headless and ExternalName Services") {
  Decoder decoder;
  auto headless = decoder.event(Resource::Services, R"({"type":"MODIFIED","object":{
    "kind":"Service","metadata":{"name":"db","namespace":"default","resourceVersion":"7"},
    "spec":{"clusterIP":"None","clusterIPs":["None"]}}})");
  REQUIRE(headless.ok());
  CHECK(headless->type == EventType::Modified);
  CHECK(std::get<dnsd::cluster::Service>(headless->object.value).headless);
  auto external = decoder.event(Resource::Services, R"({"type":"ADDED","object":{
    "kind":"Service","metadata":{"name":"ext","namespace":"default"},
    "spec":{"type":"ExternalName","externalName":"Example.COM."}}})");
  REQUIRE(external.ok());
  const auto& s = std::get<dnsd::cluster::Service>(external->object.value);
  CHECK(s.type == dnsd::cluster::ServiceType::ExternalName);
  CHECK(s.external_name == "example.com");
}

TEST_CASE("a Service's externalIPs and load balancer ingress are kept, IPs first") {
  Decoder decoder;
  // status before spec: the API server's order is not relied on.
  auto event = decoder.event(Resource::Services, R"({"type":"MODIFIED","object":{
    "kind":"Service","metadata":{"name":"lb","namespace":"default"},
    "status":{"loadBalancer":{"ingress":[{"ip":"34.120.83.23","ipMode":"VIP"},
      {"hostname":"A1.ELB.Example.COM"},{"ip":"2001:db8::7","ports":[{"port":80}]}]}},
    "spec":{"type":"LoadBalancer","clusterIP":"10.96.0.52","externalIPs":["192.0.2.10"]}}})");
  REQUIRE(event.ok());
  CHECK(event->object.rejected.empty());
  const auto& s = std::get<dnsd::cluster::Service>(event->object.value);
  std::vector<std::string> ips;
  for (const auto& ip : s.external_ips) ips.push_back(ip.str());
  CHECK(ips == std::vector<std::string>{"192.0.2.10", "34.120.83.23", "2001:db8::7"});
  CHECK(s.external_hostnames == std::vector<std::string>{"a1.elb.example.com"});
  // Headless and ExternalName Services keep them too: any type may have external addresses.
  auto headless = decoder.event(Resource::Services, R"({"type":"ADDED","object":{
    "kind":"Service","metadata":{"name":"h","namespace":"default"},
    "spec":{"clusterIP":"None","externalIPs":["192.0.2.11"]}}})");
  REQUIRE(headless.ok());
  CHECK(std::get<dnsd::cluster::Service>(headless->object.value).external_ips.size() == 1);
}

TEST_CASE("a bad external address or hostname is left out with its reason, the Service kept") {
  Decoder decoder;
  auto event = decoder.event(Resource::Services, R"({"type":"ADDED","object":{
    "kind":"Service","metadata":{"name":"lb","namespace":"default"},
    "spec":{"type":"LoadBalancer","clusterIP":"10.96.0.52","externalIPs":["192.0.2"]},
    "status":{"loadBalancer":{"ingress":[{"ip":"34.120.83.23"},{"ip":"34.120.83.256"},
      {"hostname":"under_score.example.com"}]}}}})");
  REQUIRE(event.ok());
  const auto& s = std::get<dnsd::cluster::Service>(event->object.value);
  REQUIRE(s.external_ips.size() == 1);
  CHECK(s.external_ips[0].str() == "34.120.83.23");
  CHECK(s.external_hostnames.empty());
  CHECK(s.cluster_ips.size() == 1);
  // The first reason is the one warned about; the object is named by the client's warning.
  CHECK(event->object.rejected == "spec.externalIPs \"192.0.2\" is not an IP address");
  auto hostname = decoder.event(Resource::Services, R"({"type":"ADDED","object":{
    "kind":"Service","metadata":{"name":"lb","namespace":"default"},
    "spec":{"type":"LoadBalancer","clusterIP":"10.96.0.52"},
    "status":{"loadBalancer":{"ingress":[{"hostname":"under_score.example.com"}]}}}})");
  REQUIRE(hostname.ok());
  CHECK(hostname->object.rejected ==
        "status.loadBalancer.ingress hostname \"under_score.example.com\" is not a DNS-1123 "
        "subdomain");
}

TEST_CASE("an EndpointSlice keeps ready addresses, hostnames and Pod names") {
  Decoder decoder;
  auto event = decoder.event(Resource::EndpointSlices, R"({"type":"ADDED","object":{
    "kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1",
    "metadata":{"name":"db-abc12","namespace":"default","resourceVersion":"9",
      "labels":{"kubernetes.io/service-name":"db","endpointslice.kubernetes.io/managed-by":"x"}},
    "addressType":"IPv4",
    "endpoints":[
      {"addresses":["10.244.0.5"],"conditions":{"ready":true},"hostname":"db-0",
       "targetRef":{"kind":"Pod","name":"db-0","namespace":"default"},"nodeName":"n1"},
      {"addresses":["10.244.0.6"],"conditions":{"ready":false,"terminating":true}},
      {"addresses":["10.244.0.7"],"conditions":{}}],
    "ports":[{"name":"pg","protocol":"TCP","port":5432},{"name":"","port":null}]}})");
  REQUIRE(event.ok());
  const auto& slice = std::get<dnsd::cluster::EndpointSlice>(event->object.value);
  CHECK(slice.service_name == "db");
  REQUIRE(slice.endpoints.size() == 3);
  CHECK(slice.endpoints[0].hostname == "db-0");
  CHECK(slice.endpoints[0].pod_name == "db-0");
  CHECK(slice.endpoints[0].ready);
  CHECK(!slice.endpoints[1].ready);
  CHECK(slice.endpoints[1].terminating);
  CHECK(slice.endpoints[2].ready);  // no condition: ready
  REQUIRE(slice.ports.size() == 1);  // a port without a number names nothing
  CHECK(slice.ports[0].port == 5432);
}

TEST_CASE("objects that cannot become DNS are rejected with the reason, not fatal") {
  Decoder decoder;
  auto bad_name = decoder.event(Resource::Services, R"({"type":"ADDED","object":{
    "kind":"Service","metadata":{"name":"Bad_Name","namespace":"default"},
    "spec":{"clusterIP":"10.96.0.9"}}})");
  REQUIRE(bad_name.ok());
  CHECK(std::holds_alternative<std::monostate>(bad_name->object.value));
  CHECK(bad_name->object.rejected.find("Bad_Name") != std::string::npos);

  auto bad_address = decoder.event(Resource::EndpointSlices, R"({"type":"ADDED","object":{
    "kind":"EndpointSlice","metadata":{"name":"s","namespace":"default",
      "labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4",
    "endpoints":[{"addresses":["10.0.0.300"]},{"addresses":["10.0.0.3"]}]}})");
  REQUIRE(bad_address.ok());
  // The bad address is skipped, the rest of the slice kept.
  const auto& slice = std::get<dnsd::cluster::EndpointSlice>(bad_address->object.value);
  CHECK(slice.endpoints.size() == 1);
  CHECK(bad_address->object.rejected.find("10.0.0.300") != std::string::npos);

  auto unknown_type = decoder.event(Resource::EndpointSlices, R"({"type":"ADDED","object":{
    "kind":"EndpointSlice","metadata":{"name":"s","namespace":"default",
      "labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv7","endpoints":[]}})");
  REQUIRE(unknown_type.ok());
  CHECK(std::holds_alternative<std::monostate>(unknown_type->object.value));
  CHECK(unknown_type->object.rejected.find("IPv7") != std::string::npos);
}

TEST_CASE("Pods and EndpointSlices may have dotted names; Services and Namespaces may not") {
  // The API server checks a Pod's or EndpointSlice's name as a DNS subdomain, a Service's
  // or Namespace's as a DNS label (they become labels of the zone).
  Decoder decoder;
  auto pod = decoder.event(Resource::Pods, R"({"type":"ADDED","object":{"kind":"Pod",
    "metadata":{"name":"web.v2-0","namespace":"default"},
    "status":{"phase":"Running","podIP":"10.244.1.9"}}})");
  REQUIRE(pod.ok());
  CHECK(pod->object.rejected.empty());
  CHECK(pod->object.key == "default/web.v2-0");
  CHECK(std::get<dnsd::cluster::Pod>(pod->object.value).meta.name == "web.v2-0");

  auto slice = decoder.event(Resource::EndpointSlices, R"({"type":"ADDED","object":{
    "kind":"EndpointSlice","metadata":{"name":"web.v2-abc12","namespace":"default",
      "labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4",
    "endpoints":[{"addresses":["10.244.1.9"],
      "targetRef":{"kind":"Pod","name":"web.v2-0","namespace":"default"}}]}})");
  REQUIRE(slice.ok());
  CHECK(slice->object.rejected.empty());
  const auto& s = std::get<dnsd::cluster::EndpointSlice>(slice->object.value);
  CHECK(s.service_name == "web");
  REQUIRE(s.endpoints.size() == 1);
  CHECK(s.endpoints[0].pod_name == "web.v2-0");

  auto bad_pod = decoder.event(Resource::Pods, R"({"type":"ADDED","object":{"kind":"Pod",
    "metadata":{"name":"web..0","namespace":"default"},
    "status":{"phase":"Running","podIP":"10.244.1.10"}}})");
  REQUIRE(bad_pod.ok());
  CHECK(std::holds_alternative<std::monostate>(bad_pod->object.value));
  CHECK(bad_pod->object.rejected == "name \"web..0\" is not a DNS-1123 subdomain");

  auto service = decoder.event(Resource::Services, R"({"type":"ADDED","object":{
    "kind":"Service","metadata":{"name":"web.v2","namespace":"default"},
    "spec":{"clusterIP":"10.96.0.9"}}})");
  REQUIRE(service.ok());
  CHECK(std::holds_alternative<std::monostate>(service->object.value));
  CHECK(service->object.rejected == "name \"web.v2\" is not a DNS-1123 label");
  auto ns = decoder.event(Resource::Namespaces, R"({"type":"ADDED","object":{
    "kind":"Namespace","metadata":{"name":"team.a"}}})");
  REQUIRE(ns.ok());
  CHECK(std::holds_alternative<std::monostate>(ns->object.value));
  CHECK(ns->object.rejected == "name \"team.a\" is not a DNS-1123 label");
}

TEST_CASE("bookmarks, errors and broken events") {
  Decoder decoder;
  auto bookmark = decoder.event(Resource::Services,
      R"({"type":"BOOKMARK","object":{"kind":"Service","metadata":{"resourceVersion":"100"}}})");
  REQUIRE(bookmark.ok());
  CHECK(bookmark->type == EventType::Bookmark);
  CHECK(bookmark->resource_version == "100");

  auto expired = decoder.event(Resource::Services, R"j({"type":"ERROR","object":{"kind":"Status",
    "apiVersion":"v1","metadata":{},"status":"Failure",
    "message":"too old resource version: 5 (80)","reason":"Expired","code":410}})j");
  REQUIRE(expired.ok());
  CHECK(expired->type == EventType::Error);
  CHECK(expired->code == 410);
  CHECK(expired->message == "too old resource version: 5 (80)");

  CHECK(!decoder.event(Resource::Services, "{\"type\":\"ADDED\",\"object\":{\"kind\":").ok());
  CHECK(!decoder.event(Resource::Services, "not json").ok());
  CHECK(!decoder.event(Resource::Services, R"({"type":"SOMETHING","object":{}})").ok());
  // A Pod on a Service watch: the stream is not what was asked for.
  CHECK(!decoder.event(Resource::Services,
                       R"({"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"p"}}})")
             .ok());
}

TEST_CASE("Pods: running ones with addresses; pending, finished and terminating give nothing") {
  Decoder decoder;
  auto running = decoder.event(Resource::Pods, R"({"type":"ADDED","object":{"kind":"Pod",
    "metadata":{"name":"web-1","namespace":"default"},
    "status":{"phase":"Running","podIP":"10.244.1.2","podIPs":[{"ip":"10.244.1.2"},{"ip":"fd00::2"}]}}})");
  REQUIRE(running.ok());
  CHECK(std::get<dnsd::cluster::Pod>(running->object.value).ips.size() == 2);
  for (const char* status : {R"("status":{"phase":"Pending"})",
                             R"("status":{"phase":"Succeeded","podIP":"10.244.1.3"})"}) {
    auto event = decoder.event(Resource::Pods,
        std::string(R"({"type":"MODIFIED","object":{"kind":"Pod","metadata":{"name":"p","namespace":"default"},)") +
            status + "}}");
    REQUIRE(event.ok());
    CHECK(std::holds_alternative<std::monostate>(event->object.value));
    CHECK(event->object.rejected.empty());
  }
  auto terminating = decoder.event(Resource::Pods, R"({"type":"MODIFIED","object":{"kind":"Pod",
    "metadata":{"name":"p","namespace":"default","deletionTimestamp":"2026-01-01T00:00:00Z"},
    "status":{"phase":"Running","podIP":"10.244.1.4"}}})");
  REQUIRE(terminating.ok());
  CHECK(std::holds_alternative<std::monostate>(terminating->object.value));
}

TEST_CASE("a list page: items one by one, its resourceVersion and continue token") {
  Decoder decoder;
  std::string body = R"({"kind":"NamespaceList","apiVersion":"v1",
    "metadata":{"resourceVersion":"555","continue":"tok"},
    "items":[{"metadata":{"name":"default"}},{"metadata":{"name":"kube-system"}}]})";
  std::vector<std::string> names;
  auto page = decoder.list(Resource::Namespaces, body, [&](Object&& o) { names.push_back(o.key); });
  REQUIRE(page.ok());
  CHECK(page->resource_version == "555");
  CHECK(page->continue_token == "tok");
  CHECK(names == std::vector<std::string>{"default", "kube-system"});

  std::string wrong = R"({"kind":"PodList","metadata":{},"items":[]})";
  CHECK(!decoder.list(Resource::Namespaces, wrong, [](Object&&) {}).ok());
  std::string broken = R"({"kind":"NamespaceList","items":[{"metadata":)";
  CHECK(!decoder.list(Resource::Namespaces, broken, [](Object&&) {}).ok());
}
