// The manifests followed as the API is (server/incremental_zone.h): the objects of each
// changed file (manifest::loadChanges) go into a kube::Store as watch events would, and the
// store tells which Services and namespaces differ, with their objects now, exactly as it
// does for API events. Only what manifests allow and the API path cannot say one Service at
// a time is refused, so that the zone patched from these changes is always the zone a full
// build of the same files makes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/cluster/objects.h"
#include "dnsd/kube/store.h"
#include "dnsd/manifest/load.h"
#include "dnsd/server/config.h"

namespace dnsd::server {

class ManifestChanges {
 public:
  // Whether a reload of this configuration can be applied as changes: manifests are the only
  // source (no API, no zone files, which a reload reads whole), --reload-cache keeps the
  // unchanged files' objects (or every reload would parse every file), and the zone options
  // allow changes one Service at a time (IncrementalZone::optionsAllow).
  static bool supported(const Config& config);

  // The files changed since the last call, applied to the store: what differs, or why only a
  // full build can make the zone of the files now. `cache` holds every file's objects now
  // (loadChanges' cache), to list them again once the store cannot follow (an object was
  // defined twice). Either way the next call is compared with these files.
  base::Result<kube::Store::Changes> apply(const std::vector<manifest::FileChange>& files,
                                           const manifest::Cache& cache);

  // The store's objects copied anew once edits replaced enough of them
  // (kube::Store::compactIfChurned), before the heap is trimmed: whether it copied.
  bool compactStore() { return store_.compactIfChurned(); }

 private:
  void add(kube::Resource resource, std::string key, const auto& object, const std::string& file);
  void remove(kube::Resource resource, const std::string& key, const std::string& file);
  void countNamespace(const std::string& ns, int by);
  base::Result<kube::Store::Changes> relist(const manifest::Cache& cache);

  kube::Store store_;
  std::map<std::string, std::string> owners_;  // resource and store key → the file it is in
  std::map<std::string, int> namespaces_;      // Namespace objects: the files naming each
  std::map<std::string, std::string> whole_;   // file → why its objects need a full build
  bool duplicate_ = false;    // an object is defined twice: the store lists every file again
  bool built_whole_ = false;  // the last files held objects only a full build can say
};

}  // namespace dnsd::server
