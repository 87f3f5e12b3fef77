// Hand-built cluster objects for tests that skip the manifests: the answer unit tests and
// the responder fuzz target's fixed zone.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "dnsd/cluster/cluster.h"

namespace dnsd::testing {

inline base::IpAddress ip(const std::string& text) { return *base::IpAddress::parse(text); }

inline cluster::ResolvedService service(const char* ns, const char* name) {
  cluster::ResolvedService s;
  s.service.meta.ns = ns;
  s.service.meta.name = name;
  return s;
}

inline cluster::ResolvedEndpoint endpoint(const std::string& addr, std::string hostname,
                                          std::vector<cluster::EndpointPort> ports = {}) {
  cluster::ResolvedEndpoint e;
  e.ip = ip(addr);
  e.hostname = std::move(hostname);
  e.ports = std::move(ports);
  return e;
}

}  // namespace dnsd::testing
