// libFuzzer target: YAML/JSON bytes → manifest::loadText → cluster::normalize →
// zone::allZones → zone::buildSnapshot, the reload path of server/loader.cc without files.
// Nothing may crash, hang or blow memory (run with -rss_limit_mb and -timeout); errors are
// fine but must carry a message.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dnsd/cluster/cluster.h"
#include "dnsd/manifest/load.h"
#include "dnsd/zone/records.h"
#include "dnsd/zone/snapshot.h"
#include "tests/fuzz/fail.h"

using namespace dnsd;
using fuzz::fail;

namespace {

constexpr size_t kMaxInput = 64 * 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInput) return -1;  // not added to the corpus
  cluster::Inputs inputs;
  base::Status loaded =
      manifest::loadText(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml", inputs);
  if (!loaded) {
    if (loaded.error().message.empty()) fail("load error without a message");
    return 0;
  }
  cluster::Options cluster_options;
  auto cluster = cluster::normalize(std::move(inputs), cluster_options);
  if (!cluster) {
    if (cluster.error().message.empty()) fail("normalize error without a message");
    return 0;
  }
  zone::RecordOptions options;
  options.serial = 1;
  options.pods = static_cast<zone::PodNames>(size % 3);
  options.endpoint_pod_names = size & 4;
  options.ptr_single = size & 8;
  options.reverse_cidrs = {cluster_options.service_cidr, cluster_options.pod_cidr};
  auto snapshot = zone::buildSnapshot(zone::allZones(*cluster, options), 1);
  if (!snapshot && snapshot.error().message.empty()) fail("build error without a message");
  return 0;
}
