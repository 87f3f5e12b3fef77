// The control-plane pipeline: manifests → cluster → records → snapshot. Used at startup, by
// `dnsd check`, and for reloads; a failure anywhere returns the error and builds nothing.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "dnsd/base/result.h"
#include "dnsd/cluster/cluster.h"
#include "dnsd/hosts/hosts_table.h"
#include "dnsd/manifest/load.h"
#include "dnsd/server/config.h"
#include "dnsd/zone/records.h"
#include "dnsd/zone/snapshot.h"
#include "dnsd/zonefile/load.h"

namespace dnsd::server {

struct Loaded {
  std::shared_ptr<const zone::Snapshot> snapshot;
  cluster::Inputs inputs_summary;  // counts only (objects moved out)
  size_t services = 0;
  size_t endpoints = 0;
  size_t pods = 0;
  std::vector<std::string> warnings;
  double seconds = 0;
  bool synced = true;  // false: built before the API was listed; its cluster names SERVFAIL
  // With ApiObjects::keep_cluster (or ReadManifests'): what the zones were made of, for applying
  // the next API events one Service at a time (IncrementalZone), instead of being freed.
  std::optional<cluster::Cluster> cluster;
  zone::RecordOptions options;
  std::vector<wire::Name> own_apexes;  // the zones made from the cluster (allZones())
  zone::EditState edit;                // the snapshot was built for a zone::ZoneEditor
  std::string summary() const;  // one line for the startup log
};

// Objects from the Kubernetes API, served beside the manifests' (an object in both is
// taken from the API). Nothing is filled in for them: the cluster's controllers assigned
// their addresses and wrote their EndpointSlices.
struct ApiObjects {
  cluster::Inputs inputs;
  bool synced = true;  // false: not every resource listed yet; cluster names get SERVFAIL
  // A rebuild for an API event: the manifests and zone files are taken as the last load that
  // read them found them (the manifest cache, ZoneFiles), never from the disk.
  bool event = false;
  bool keep_cluster = false;  // see Loaded::cluster
};

// The --zone-file zones of the last load that read them and succeeded, kept by the server.
// A rebuild for an API event takes them from here, and the manifests from their cache,
// instead of the disk: an event costs no parse, and a file caught mid-edit or broken fails
// only the reload that reads it (the previous zone keeps serving), never every API event
// after it.
struct ZoneFiles {
  std::vector<zonefile::Zone> zones;
  bool kept = false;  // `zones` holds the files of a load that succeeded
};

// Manifests the caller has read already (server.cc compares them with the last reload's
// first, see ManifestChanges): built from these instead of the files.
struct ReadManifests {
  cluster::Inputs inputs;
  bool keep_cluster = false;  // see Loaded::cluster
};

// `cache` (kept by the server across reloads) spares re-parsing unchanged manifest files.
// `hosts` (may be null) is the --hosts table to serve with the zone. `zone_files` (may be
// null: read them) is filled by a load that reads the files and succeeds. `read` (may be
// null) gives the manifests instead of the files; its objects are moved out.
base::Result<Loaded> loadZone(const Config& config, uint32_t serial,
                              manifest::Cache* cache = nullptr, ApiObjects* api = nullptr,
                              std::shared_ptr<const hosts::HostsTable> hosts = nullptr,
                              ZoneFiles* zone_files = nullptr, ReadManifests* read = nullptr);

// The zones' records without building a snapshot, for `dnsd records`.
base::Result<std::vector<zone::ZoneContent>> loadRecords(const Config& config, uint32_t serial,
                                                         ApiObjects* api = nullptr);

}  // namespace dnsd::server
