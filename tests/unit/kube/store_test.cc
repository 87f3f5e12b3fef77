// The store: events change it only when what DNS reads changes, and a relist applies the
// difference without removing anything before the list is whole.
#include "dnsd/kube/store.h"

#include <doctest/doctest.h>

#include <thread>

namespace {

using dnsd::kube::EventType;
using dnsd::kube::Object;
using dnsd::kube::Resource;
using dnsd::kube::Store;

Object service(const std::string& ns, const std::string& name, const std::string& ip) {
  dnsd::cluster::Service s;
  s.meta.ns = ns;
  s.meta.name = name;
  s.cluster_ips.push_back(*dnsd::base::IpAddress::parse(ip));
  return Object{ns + "/" + name, std::move(s), {}};
}

}  // namespace

TEST_CASE("events add, change and delete; an unchanged update is no change") {
  Store store;
  CHECK(store.apply(Resource::Services, EventType::Added, service("a", "web", "10.96.0.1")));
  CHECK(!store.apply(Resource::Services, EventType::Modified, service("a", "web", "10.96.0.1")));
  CHECK(store.apply(Resource::Services, EventType::Modified, service("a", "web", "10.96.0.2")));
  CHECK(store.count(Resource::Services) == 1);
  CHECK(store.inputs().services.at(0).cluster_ips.at(0).str() == "10.96.0.2");
  CHECK(store.apply(Resource::Services, EventType::Deleted, service("a", "web", "10.96.0.2")));
  CHECK(store.count(Resource::Services) == 0);
  CHECK(!store.apply(Resource::Services, EventType::Deleted, service("a", "web", "10.96.0.2")));
}

TEST_CASE("a load balancer's new address or hostname is a change; the same status is not") {
  Store store;
  auto lb = [](const char* ip, const char* hostname) {
    Object object = service("a", "lb", "10.96.0.1");
    auto& s = std::get<dnsd::cluster::Service>(object.value);
    if (*ip) s.external_ips.push_back(*dnsd::base::IpAddress::parse(ip));
    if (*hostname) s.external_hostnames.push_back(hostname);
    return object;
  };
  CHECK(store.apply(Resource::Services, EventType::Added, lb("", "")));
  CHECK(store.apply(Resource::Services, EventType::Modified, lb("34.120.83.23", "")));
  CHECK(!store.apply(Resource::Services, EventType::Modified, lb("34.120.83.23", "")));
  CHECK(store.apply(Resource::Services, EventType::Modified, lb("34.120.83.24", "")));
  CHECK(store.apply(Resource::Services, EventType::Modified, lb("34.120.83.24", "a.example.com")));
  CHECK(store.inputs().services.at(0).external_hostnames.at(0) == "a.example.com");
}

TEST_CASE("an object that no longer gives DNS anything is forgotten") {
  Store store;
  store.apply(Resource::Services, EventType::Added, service("a", "web", "10.96.0.1"));
  CHECK(store.apply(Resource::Services, EventType::Modified, Object{"a/web", {}, "rejected"}));
  CHECK(store.count(Resource::Services) == 0);
}

TEST_CASE("a relist keeps what it names and forgets the rest at the end") {
  Store store;
  store.apply(Resource::Services, EventType::Added, service("a", "old", "10.96.0.1"));
  store.apply(Resource::Services, EventType::Added, service("a", "kept", "10.96.0.2"));
  store.begin(Resource::Services, "");
  CHECK(!store.listed(Resource::Services, "", service("a", "kept", "10.96.0.2")));
  CHECK(store.listed(Resource::Services, "", service("b", "new", "10.96.0.3")));
  CHECK(store.count(Resource::Services) == 3);  // nothing vanished mid-list
  CHECK(store.end(Resource::Services, ""));
  auto inputs = store.inputs();
  REQUIRE(inputs.services.size() == 2);
  CHECK(inputs.services[0].meta.id() == "a/kept");
  CHECK(inputs.services[1].meta.id() == "b/new");
}

TEST_CASE("a relist of one namespace leaves the others alone") {
  Store store;
  store.apply(Resource::Services, EventType::Added, service("a", "x", "10.96.0.1"));
  store.apply(Resource::Services, EventType::Added, service("b", "y", "10.96.0.2"));
  store.begin(Resource::Services, "a");
  CHECK(store.end(Resource::Services, "a"));
  auto inputs = store.inputs();
  REQUIRE(inputs.services.size() == 1);
  CHECK(inputs.services[0].meta.id() == "b/y");

  store.apply(Resource::Namespaces, EventType::Added,
              Object{"a", dnsd::kube::NamespaceObject{"a"}, {}});
  store.apply(Resource::Namespaces, EventType::Added,
              Object{"b", dnsd::kube::NamespaceObject{"b"}, {}});
  store.begin(Resource::Namespaces, "b");
  store.listed(Resource::Namespaces, "b", Object{"b", dnsd::kube::NamespaceObject{"b"}, {}});
  CHECK(!store.end(Resource::Namespaces, "b"));
  CHECK(store.count(Resource::Namespaces) == 2);
}

namespace {

Object slice(const std::string& ns, const std::string& name, const std::string& service_name) {
  dnsd::cluster::EndpointSlice s;
  s.meta.ns = ns;
  s.meta.name = name;
  s.service_name = service_name;
  return Object{ns + "/" + name, std::move(s), {}};
}

std::vector<std::string> touched(const Store::Changes& changes) {
  std::vector<std::string> names;
  for (const auto& s : changes.services)
    names.push_back(s.ns + "/" + s.name + (s.service ? "" : " (gone)") + " " +
                    std::to_string(s.slices.size()) + " slices");
  return names;
}

}  // namespace

TEST_CASE("changes name every Service whose records may differ, with its objects now") {
  Store store;
  store.apply(Resource::Services, EventType::Added, service("a", "web", "10.96.0.1"));
  store.apply(Resource::Services, EventType::Added, service("a", "api", "10.96.0.2"));
  store.apply(Resource::EndpointSlices, EventType::Added, slice("a", "web-1", "web"));
  store.takeInputs();  // a full build holds everything so far
  CHECK(store.takeChanges().services.empty());

  // A slice relabelled from web to api changes both.
  store.apply(Resource::EndpointSlices, EventType::Modified, slice("a", "web-1", "api"));
  using Counts = std::pair<size_t, size_t>;
  CHECK(store.changedServices() == Counts{2, 2});
  Store::Changes changes = store.takeChanges();
  CHECK(store.changedServices() == Counts{0, 2});
  CHECK(touched(changes) == std::vector<std::string>{"a/api 1 slices", "a/web 0 slices"});
  CHECK(store.takeChanges().services.empty());

  // A deleted Service comes without its object; a relist's forgetting counts as deleting.
  store.apply(Resource::Services, EventType::Deleted, service("a", "api", "10.96.0.2"));
  CHECK(touched(store.takeChanges()) == std::vector<std::string>{"a/api (gone) 1 slices"});
  store.begin(Resource::EndpointSlices, "");
  store.end(Resource::EndpointSlices, "");
  CHECK(touched(store.takeChanges()) == std::vector<std::string>{"a/api (gone) 0 slices"});
}

TEST_CASE("changes say whether each namespace an object was in still exists") {
  Store store;
  store.apply(Resource::Services, EventType::Added, service("a", "web", "10.96.0.1"));
  store.apply(Resource::Namespaces, EventType::Added,
              Object{"b", dnsd::kube::NamespaceObject{}, {}});
  Store::Changes changes = store.takeChanges();
  using Exists = std::vector<std::pair<std::string, bool>>;
  CHECK(changes.namespaces == Exists{{"a", true}, {"b", true}});
  // The last object in `a` goes: so does the namespace; `b` stays while its object does.
  store.apply(Resource::Services, EventType::Deleted, service("a", "web", "10.96.0.1"));
  CHECK(store.takeChanges().namespaces == Exists{{"a", false}});
  store.apply(Resource::Namespaces, EventType::Deleted, Object{"b", {}, {}});
  CHECK(store.takeChanges().namespaces == Exists{{"b", false}});
}

TEST_CASE("a relist touches only what it changed") {
  Store store;
  store.apply(Resource::Services, EventType::Added, service("a", "web", "10.96.0.1"));
  store.apply(Resource::Services, EventType::Added, service("a", "api", "10.96.0.2"));
  store.takeInputs();
  store.begin(Resource::Services, "");
  store.listed(Resource::Services, "", service("a", "web", "10.96.0.1"));  // as it was
  store.listed(Resource::Services, "", service("a", "api", "10.96.0.3"));  // changed
  store.end(Resource::Services, "");
  CHECK(store.changedServices() == std::pair<size_t, size_t>{1, 2});
  CHECK(touched(store.takeChanges()) == std::vector<std::string>{"a/api 0 slices"});
}

TEST_CASE("compacting keeps every object and the changes not yet taken") {
  Store store;
  store.apply(Resource::Services, EventType::Added, service("a", "web", "10.96.0.1"));
  store.apply(Resource::Services, EventType::Added, service("a", "api", "10.96.0.2"));
  store.apply(Resource::EndpointSlices, EventType::Added, slice("a", "web-1", "web"));
  store.apply(Resource::Namespaces, EventType::Added,
              Object{"a", dnsd::kube::NamespaceObject{"a"}, {}});
  store.takeInputs();
  CHECK_FALSE(store.compactIfChurned());  // the first objects leave no holes
  store.apply(Resource::Services, EventType::Modified, service("a", "api", "10.96.0.3"));
  CHECK(store.compactIfChurned());
  CHECK_FALSE(store.compactIfChurned());  // nothing replaced since
  const auto inputs = store.inputs();
  REQUIRE(inputs.services.size() == 2);
  CHECK(inputs.services.at(0).meta.name == "api");
  CHECK(inputs.services.at(0).cluster_ips.at(0).str() == "10.96.0.3");
  CHECK(inputs.slices.size() == 1);
  CHECK(inputs.namespaces == std::vector<std::string>{"a"});
  CHECK(touched(store.takeChanges()) == std::vector<std::string>{"a/api 0 slices"});
  // The slices are still found by their Service.
  store.apply(Resource::Services, EventType::Modified, service("a", "web", "10.96.0.4"));
  CHECK(touched(store.takeChanges()) == std::vector<std::string>{"a/web 1 slices"});
}

TEST_CASE("the store is compacted once a sixteenth of its objects were replaced or deleted") {
  Store store;
  // More than one run of the copy (it takes a few hundred keys under the lock at a time).
  for (int i = 0; i < 600; ++i) {
    const std::string name = "s" + std::to_string(i);
    store.apply(
        Resource::Services, EventType::Added,
        service("a", name, "10.96." + std::to_string(i / 250) + "." + std::to_string(i % 250)));
    store.apply(Resource::EndpointSlices, EventType::Added, slice("a", name + "-1", name));
  }
  store.takeInputs();
  CHECK_FALSE(store.compactIfChurned());
  for (int i = 0; i < 37; ++i)
    store.apply(Resource::Services, EventType::Modified,
                service("a", "s" + std::to_string(i), "10.97.0." + std::to_string(i)));
  // Unchanged for DNS: nothing replaced.
  store.apply(Resource::Services, EventType::Modified, service("a", "s40", "10.96.0.40"));
  CHECK_FALSE(store.compactIfChurned());  // 37 of 1,200
  for (int i = 0; i < 38; ++i)
    store.apply(Resource::EndpointSlices, EventType::Deleted,
                Object{"a/s" + std::to_string(100 + i) + "-1", {}, {}});
  CHECK(store.compactIfChurned());  // 75 of 1,162
  const auto inputs = store.inputs();
  CHECK(inputs.services.size() == 600);
  CHECK(inputs.slices.size() == 562);
  CHECK(store.takeChanges().services.size() == 75);
  // Every Service still finds its slices.
  for (int i : {0, 137, 138, 255, 256, 257, 599}) {
    const std::string name = "s" + std::to_string(i);
    store.apply(Resource::Services, EventType::Modified, service("a", name, "10.98.0.1"));
    CHECK(
        touched(store.takeChanges()) ==
        std::vector<std::string>{"a/" + name + (i >= 100 && i < 138 ? " 0 slices" : " 1 slices")});
  }
}

TEST_CASE("events applied while the store is compacted are all kept") {
  Store store;
  for (int i = 0; i < 2000; ++i)
    store.apply(Resource::Services, EventType::Added,
                service("a", "s" + std::to_string(i), "10.96.0.1"));
  for (int i = 0; i < 200; ++i)
    store.apply(Resource::Services, EventType::Modified,
                service("a", "s" + std::to_string(i), "10.96.0.2"));
  // The client's thread goes on while the copy runs between its runs of keys.
  std::thread client([&] {
    for (int i = 0; i < 2000; ++i) {
      store.apply(Resource::Services, EventType::Added,
                  service("b", "t" + std::to_string(i), "10.96.0.3"));
      store.apply(Resource::Services, EventType::Deleted,
                  Object{"a/s" + std::to_string(i), {}, {}});
    }
  });
  CHECK(store.compactIfChurned());
  while (store.compactIfChurned()) {
  }
  client.join();
  const auto inputs = store.inputs();
  REQUIRE(inputs.services.size() == 2000);
  for (const auto& s : inputs.services) CHECK(s.meta.ns == "b");
}
