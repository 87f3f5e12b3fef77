#include "dnsd/forward/upstream.h"

#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dnsd::forward {
namespace {

std::optional<uint16_t> parsePort(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

// "[v6]" or "[v6]:port".
std::optional<Upstream> parseBracketed(std::string_view text) {
  size_t close = text.find(']');
  if (close == std::string_view::npos) return std::nullopt;
  auto ip = base::IpAddress::parse(text.substr(1, close - 1));
  if (!ip || !ip->v6) return std::nullopt;
  Upstream u{*ip, 53};
  std::string_view rest = text.substr(close + 1);
  if (rest.empty()) return u;
  if (rest.front() != ':') return std::nullopt;
  auto port = parsePort(rest.substr(1));
  if (!port) return std::nullopt;
  u.port = *port;
  return u;
}

bool isLoopback(const base::IpAddress& ip) {
  if (!ip.v6) return ip.bytes[0] == 127;
  static const base::IpAddress kV6Loopback = *base::IpAddress::parse("::1");
  return ip == kV6Loopback;
}

bool isUnspecified(const base::IpAddress& ip) {
  for (size_t i = 0; i < ip.size(); ++i)
    if (ip.bytes[i] != 0) return false;
  return true;
}

}  // namespace

std::string Upstream::str() const {
  return (ip.v6 ? "[" + ip.str() + "]" : ip.str()) + ":" + std::to_string(port);
}

std::optional<Upstream> parseUpstream(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') return parseBracketed(text);
  if (auto ip = base::IpAddress::parse(text)) return Upstream{*ip, 53};  // v4 or bare v6
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto ip = base::IpAddress::parse(text.substr(0, colon));
  auto port = parsePort(text.substr(colon + 1));
  if (!ip || ip->v6 || !port) return std::nullopt;  // v6 with a port needs brackets
  return Upstream{*ip, *port};
}

base::Result<std::vector<Upstream>> upstreamsFromResolvConf(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return base::Error{"cannot read resolv.conf (" + std::string(std::strerror(errno)) + ")", path};
  std::vector<Upstream> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string keyword, address;
    if (!(words >> keyword >> address) || keyword != "nameserver") continue;
    if (auto u = parseUpstream(address)) out.push_back(*u);
  }
  if (out.empty()) return base::Error{"no usable nameserver line", path};
  return out;
}

bool sameEndpoint(const Upstream& upstream, const base::IpAddress& ip, uint16_t port) {
  if (upstream.port != port) return false;
  if (upstream.ip == ip) return true;
  // A wildcard socket receives what is sent to any local address; loopback is surely local.
  // An IPv6 wildcard is dual-stack (the server's ":PORT"), so it also takes 127.0.0.0/8.
  if (!isUnspecified(ip) || !isLoopback(upstream.ip)) return false;
  return ip.v6 || !upstream.ip.v6;
}

socklen_t toSockaddr(const Upstream& upstream, sockaddr_storage& out) noexcept {
  std::memset(&out, 0, sizeof out);
  if (upstream.ip.v6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&out);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(upstream.port);
    std::memcpy(&sa->sin6_addr, upstream.ip.bytes.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* sa = reinterpret_cast<sockaddr_in*>(&out);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(upstream.port);
  std::memcpy(&sa->sin_addr, upstream.ip.bytes.data(), 4);
  return sizeof(sockaddr_in);
}

}  // namespace dnsd::forward
