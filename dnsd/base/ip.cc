#include "dnsd/base/ip.h"

#include <arpa/inet.h>

#include <cstring>

namespace dnsd::base {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, ip.bytes.data()) != 1) return std::nullopt;
    return ip;
  }
  ip.v6 = true;
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) return std::nullopt;
  return ip;
}

IpAddress IpAddress::v4(uint32_t host_order) {
  IpAddress ip;
  ip.bytes[0] = host_order >> 24;
  ip.bytes[1] = host_order >> 16;
  ip.bytes[2] = host_order >> 8;
  ip.bytes[3] = host_order;
  return ip;
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN];
  // glibc's inet_ntop follows RFC 5952 (lowercase, longest zero run compressed).
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string IpAddress::dashed() const {
  std::string s = str();
  for (char& c : s)
    if (c == '.' || c == ':') c = '-';
  if (!s.empty() && s.back() == '-') s += '0';
  if (!s.empty() && s.front() == '-') s.insert(s.begin(), '0');
  return s;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  std::string_view p = text.substr(slash + 1);
  if (p.empty() || p.size() > 3) return std::nullopt;
  int prefix = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return std::nullopt;
    prefix = prefix * 10 + (c - '0');
  }
  if (prefix > static_cast<int>(ip->size() * 8)) return std::nullopt;
  Cidr cidr{*ip, prefix};
  for (size_t bit = prefix; bit < ip->size() * 8; ++bit)
    if (ip->bytes[bit / 8] & (0x80 >> (bit % 8))) return std::nullopt;
  return cidr;
}

bool Cidr::contains(const IpAddress& ip) const {
  if (ip.v6 != base.v6) return false;
  // Whole bytes, then the bits of the last one: a bit at a time showed in the time it takes
  // to make a large cluster's reverse zones.
  const int whole = prefix / 8;
  if (std::memcmp(ip.bytes.data(), base.bytes.data(), static_cast<size_t>(whole)) != 0)
    return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFF00 >> rest);
  return (ip.bytes[whole] & mask) == (base.bytes[whole] & mask);
}

uint64_t Cidr::size() const {
  int host_bits = static_cast<int>(base.size() * 8) - prefix;
  return host_bits >= 63 ? (uint64_t{1} << 63) : (uint64_t{1} << host_bits);
}

std::optional<IpAddress> Cidr::at(uint64_t offset) const {
  if (offset >= size()) return std::nullopt;
  IpAddress ip = base;
  // Add offset to the low 64 bits, big-endian.
  int i = static_cast<int>(ip.size()) - 1;
  unsigned carry = 0;
  for (; i >= 0 && (offset || carry); --i) {
    unsigned sum = ip.bytes[i] + (offset & 0xff) + carry;
    ip.bytes[i] = sum & 0xff;
    carry = sum >> 8;
    offset >>= 8;
  }
  return ip;
}

std::string Cidr::str() const { return base.str() + "/" + std::to_string(prefix); }

}  // namespace dnsd::base
