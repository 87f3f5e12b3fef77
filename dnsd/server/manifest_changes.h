// The manifests followed as the API is (server/incremental_zone.h): each reload's objects are
// listed into a kube::Store as a relist, and the store tells which Services and namespaces
// differ from the last reload's, with their objects now, exactly as it does for API events.
// Only what manifests allow and the API path cannot say one Service at a time is refused, so
// that the zone patched from these changes is always the zone a full build of the same files
// makes.
#pragma once

#include "dnsd/base/result.h"
#include "dnsd/cluster/objects.h"
#include "dnsd/kube/store.h"
#include "dnsd/server/config.h"

namespace dnsd::server {

class ManifestChanges {
 public:
  // Whether a reload of this configuration can be applied as changes: manifests are the only
  // source (no API, no zone files, which a reload reads whole), --reload-cache keeps the
  // unchanged files' objects (or every reload would parse every file), and the zone options
  // allow changes one Service at a time (IncrementalZone::optionsAllow).
  static bool supported(const Config& config);

  // Lists the objects of a reload's files into the store: what differs from the last list,
  // or why only a full build of these objects can make their zone. Either way the store
  // holds `inputs` afterwards, so the next list is compared with these.
  base::Result<kube::Store::Changes> list(const cluster::Inputs& inputs);

 private:
  kube::Store store_;
  bool built_whole_ = false;  // the last list held objects only a full build can say
};

}  // namespace dnsd::server
