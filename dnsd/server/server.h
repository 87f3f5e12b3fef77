// Runs dnsd: binds every listen address, starts the UDP workers and the TCP thread, and
// waits for signals: SIGHUP reloads the manifests, SIGINT/SIGTERM stop cleanly.
#pragma once

#include "dnsd/server/config.h"

namespace dnsd::server {

// Loads the zone first, then binds (never serve before the data is there: a half-loaded zone answers NXDOMAIN for names that exist; coredns#2116). Returns the
// process exit code.
int run(const Config& config);

}  // namespace dnsd::server
