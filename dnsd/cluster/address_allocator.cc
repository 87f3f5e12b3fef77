#include "dnsd/cluster/address_allocator.h"

namespace dnsd::cluster {

uint64_t fnv1a64(std::string_view text) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a 64-bit offset basis
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;  // FNV 64-bit prime
  }
  return hash;
}

bool AddressAllocator::usable(uint64_t offset, uint64_t size) const {
  // Kubernetes' service IP allocator skips the network address and, for IPv4, the
  // broadcast address (pkg/registry/core/service/ipallocator); dnsd does the same for Pods.
  if (offset == 0) return false;
  return cidr_.base.v6 || offset != size - 1;
}

std::optional<base::IpAddress> AddressAllocator::allocate(std::string_view key) {
  const uint64_t size = cidr_.size();
  const uint64_t start = fnv1a64(key) % size;
  // Ends early unless the CIDR is nearly full: at most taken_.size() + 2 probes are refused.
  for (uint64_t probe = 0; probe < size; ++probe) {
    uint64_t offset = start + probe;  // both < 2^63, so the sum cannot wrap
    if (offset >= size) offset -= size;
    if (!usable(offset, size)) continue;
    std::optional<base::IpAddress> ip = cidr_.at(offset);
    if (ip && taken_.insert(*ip).second) return ip;
  }
  return std::nullopt;
}

}  // namespace dnsd::cluster
