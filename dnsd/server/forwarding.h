// Turns the forwarding flags into a running forward::Forwarder and a RecursionPolicy:
// upstreams from --upstream or /etc/resolv.conf, never one of our own listen addresses.
#pragma once

#include <memory>

#include "dnsd/base/result.h"
#include "dnsd/forward/forwarder.h"
#include "dnsd/server/config.h"
#include "dnsd/server/recursion.h"

namespace dnsd::server {

base::Result<RecursionPolicy> recursionPolicy(const Config& config);

// The upstreams to use; an empty list (forwarding off) is not an error when they came from
// resolv.conf, only a warning.
base::Result<std::vector<forward::Upstream>> upstreams(const Config& config);

// --forward-zone DOMAIN=ADDR[:PORT][,ADDR...], each parsed and checked.
base::Result<std::vector<forward::ForwardZone>> forwardZones(const Config& config);

}  // namespace dnsd::server
