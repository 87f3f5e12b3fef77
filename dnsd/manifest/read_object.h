// One Kubernetes object (a YAML map with `kind`) into cluster::Inputs: which kinds dnsd reads
// and how each is stripped to the fields cluster DNS needs. Private to manifest/.
#pragma once

#include <string>

#include "dnsd/cluster/objects.h"
#include "dnsd/manifest/field.h"

namespace dnsd::manifest {

// Reads `object`, a map; `kind: List` reads its items. Kinds dnsd does not read are counted
// in Inputs::skipped_kinds. `file` goes into Meta::source. Throws ManifestError.
void readObject(const Field& object, const std::string& file, cluster::Inputs& into);

}  // namespace dnsd::manifest
