// Kubernetes manifests (YAML or JSON, files or directories) into cluster::Inputs.
// yaml-cpp stays behind this boundary: its exceptions become base::Error with file and line.
#pragma once

#include <string>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/cluster/objects.h"

namespace dnsd::manifest {

// Reads every path: a file, or a directory walked recursively for *.yaml, *.yml, *.json
// (sorted, so the order is stable). Multi-document YAML, `kind: List`. Unknown kinds are
// counted in Inputs::skipped_kinds. The first error stops the load and names file, line,
// object and field: "apps.yaml:12: Service default/web: spec.ports[0].port: not a number".
base::Result<cluster::Inputs> load(const std::vector<std::string>& paths);

// One YAML/JSON text; `file` is only used in messages. Appends to `into`.
base::Status loadText(const std::string& text, const std::string& file, cluster::Inputs& into);

}  // namespace dnsd::manifest
