#include "dnsd/server/sockets.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dnsd::server {
namespace {

socklen_t fill(const ListenAddress& a, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.ip.v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(a.port);
    std::memcpy(&s6->sin6_addr, a.ip.bytes.data(), 16);
    return sizeof *s6;
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(a.port);
  std::memcpy(&s4->sin_addr, a.ip.bytes.data(), 4);
  return sizeof *s4;
}

base::Result<int> open(const ListenAddress& a, int type) {
  const char* proto = type == SOCK_DGRAM ? "udp" : "tcp";
  // A UDP socket blocks: its worker waits in recvmmsg (udp_worker.h), and every other call on
  // it passes MSG_DONTWAIT.
  const int blocking = type == SOCK_DGRAM ? 0 : SOCK_NONBLOCK;
  int fd = socket(a.ip.v6 ? AF_INET6 : AF_INET, type | blocking | SOCK_CLOEXEC, 0);
  if (fd < 0) return base::Error{std::string("socket: ") + std::strerror(errno), a.str()};
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Each UDP worker binds its own socket; the kernel spreads datagrams over them. TCP has one
  // listener without it, bound first, so a second server on the same port fails loudly
  // instead of silently taking half the queries.
  if (type == SOCK_DGRAM) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (a.ip.v6 && a.any) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  sockaddr_storage ss;
  socklen_t len = fill(a, ss);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int err = errno;
    close(fd);
    std::string hint;
    if (err == EACCES)
      hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE; or use --listen "
             "127.0.0.1:5353)";
    if (err == EADDRINUSE) hint = " (another server is listening there; pick another --listen)";
    if (err == EADDRNOTAVAIL) hint = " (no interface has this address)";
    return base::Error{std::string("cannot bind ") + proto + ": " + std::strerror(err) + hint,
                       a.str()};
  }
  if (type == SOCK_STREAM && listen(fd, 1024) != 0) {
    close(fd);
    return base::Error{std::string("listen: ") + std::strerror(errno), a.str()};
  }
  return fd;
}

}  // namespace

base::Result<int> openUdp(const ListenAddress& a) { return open(a, SOCK_DGRAM); }
base::Result<int> openTcp(const ListenAddress& a) { return open(a, SOCK_STREAM); }

std::optional<ListenAddress> ListenAddress::parse(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = text.substr(0, colon), port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  unsigned long p = std::stoul(port);
  if (p > 65535) return std::nullopt;
  ListenAddress a;
  a.port = static_cast<uint16_t>(p);
  if (host.empty()) {
    a.any = true;
    a.ip = *base::IpAddress::parse("::");
    return a;
  }
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto ip = base::IpAddress::parse(host);
  if (!ip) return std::nullopt;
  a.ip = *ip;
  return a;
}

std::string ListenAddress::str() const {
  if (any) return ":" + std::to_string(port);
  return (ip.v6 ? "[" + ip.str() + "]" : ip.str()) + ":" + std::to_string(port);
}

}  // namespace dnsd::server
