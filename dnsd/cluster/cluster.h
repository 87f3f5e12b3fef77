// The normalized cluster: what a control plane would have made of the manifests, with
// addresses allocated and every Service's endpoints resolved. Input to zone::build.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/cluster/objects.h"

namespace dnsd::cluster {

struct Options {
  base::Cidr service_cidr = *base::Cidr::parse("10.96.0.0/12");
  base::Cidr pod_cidr = *base::Cidr::parse("10.244.0.0/16");
};

// One address of a Service endpoint, with what names it.
struct ResolvedEndpoint {
  base::IpAddress ip;
  std::string hostname;  // set when the endpoint has a hostname (subdomain matched)
  std::string pod_name;  // the Pod behind it, when known
  bool ready = true;     // ready, or published anyway (publishNotReadyAddresses)
  std::vector<EndpointPort> ports;
};

struct ResolvedService {
  Service service;                          // with cluster_ips allocated
  std::vector<ResolvedEndpoint> endpoints;  // deduplicated by (ip); only ready ones
};

struct Cluster {
  std::set<std::string> namespaces;  // Namespace objects and every namespace an object names
  std::vector<ResolvedService> services;  // sorted by namespace/name
  std::vector<Pod> pods;                  // with IPs allocated, incl. Pods made from workloads
  std::vector<std::string> warnings;      // things skipped, with file:line
};

// Fills in what a control plane would: ClusterIPs from options.service_cidr, Pods from
// workloads, Pod IPs from options.pod_cidr, endpoints from slices or from selectors.
// Deterministic: the same objects in any order give the same result.
base::Result<Cluster> normalize(Inputs inputs, const Options& options);

// Sorts the objects as normalize() first does: by kind, namespace, name, then source (a
// stable sort). Input that is sorted already costs normalize() one pass instead, so the
// manifest reader sorts each file's objects on its parsing threads: files of one namespace
// each, read in path order, then come together sorted.
void sortInputs(Inputs& inputs);

}  // namespace dnsd::cluster
