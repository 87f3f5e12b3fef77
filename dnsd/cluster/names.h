// Which strings Kubernetes accepts as names: the DNS-1123 label rule that object names,
// namespaces, hostnames and subdomains must follow before they can appear in the zone, the
// subdomain rule of a load balancer's hostname, and the looser rule of the names of Pods and
// EndpointSlices, which never appear in the zone.
#pragma once

#include <string_view>

namespace dnsd::cluster {

// 1-63 characters of [a-z0-9-], starting and ending with [a-z0-9] (RFC 1123 §2.1 as
// Kubernetes checks it: apimachinery validation.IsDNS1123Label).
bool isDnsLabel(std::string_view text);

// Labels of isDnsLabel() joined by dots, 253 characters at most (apimachinery
// validation.IsDNS1123Subdomain, which alone would allow a label over 63: no DNS name).
bool isDnsSubdomain(std::string_view text);

// The name of a Pod or an EndpointSlice (apimachinery validation.IsDNS1123Subdomain itself):
// as isDnsSubdomain, without the 63-character limit on each label, since such a name is
// never made a DNS name.
bool isSubdomainName(std::string_view text);

}  // namespace dnsd::cluster
