// libFuzzer target: what a Kubernetes API server sends → kube::Decoder → kube::Store →
// cluster::normalize → zone::allZones → zone::buildSnapshot, the API path of
// server/loader.cc. The input's lines are watch events (the first byte picks the
// resource); a line starting with "L" is a list page instead. Nothing may crash, and what
// the decoder keeps must be what DNS can use: named objects with DNS-label names.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dnsd/cluster/cluster.h"
#include "dnsd/cluster/names.h"
#include "dnsd/kube/decode.h"
#include "dnsd/kube/store.h"
#include "dnsd/zone/records.h"
#include "dnsd/zone/snapshot.h"
#include "tests/fuzz/fail.h"

using namespace dnsd;
using fuzz::fail;

namespace {

constexpr size_t kMaxInput = 64 * 1024;

// The API server's own rules: a Pod's or EndpointSlice's name may be a DNS subdomain (it
// never becomes a label of the zone); a Service's or Namespace's name must be a label.
void checkObject(kube::Resource resource, const kube::Object& object) {
  if (std::holds_alternative<std::monostate>(object.value)) return;
  if (object.key.empty()) fail("an object kept without a key");
  auto slash = object.key.find('/');
  std::string_view name = object.key;
  if (slash != std::string::npos) {
    if (!cluster::isDnsLabel(object.key.substr(0, slash))) fail("a bad namespace kept");
    name = name.substr(slash + 1);
  }
  const bool subdomain =
      resource == kube::Resource::Pods || resource == kube::Resource::EndpointSlices;
  if (subdomain ? !cluster::isSubdomainName(name) : !cluster::isDnsLabel(name))
    fail("a bad name kept: %s", object.key.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > kMaxInput) return -1;
  const auto resource = static_cast<kube::Resource>(data[0] % kube::kResourceCount);
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  kube::Decoder decoder;
  kube::Store store;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.starts_with("L")) {
      std::string body(line.substr(1));
      store.begin(resource, "");
      auto page = decoder.list(resource, body, [&](kube::Object&& object) {
        checkObject(resource, object);
        store.listed(resource, "", std::move(object));
      });
      if (!page && page.error().message.empty()) fail("list error without a message");
      store.end(resource, "");
      continue;
    }
    auto event = decoder.event(resource, line);
    if (!event) {
      if (event.error().message.empty()) fail("event error without a message");
      continue;
    }
    checkObject(resource, event->object);
    if (event->type != kube::EventType::Bookmark && event->type != kube::EventType::Error)
      store.apply(resource, event->type, std::move(event->object));
  }
  cluster::Options cluster_options;
  auto cluster = cluster::normalize(store.inputs(), cluster_options);
  if (!cluster) {
    if (cluster.error().message.empty()) fail("normalize error without a message");
    return 0;
  }
  zone::RecordOptions options;
  options.serial = 1;
  options.reverse_cidrs = {cluster_options.service_cidr, cluster_options.pod_cidr};
  auto snapshot = zone::buildSnapshot(zone::allZones(*cluster, options), 1);
  if (!snapshot && snapshot.error().message.empty()) fail("build error without a message");
  return 0;
}
