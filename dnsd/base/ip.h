// IP addresses and CIDR ranges as plain values: parsing, canonical text, arithmetic for
// allocation. Knows nothing of DNS or Kubernetes.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dnsd::base {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4 bytes

  // Accepts dotted-quad IPv4 and any RFC 4291 IPv6 text; no zone index, no prefix.
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress v4(uint32_t host_order);

  size_t size() const { return v6 ? 16 : 4; }
  // Canonical text: dotted quad, or RFC 5952 compressed lowercase IPv6.
  std::string str() const;
  // "10-0-0-1", IPv6 with '-' for ':' and a '0' after a trailing '-' (CoreDNS endpointHostname).
  std::string dashed() const;

  auto operator<=>(const IpAddress&) const = default;
};

struct Cidr {
  IpAddress base;
  int prefix = 0;

  // "10.96.0.0/12"; host bits must be zero.
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpAddress& ip) const;
  // The address at `offset` from the base (offset 0 is the network address).
  std::optional<IpAddress> at(uint64_t offset) const;
  // Number of addresses, saturated at 2^63.
  uint64_t size() const;
  std::string str() const;
};

}  // namespace dnsd::base
