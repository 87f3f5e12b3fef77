#include "dnsd/server/loader.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

#include "dnsd/manifest/load.h"
#include "dnsd/server/heap.h"
#include "dnsd/zone/records.h"
#include "dnsd/zone/static_zone.h"
#include "dnsd/zonefile/load.h"

namespace dnsd::server {

std::string Loaded::summary() const {
  std::string kinds;
  for (const auto& [kind, n] : inputs_summary.read_kinds)
    kinds += (kinds.empty() ? "" : ", ") + std::to_string(n) + " " + kind;
  int skipped = 0;
  for (const auto& [kind, n] : inputs_summary.skipped_kinds) skipped += n;
  const std::string files =
      inputs_summary.files ? " " + std::to_string(inputs_summary.files) + " files" : "";
  return "loaded" + files + " (" +
         (kinds.empty() ? "no objects" : kinds) + "; " + std::to_string(skipped) +
         " objects of other kinds skipped): " + std::to_string(services) + " services, " +
         std::to_string(endpoints) + " endpoints, " + std::to_string(pods) + " pods, " +
         std::to_string(snapshot->recordCount()) + " records at " +
         std::to_string(snapshot->nodeCount()) + " names, " +
         std::to_string(snapshot->bytes() / 1024) + " KiB, serial " +
         std::to_string(snapshot->serial()) + ", in " + std::to_string(seconds * 1000).substr(0, 6) +
         " ms";
}

namespace {

// Debug-level timings of the load's stages, for whoever profiles a slow start.
struct Stopwatch {
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
  void lap(const char* what) {
    auto now = std::chrono::steady_clock::now();
    spdlog::debug("load: {} in {:.1f} ms", what,
                  std::chrono::duration<double, std::milli>(now - last).count());
    last = now;
  }
};

bool overlaps(const wire::Name& a, const wire::Name& b) {
  return a.isSubdomainOf(b) || b.isSubdomainOf(a);
}

// --external-zone: forward zones of their own, beside the cluster's and each other's.
base::Status externalOptions(const Config& config, zone::RecordOptions& options) {
  const std::vector<wire::Name> reverse = {*wire::Name::parse("in-addr.arpa"),
                                           *wire::Name::parse("ip6.arpa")};
  for (const std::string& text : config.external_zones) {
    auto zone = wire::Name::parse(text);
    if (!zone || zone->isRoot())
      return base::Error{"--external-zone: \"" + text + "\" is not a domain", ""};
    if (overlaps(*zone, options.domain))
      return base::Error{"--external-zone " + zone->text() + " overlaps the cluster domain " +
                             options.domain.text() + ": give a zone of its own",
                         ""};
    for (const wire::Name& tree : reverse)
      if (overlaps(*zone, tree))
        return base::Error{"--external-zone " + zone->text() + " overlaps the reverse zones", ""};
    for (const wire::Name& other : options.external_zones)
      if (overlaps(*zone, other))
        return base::Error{
            "--external-zone " + zone->text() + " overlaps --external-zone " + other.text(), ""};
    options.external_zones.push_back(*zone);
  }
  if (!config.external_ns.empty()) {
    auto ns = wire::Name::parse(config.external_ns);
    if (!ns || ns->isRoot())
      return base::Error{"--external-ns: \"" + config.external_ns + "\" is not a domain name", ""};
    options.external_ns = *ns;
  }
  options.external_ns_ips = config.external_ns_ips;
  return base::Ok{};
}

base::Result<zone::RecordOptions> recordOptions(const Config& config, uint32_t serial) {
  auto domain = wire::Name::parse(config.cluster_domain);
  if (!domain || domain->isRoot())
    return base::Error{"--cluster-domain: \"" + config.cluster_domain + "\" is not a domain", ""};
  zone::RecordOptions options;
  options.domain = *domain;
  options.ttl = config.ttl;
  options.dns_ip = config.dns_ip;
  options.serial = serial;
  options.pods = config.pods == "disabled" ? zone::PodNames::Disabled
                 : config.pods == "verified" ? zone::PodNames::Verified
                                             : zone::PodNames::Insecure;
  options.endpoint_pod_names = config.endpoint_pod_names;
  options.ptr_single = config.ptr_single;
  options.autopath = config.autopath;
  options.reverse_cidrs = {config.cluster.service_cidr, config.cluster.pod_cidr};
  if (base::Status external = externalOptions(config, options); !external) return external.error();
  return options;
}

// The main arena's peak during a load of these files, for a large cluster: six
// times the YAML (a parse tree and its objects are larger than the text), 2.5 times the
// JSON. At most a quarter of the machine's memory.
size_t expectedHeap(const std::vector<std::string>& paths) {
  auto files = manifest::files(paths);
  if (!files) return 0;
  size_t bytes = 0;
  for (const std::string& file : *files) {
    std::error_code error;
    const size_t size = std::filesystem::file_size(file, error);
    if (!error) bytes += file.ends_with(".json") ? size * 5 / 2 : size * 6;
  }
  const auto memory = static_cast<size_t>(::sysconf(_SC_PHYS_PAGES)) *
                      static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return std::min(bytes, memory / 4);
}

// The normalized cluster is garbage once the records are made, and freeing a large one is
// not free. A thread frees it while the snapshot is
// built; wait() (and the destructor) join it, so that the server trims the heap after the
// last free (server.cc trimHeap() calls) and the resident size after a load does not change.
// A small cluster is freed at once: starting a thread costs more than its free, and the API
// source rebuilds a small cluster for every event.
class Disposal {
 public:
  Disposal() = default;
  Disposal(const Disposal&) = delete;
  Disposal& operator=(const Disposal&) = delete;
  ~Disposal() { wait(); }

  void free(cluster::Cluster garbage) {
    wait();
    if (garbage.services.size() + garbage.pods.size() < kThreadMin) return;
    thread_ = std::thread([dead = std::move(garbage)]() mutable {
      const cluster::Cluster gone = std::move(dead);
    });
  }
  void wait() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  static constexpr size_t kThreadMin = 1000;  // objects
  std::thread thread_;
};

// The API's objects join the manifests'; a manifest object the API also has is dropped.
template <typename T>
void mergeObjects(std::vector<T>& files, std::vector<T>& api, std::string_view kind,
                  std::vector<std::string>& warnings) {
  std::set<std::pair<std::string, std::string>> from_api;
  for (const T& object : api) from_api.emplace(object.meta.ns, object.meta.name);
  std::erase_if(files, [&](const T& object) {
    if (!from_api.count({object.meta.ns, object.meta.name})) return false;
    warnings.push_back(object.meta.source.str() + ": " + std::string(kind) + " " +
                       object.meta.id() + " is also in the Kubernetes API; the API's is served");
    return true;
  });
  files.insert(files.end(), std::make_move_iterator(api.begin()),
               std::make_move_iterator(api.end()));
}

void merge(cluster::Inputs& files, cluster::Inputs&& api, std::vector<std::string>& warnings) {
  files.namespaces.insert(files.namespaces.end(), api.namespaces.begin(), api.namespaces.end());
  std::sort(files.namespaces.begin(), files.namespaces.end());
  files.namespaces.erase(std::unique(files.namespaces.begin(), files.namespaces.end()),
                         files.namespaces.end());
  mergeObjects(files.services, api.services, "Service", warnings);
  mergeObjects(files.slices, api.slices, "EndpointSlice", warnings);
  mergeObjects(files.pods, api.pods, "Pod", warnings);
  for (const auto& [kind, n] : api.read_kinds) files.read_kinds[kind] += n;
}

// The --zone-file zones beside `zones`: `kept` (when not null), else read from the disk into
// `read` (for the caller to keep once the whole load succeeds).
base::Status addZoneFiles(const Config& config, std::vector<zone::ZoneContent>& zones,
                          const std::vector<zonefile::Zone>* kept,
                          std::vector<zonefile::Zone>& read) {
  if (!kept)
    for (const auto& path : config.zone_files) {
      auto file = zonefile::load(path);
      if (!file) return file.error();
      read.push_back(std::move(*file));
    }
  const std::vector<zonefile::Zone>& files = kept ? *kept : read;
  for (size_t i = 0; i < files.size(); ++i) {
    const wire::Name& apex = files[i].apex;
    for (const auto& z : zones)
      if (apex.isSubdomainOf(z.apex) || z.apex.isSubdomainOf(apex))
        return base::Error{"zone " + apex.text() + " overlaps zone " + z.apex.text(),
                           config.zone_files[i]};
    zones.push_back(zone::fromZoneFile(files[i]));
  }
  return base::Ok{};
}

// The manifests: as read already (`read`), read (through the cache, when given), or for an API
// event as the cache holds them (see ApiObjects::event).
base::Result<cluster::Inputs> manifests(const Config& config, manifest::Cache* cache,
                                        const ApiObjects* api, ReadManifests* read) {
  if (read) return std::move(read->inputs);
  if (config.manifests.empty()) return cluster::Inputs{};
  if (api && api->event && cache && cache->holdsAll()) return manifest::cached(*cache);
  return manifest::load(config.manifests, cache);
}

bool keepsCluster(const ApiObjects* api, const ReadManifests* read) {
  return (api && api->keep_cluster) || (read && read->keep_cluster);
}

// Manifests (and API objects) → normalized cluster → every zone's records, then the zone
// files' (`kept_zone_files`, or read into `read`); `loaded` gets the counts, and `disposal`
// the cluster to free.
base::Result<std::vector<zone::ZoneContent>> zones(
    const Config& config, uint32_t serial, Loaded& loaded, manifest::Cache* cache,
    Disposal& disposal, ApiObjects* api, const std::vector<zonefile::Zone>* kept_zone_files,
    std::vector<zonefile::Zone>& read, ReadManifests* read_manifests) {
  auto options = recordOptions(config, serial);
  if (!options) return options.error();
  Stopwatch watch;
  // The parsing threads' arenas are left to fault on their own: prefaulting them too made
  // no difference here, as they parse while the main thread does. A reload from a filled
  // cache parses only what changed, so it goes without. The main arena is made resident
  // while the files are read: with small pages that gained nothing (reading keeps both
  // cores busy), but in huge pages it costs little CPU, and the occasional stalls of fresh
  // memory overlap the reading instead of preceding it.
  std::optional<HeapPrefault> prefault;
  if (!cache || cache->size() == 0) prefault.emplace(expectedHeap(config.manifests));
  watch.lap("heap claimed");
  auto inputs = manifests(config, cache, api, read_manifests);
  // Without the API, what the cache replaced is of no use (a reload reads the disk again):
  // freed now rather than held through the build.
  if (cache && !api) cache->commit();
  watch.lap("manifests read");
  if (prefault) prefault->wait();  // normalizing allocates in the main arena
  watch.lap("heap prefaulted");
  if (!inputs) return inputs.error();
  std::vector<std::string> merge_warnings;
  if (api) merge(*inputs, std::move(api->inputs), merge_warnings);
  loaded.inputs_summary.files = inputs->files;
  loaded.inputs_summary.read_kinds = inputs->read_kinds;
  loaded.inputs_summary.skipped_kinds = inputs->skipped_kinds;
  auto cluster = cluster::normalize(std::move(*inputs), config.cluster);
  if (!cluster) return cluster.error();
  watch.lap("cluster normalized");
  loaded.services = cluster->services.size();
  for (const auto& s : cluster->services) loaded.endpoints += s.endpoints.size();
  loaded.pods = cluster->pods.size();
  loaded.warnings = std::move(cluster->warnings);
  loaded.warnings.insert(loaded.warnings.end(), merge_warnings.begin(), merge_warnings.end());
  auto zones = zone::allZones(*cluster, *options);
  if (!options->external_zones.empty() && zone::externalNsAddresses(*cluster, *options).empty())
    for (const wire::Name& apex : options->external_zones)
      if (const wire::Name ns = zone::externalNsName(apex, *options); ns.isSubdomainOf(apex))
        loaded.warnings.push_back("--external-zone " + apex.text() + ": its NS " + ns.text() +
                                  " has no address: give --external-ns-ip, or an external "
                                  "address to Service kube-system/kube-dns");
  loaded.synced = !api || api->synced;
  if (!loaded.synced)
    for (auto& z : zones) z.unsynced = true;
  watch.lap("records made");
  if (keepsCluster(api, read_manifests)) {
    loaded.options = *options;
    for (const auto& z : zones) loaded.own_apexes.push_back(z.apex);
    loaded.cluster = std::move(*cluster);
  } else {
    disposal.free(std::move(*cluster));
  }
  if (auto added = addZoneFiles(config, zones, kept_zone_files, read); !added) return added.error();
  watch.lap(kept_zone_files ? "zone files reused from the last read" : "zone files read");
  return zones;
}

// A failed load leaves the manifest cache as the last good load filled it: API events keep
// building from that, not from files that fail.
base::Error failed(manifest::Cache* cache, const base::Error& error) {
  if (cache) cache->restore();
  return error;
}

}  // namespace

base::Result<Loaded> loadZone(const Config& config, uint32_t serial, manifest::Cache* cache,
                              ApiObjects* api, std::shared_ptr<const hosts::HostsTable> hosts,
                              ZoneFiles* zone_files, ReadManifests* read_manifests) {
  auto start = std::chrono::steady_clock::now();
  Loaded loaded;
  Disposal disposal;
  const bool reuse = api && api->event && zone_files && zone_files->kept;
  std::vector<zonefile::Zone> read;
  auto content = zones(config, serial, loaded, cache, disposal, api,
                       reuse ? &zone_files->zones : nullptr, read, read_manifests);
  if (!content) return failed(cache, content.error());
  Stopwatch watch;
  const bool editable = keepsCluster(api, read_manifests);
  auto snapshot = zone::buildSnapshot(std::move(*content), serial, std::move(hosts),
                                      editable ? &loaded.edit : nullptr);
  if (!snapshot) return failed(cache, snapshot.error());
  if (cache) cache->commit();
  if (zone_files && !reuse) {
    zone_files->zones = std::move(read);
    zone_files->kept = true;
  }
  watch.lap("snapshot built");
  disposal.wait();
  watch.lap("cluster freed");
  loaded.snapshot = *snapshot;
  loaded.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return loaded;
}

base::Result<std::vector<zone::ZoneContent>> loadRecords(const Config& config, uint32_t serial,
                                                         ApiObjects* api) {
  Loaded unused;
  Disposal disposal;
  std::vector<zonefile::Zone> read;
  return zones(config, serial, unused, nullptr, disposal, api, nullptr, read, nullptr);
}

}  // namespace dnsd::server
