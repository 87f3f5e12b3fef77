// Hands out addresses from a CIDR the way dnsd stands in for a control plane's IP allocator:
// the choice depends only on a key and on what is taken, so it is stable across reloads.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string_view>

#include "dnsd/base/ip.h"

namespace dnsd::cluster {

// FNV-1a, 64 bits (http://www.isthe.com/chongo/tech/comp/fnv/): tiny, fixed and
// platform-independent, unlike std::hash, so allocations survive a rebuild of dnsd.
uint64_t fnv1a64(std::string_view text);

class AddressAllocator {
 public:
  explicit AddressAllocator(const base::Cidr& cidr) : cidr_(cidr) {}

  // Marks an address given in a manifest as used; false when it already was.
  bool reserve(const base::IpAddress& ip) { return taken_.insert(ip).second; }

  // A free address for `key`: offset fnv1a64(key) modulo the CIDR size, then the next free
  // one (linear probing). Never the network address, nor the IPv4 broadcast address.
  // nullopt when the CIDR is full.
  std::optional<base::IpAddress> allocate(std::string_view key);

 private:
  bool usable(uint64_t offset, uint64_t size) const;

  base::Cidr cidr_;
  std::set<base::IpAddress> taken_;
};

}  // namespace dnsd::cluster
