// Upstream nameservers as values: "ADDR[:PORT]" text, the nameserver lines of a resolv.conf,
// and the check that keeps dnsd from forwarding to one of its own listen addresses.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/base/ip.h"
#include "dnsd/base/result.h"

namespace dnsd::forward {

struct Upstream {
  base::IpAddress ip;
  uint16_t port = 53;

  // "8.8.8.8:53", "[2001:db8::1]:53": the form parseUpstream reads back.
  std::string str() const;
  bool operator==(const Upstream&) const = default;
};

// Accepted shapes: "8.8.8.8", "8.8.8.8:5353", "2001:db8::1", "[2001:db8::1]",
// "[2001:db8::1]:53". No zone index ("fe80::1%eth0"), no port 0, no names.
std::optional<Upstream> parseUpstream(std::string_view text);

// The `nameserver` lines of a resolv.conf file, in order. Lines that are not usable (an IPv6
// zone index, garbage) are skipped as glibc skips them; an error when the file cannot be read
// or has no usable nameserver.
base::Result<std::vector<Upstream>> upstreamsFromResolvConf(const std::string& path);

// True when sending to `upstream` would reach a socket dnsd listens on at `ip`:`port`. A
// wildcard listen address (0.0.0.0 or ::) also matches every loopback upstream on that port
// (127.0.0.0/8, ::1): inside a Pod, 127.0.0.53 from the node's resolv.conf is dnsd itself.
// Loops through other servers are found by the loop probe instead (Forwarder::loopDetected).
bool sameEndpoint(const Upstream& upstream, const base::IpAddress& ip, uint16_t port);

// The socket address of `upstream`; returns its length.
socklen_t toSockaddr(const Upstream& upstream, sockaddr_storage& out) noexcept;

}  // namespace dnsd::forward
