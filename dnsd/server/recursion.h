// Who may have names that are not ours forwarded upstream: clients in --allow-recursion
// ranges. Others get REFUSED, so a dnsd exposed by mistake is not an open resolver.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

#include "dnsd/base/ip.h"

namespace dnsd::server {

class RecursionPolicy {
 public:
  explicit RecursionPolicy(std::vector<base::Cidr> allowed) : allowed_(std::move(allowed)) {}

  // Loopback, RFC 1918 and IPv6 unique-local ranges, plus the cluster's own CIDRs.
  static std::vector<base::Cidr> defaults(const base::Cidr& service_cidr,
                                          const base::Cidr& pod_cidr) {
    std::vector<base::Cidr> out{service_cidr, pod_cidr};
    for (const char* c : {"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12",
                          "192.168.0.0/16", "fc00::/7"})
      out.push_back(*base::Cidr::parse(c));
    return out;
  }

  bool allows(const sockaddr_storage& peer) const noexcept {
    base::IpAddress ip = peerAddress(peer);
    for (const auto& cidr : allowed_)
      if (cidr.contains(ip)) return true;
    return false;
  }

  static base::IpAddress peerAddress(const sockaddr_storage& peer) noexcept {
    base::IpAddress ip;
    if (peer.ss_family == AF_INET) {
      std::memcpy(ip.bytes.data(), &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, 4);
    } else {
      const auto& a = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
      // A v4 client of a dual-stack socket arrives as ::ffff:a.b.c.d.
      if (IN6_IS_ADDR_V4MAPPED(&a)) {
        std::memcpy(ip.bytes.data(), a.s6_addr + 12, 4);
      } else {
        ip.v6 = true;
        std::memcpy(ip.bytes.data(), a.s6_addr, 16);
      }
    }
    return ip;
  }

 private:
  std::vector<base::Cidr> allowed_;
};

}  // namespace dnsd::server
