// The endpoints of one Service, as the EndpointSlice controller would publish them: read from
// the slices that name the Service, or synthesized from the Pods its selector picks.
#pragma once

#include <vector>

#include "dnsd/cluster/cluster.h"
#include "dnsd/cluster/objects.h"

namespace dnsd::cluster {

// Endpoints from the slices that name `service` (same namespace, label
// kubernetes.io/service-name). EndpointSlices win over legacy v1 Endpoints (coredns PR #6147).
// Sorted by IP, one per IP.
std::vector<ResolvedEndpoint> endpointsFromSlices(const Service& service,
                                                  const std::vector<const EndpointSlice*>& slices);

// Endpoints synthesized from the Pods of the Service's namespace that its selector picks
// (as the endpoint controllers do). Sorted by IP, one per IP.
std::vector<ResolvedEndpoint> endpointsFromPods(const Service& service,
                                                const std::vector<const Pod*>& pods);

}  // namespace dnsd::cluster
