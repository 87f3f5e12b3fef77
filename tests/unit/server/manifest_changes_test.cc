// A reload of changed manifest files applied as changes (server::ManifestChanges, then
// server::IncrementalZone) serves the zone a full build of the same files makes: random edits
// of a few files, each reload done as server.cc does it, and the zone served compared node
// by node (tests/support/snapshot_dump.h) with a fresh build of the files, read without a
// cache. The objects are the API generator's (tests/support/churn.h) as manifests, with what
// only manifests have: v1 Endpoints, Services without a ClusterIP, selectors, workloads, an
// object in two files, a file broken mid-edit.
// DNSD_MANIFEST_SEQUENCES=N runs N sequences; DNSD_MANIFEST_SEED=S starts from another seed.
#include "dnsd/server/manifest_changes.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "dnsd/manifest/load.h"
#include "dnsd/server/incremental_zone.h"
#include "dnsd/server/loader.h"
#include "tests/support/churn.h"
#include "tests/support/sanitizer.h"
#include "tests/support/snapshot_dump.h"

namespace {

using namespace dnsd;
using namespace dnsd::testing::churn;
namespace fs = std::filesystem;

constexpr uint64_t kSequences = dnsd::testing::rounds<uint64_t>(40, 10);
constexpr int kSteps = 25;
constexpr int kFiles = 3;

uint64_t fromEnv(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  return text && *text ? std::strtoull(text, nullptr, 10) : fallback;
}

// A v1 Endpoints of a Service's name, one or two subsets.
std::string endpoints(Choices& c, const std::string& ns, const std::string& name) {
  std::vector<std::string> subsets;
  for (uint32_t s = 0, n = 1 + c.below(2); s < n; ++s) {
    std::string addresses = "{\"ip\":" + quoted(c.one(kPodIps));
    if (c.percent(40)) addresses += ",\"hostname\":" + quoted(c.percent(50) ? "h0" : "h1");
    addresses += "}";
    subsets.push_back(std::string("{\"") + (c.percent(20) ? "notReadyAddresses" : "addresses") +
                      "\":[" + addresses + "],\"ports\":[{\"name\":\"http\",\"port\":8080}]}");
  }
  return "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":" + metadata(ns, name) +
         ",\"subsets\":" + list(subsets) + "}";
}

std::string deployment(Choices& c, const std::string& ns) {
  return "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":" + metadata(ns, "d0") +
         ",\"spec\":{\"replicas\":" + std::to_string(1 + c.below(2)) +
         ",\"template\":{\"metadata\":{\"labels\":{\"app\":" + quoted(c.one(kServices)) +
         "}},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}}}";
}

// One object of the manifests: kind and key, and its text.
struct Entry {
  std::string json;
  int file = 0;
};

class Sequence {
 public:
  Sequence(Choices& c, const fs::path& dir) : c_(c), dir_(dir) {
    config_.manifests = {dir.string()};
    config_.reload_cache = true;
    const uint32_t pods = c.below(2);
    config_.pods = pods == 0 ? "disabled" : "insecure";
    config_.endpoint_pod_names = c.percent(50);
    if (c.percent(30)) config_.external_zones = {"example.org"};
    fs::create_directories(dir);
  }

  std::string go() {
    REQUIRE(server::ManifestChanges::supported(config_));
    for (int i = 0; i < 6; ++i) mutate();
    for (int step = 0; step < kSteps; ++step) {
      writeFiles();
      reload();
      if (std::string failure = check(step); !failure.empty()) return failure;
      for (uint32_t i = 0, n = 1 + c_.below(3); i < n; ++i) mutate();
    }
    return {};
  }

  int checks = 0, applied = 0, broken = 0, compacted = 0;

 private:
  // A Service's ClusterIP: its own, now and then another's.
  std::string clusterIp(const std::string& ns, const std::string& name) {
    if (c_.percent(5)) return c_.one(kClusterIps);
    return "10.96." + std::to_string(1 + (ns[0] - 'a')) + "." + std::to_string(1 + (name[1] - '0'));
  }

  // What makes every reload a full build while it lasts (a workload, a Service without a
  // ClusterIP, an object in two files) goes again soon, so that most reloads test changes.
  void mutate() {
    for (auto it = sticky_.begin(); it != sticky_.end();)
      if (c_.percent(40)) {
        if (auto entry = objects_.find(*it); entry != objects_.end()) {
          dirty_[entry->second.file] = true;
          objects_.erase(entry);
        }
        it = sticky_.erase(it);
      } else {
        ++it;
      }
    const std::string ns = c_.one(kNamespaces);
    const uint32_t what = c_.below(100);
    std::string key, json;
    if (what < 35) {
      const std::string name = c_.one(kServices);
      key = "Service/" + ns + "/" + name;
      json = service(c_, ns, name, clusterIp(ns, name)).json;
      if (c_.percent(4)) {  // no ClusterIP: dnsd allocates one
        const size_t at = json.find(",\"clusterIP\":");
        if (at != std::string::npos) json.erase(at, json.find(",\"ports\"", at) - at);
        sticky_.insert(key);
      }
      if (c_.percent(10))
        json.insert(json.find("\"spec\":{") + 8,
                    "\"selector\":{\"app\":" + quoted(c_.one(kServices)) + "},");
    } else if (what < 60) {
      const std::string name = c_.one(kSlices);
      key = "EndpointSlice/" + ns + "/" + name;
      json = slice(c_, ns, name).json;
    } else if (what < 70) {
      const std::string name = c_.one(kServices);
      key = "Endpoints/" + ns + "/" + name;
      json = endpoints(c_, ns, name);
    } else if (what < 78) {
      const std::string name = c_.one(kPods);
      key = "Pod/" + ns + "/" + name;
      json = pod(c_, ns, name).json;
    } else if (what < 83) {
      key = "Namespace/" + ns;
      json = namespaceObject(ns).json;
    } else if (what < 85) {
      key = "Deployment/" + ns + "/d0";
      json = deployment(c_, ns);
      sticky_.insert(key);
    } else if (what < 98) {  // a removal
      if (objects_.empty()) return;
      auto it = objects_.begin();
      std::advance(it, c_.below(static_cast<uint32_t>(objects_.size())));
      dirty_[it->second.file] = true;
      objects_.erase(it);
      return;
    } else {  // the same object again in another file: no build takes it
      if (objects_.empty()) return;
      auto it = objects_.begin();
      std::advance(it, c_.below(static_cast<uint32_t>(objects_.size())));
      const int file = (it->second.file + 1) % kFiles;
      objects_[it->first + "#again"] = {it->second.json, file};
      sticky_.insert(it->first + "#again");
      dirty_[file] = true;
      return;
    }
    auto it = objects_.find(key);
    // Mostly edited where it is; now and then moved to another file, or new in any.
    int file = it != objects_.end() && !c_.percent(15) ? it->second.file
                                                       : static_cast<int>(c_.below(kFiles));
    if (it != objects_.end()) dirty_[it->second.file] = true;
    objects_[key] = {json, file};
    dirty_[file] = true;
  }

  // The changed files written; one now and then caught mid-edit (a reload fails on it, and
  // the next write mends it). Each write gets a modification time of its own, so the parse
  // cache never mistakes it for the version it has.
  void writeFiles() {
    for (int f = 0; f < kFiles; ++f) {
      if (!dirty_[f]) continue;
      std::string items;
      for (const auto& [key, entry] : objects_)
        if (entry.file == f) items += (items.empty() ? "" : ",") + entry.json;
      std::string text = "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[" + items + "]}";
      dirty_[f] = false;
      if (c_.percent(3)) {
        text = "items: [\n  {kind: Service\n";
        dirty_[f] = true;
        ++broken;
      }
      const fs::path path = dir_ / ("f" + std::to_string(f) + ".json");
      std::ofstream(path, std::ios::trunc) << text;
      const timespec times[2] = {{0, UTIME_OMIT}, {1000000 + ++writes_, 0}};
      REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
    }
  }

  // As server.cc reload() does with ManifestChanges::supported().
  void reload() {
    ++serial_;
    auto files = manifest::loadChanges(config_.manifests, cache_);
    if (!files) return;  // the zone served stays, nothing was listed
    auto changes = listed_.apply(*files, cache_);
    // As the server does once edits pause: the copy must keep every object and what the
    // next edit touches.
    if (c_.percent(30) && listed_.compactStore()) ++compacted;
    if (changes && incremental_.ready()) {
      std::vector<std::string> warnings;
      auto patched = incremental_.apply(std::move(*changes), serial_, warnings);
      if (patched) {
        served_ = *patched;
        ++applied;
        return;
      }
      changes = patched.error();
    }
    // DNSD_MANIFEST_WHY=1: why each reload was built whole.
    if (!changes && std::getenv("DNSD_MANIFEST_WHY"))
      std::fprintf(stderr, "built whole: %s\n", changes.error().message.c_str());
    server::ReadManifests read{manifest::cached(cache_), true};
    auto loaded = server::loadZone(config_, serial_, &cache_, nullptr, nullptr, nullptr, &read);
    if (!loaded) return incremental_.invalidate();
    served_ = loaded->snapshot;
    incremental_.reset(std::move(*loaded->cluster), loaded->options, std::move(loaded->own_apexes),
                       loaded->snapshot, std::move(loaded->edit));
  }

  // The zone served is a fresh build of the files; when they do not build, the zone the last
  // good files made still serves.
  std::string check(int step) {
    server::Config fresh_config = config_;
    fresh_config.reload_cache = false;
    auto fresh = server::loadZone(fresh_config, serial_);
    if (!fresh) {
      if (served_ && served_->serial() == serial_)
        return "step " + std::to_string(step) +
               ": published files that do not build: " + fresh.error().str();
      return {};
    }
    ++checks;
    if (!served_ || served_->serial() != serial_)
      return "step " + std::to_string(step) + ": files that build were not published";
    const std::string a = testing::snapshotDump(*served_),
                      b = testing::snapshotDump(*fresh->snapshot);
    if (a == b) return {};
    return "step " + std::to_string(step) +
           ": served != built from the files: " + firstDifference(a, b) + "\nserved:\n" + a +
           "built:\n" + b + "files:\n" + files();
  }

  std::string files() const {
    std::string out;
    for (const auto& [key, entry] : objects_)
      out += "f" + std::to_string(entry.file) + " " + entry.json + "\n";
    return out;
  }

  Choices& c_;
  fs::path dir_;
  server::Config config_;
  std::map<std::string, Entry> objects_;
  std::set<std::string> sticky_;
  bool dirty_[kFiles] = {true, true, true};
  int writes_ = 0;
  uint32_t serial_ = 1;
  manifest::Cache cache_;
  server::ManifestChanges listed_;
  server::IncrementalZone incremental_;
  std::shared_ptr<const zone::Snapshot> served_;
};

}  // namespace

TEST_CASE("edited manifest files applied as changes serve the zone a full build of them gives") {
  const uint64_t sequences = fromEnv("DNSD_MANIFEST_SEQUENCES", kSequences);
  const uint64_t first_seed = fromEnv("DNSD_MANIFEST_SEED", 1);
  const fs::path dir =
      fs::temp_directory_path() / ("dnsd-manifest-changes-" + std::to_string(::getpid()));
  int checks = 0, applied = 0, broken = 0, compacted = 0;
  for (uint64_t seed = first_seed; seed < first_seed + sequences; ++seed) {
    fs::remove_all(dir);
    SeededChoices choices(seed);
    Sequence sequence(choices, dir);
    const std::string failure = sequence.go();
    checks += sequence.checks;
    applied += sequence.applied;
    broken += sequence.broken;
    compacted += sequence.compacted;
    INFO("seed ", seed, " (DNSD_MANIFEST_SEED=", seed, " DNSD_MANIFEST_SEQUENCES=1 reproduces it)");
    REQUIRE_MESSAGE(failure.empty(), failure);
  }
  fs::remove_all(dir);
  MESSAGE(sequences, " sequences, ", checks, " zones compared, ", applied,
          " reloads applied as changes, ", broken, " files written broken, ", compacted,
          " stores compacted");
  // Most reloads must have been applied as changes, or this tested the full build only; and
  // some files must have been broken, or the failed reload went untested.
  CHECK(applied * 3 > checks);
  CHECK(broken > 0);
  CHECK(compacted > 0);
}
