// Kubernetes API events applied to the zone one Service at a time: the records a changed
// Service made before and makes now are compared, and only their difference is patched into
// the published snapshot (zone::ZoneEditor), instead of rebuilding every Service's. The full
// build stays the path for the first zone, reloads, relists that change much, and what a
// Service's records alone cannot say (see supported() and apply()).
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/cluster/cluster.h"
#include "dnsd/kube/store.h"
#include "dnsd/server/config.h"
#include "dnsd/transfer/journal.h"
#include "dnsd/zone/records.h"
#include "dnsd/zone/snapshot.h"
#include "dnsd/zone/zone_editor.h"

namespace dnsd::server {

class IncrementalZone {
 public:
  // Whether this configuration's zone can follow the API one Service at a time (given the
  // API as its source): the API is the only source of objects (manifests beside it are
  // normalized with its objects, and re-read whole), and optionsAllow().
  static bool supported(const Config& config);
  // Whether the zone options allow it, whatever the source (see also ManifestChanges): no
  // Pods are watched (verified Pod names, autopath) and no --ptr-single (which ranks one
  // Service's names against another's for a shared address).
  static bool optionsAllow(const Config& config);
  // Whether `changed` of the `total` Services are patched in: a relist that changed much of
  // the cluster is cheaper built whole.
  static bool takes(size_t changed, size_t total) {
    return changed <= std::max<size_t>(64, total / 8);
  }

  // After a full build from the API's objects alone: the cluster it was made of, the records'
  // options, the apexes of the zones made from the cluster (allZones() order: the cluster
  // zone, the reverse zones, the external zones) and the snapshot published.
  void reset(cluster::Cluster cluster, const zone::RecordOptions& options,
             std::vector<wire::Name> own_apexes, std::shared_ptr<const zone::Snapshot> snapshot,
             zone::EditState edit = {});
  // The next change needs a full build (one failed, or was made another way).
  void invalidate() { ready_ = false; }
  bool ready() const { return ready_; }

  // The zone with the store's changes applied under `serial`, as a full build of the store
  // would make it; an error says why it cannot be done so (the caller then builds it whole,
  // which reports anything wrong with the objects), and invalidates this.
  // `warnings` gets what the changed objects' normalization warns of. The changes' objects
  // are moved into the normalization, not copied: an event's Service and slices are its
  // largest allocations.
  base::Result<std::shared_ptr<const zone::Snapshot>> apply(kube::Store::Changes&& changes,
                                                            uint32_t serial,
                                                            std::vector<std::string>& warnings);

  size_t services() const { return services_.size(); }
  // The patch the last apply() made and the snapshot it was applied to (for the IXFR journal).
  const transfer::Patched& applied() const { return applied_; }

  // Whether patches have grown the zone's memory by more than a sixteenth since its build
  // (their regions and names appended to the arena, the old ones left dead): a build of the
  // same state would give that back.
  bool grown() const;

 private:
  using Key = std::pair<std::string, std::string>;
  // What a Service made at the last build or patch: its records, which are what its next
  // change is compared with, and its ClusterIPs. Kept instead of the normalized Service,
  // whose strings and vectors (endpoints, each with its ports) are many small allocations
  // that churn scatters over the heap; the records are two, and need not be made again.
  struct Kept {
    std::vector<base::IpAddress> cluster_ips;
    zone::RecordList records;
  };
  base::Status addService(kube::Store::ServiceObjects&& objects, zone::Patch& patch,
                          std::vector<std::string>& warnings,
                          std::map<Key, std::optional<Kept>>& next);
  void namespaceNames(const std::string& ns, bool exists, zone::Patch& patch) const;
  void soaRecords(uint32_t serial, zone::RecordList& out) const;
  // PTRs in the reverse zones made for addresses outside every reverse CIDR: such a zone
  // goes with its last address, which a full build does.
  bool countPtrs(const zone::RecordList& records, int sign);

  bool ready_ = false;
  size_t built_bytes_ = 0;          // the built snapshot's bytes()
  bool changes_have_pods_ = false;  // the store holds Pods (apply()'s changes.pod_count)
  zone::RecordOptions options_;
  std::vector<wire::Name> own_apexes_;
  std::map<Key, Kept> services_;
  std::map<base::IpAddress, Key> cluster_ips_;  // the API server allows no two owners
  std::set<std::string> namespaces_;
  std::map<wire::Name, size_t> extra_reverse_;  // apex → its PTRs
  zone::ZoneEditor editor_;
  transfer::Patched applied_;
};

}  // namespace dnsd::server
