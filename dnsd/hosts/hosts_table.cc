#include "dnsd/hosts/hosts_table.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "dnsd/wire/dns.h"

namespace dnsd::hosts {
namespace {

namespace type = wire::type;

// What one name collects over the file, each list in file order without repeats.
struct Collected {
  std::vector<base::IpAddress> v4, v6;
  std::vector<std::string> targets;  // PTR: wire names
};

template <typename T>
void addOnce(std::vector<T>& list, const T& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

class Renderer {
 public:
  Renderer(std::vector<uint8_t>& blob, uint32_t ttl) : blob_(blob), ttl_(ttl) {}

  HostsTable::Entry::Span addresses(const std::vector<base::IpAddress>& ips, uint16_t family) {
    HostsTable::Entry::Span span{static_cast<uint32_t>(blob_.size()), 0, 0};
    for (const auto& ip : ips) put(family, ip.bytes.data(), ip.size(), span);
    return span;
  }
  HostsTable::Entry::Span names(const std::vector<std::string>& targets) {
    HostsTable::Entry::Span span{static_cast<uint32_t>(blob_.size()), 0, 0};
    for (const auto& t : targets)
      put(type::PTR, reinterpret_cast<const uint8_t*>(t.data()), t.size(), span);
    return span;
  }

 private:
  void put(uint16_t rr_type, const uint8_t* rdata, size_t size, HostsTable::Entry::Span& span) {
    uint8_t rr[12 + wire::kMaxNameLength];
    size_t n = wire::storeRR(rr, rr_type, ttl_, rdata, static_cast<uint16_t>(size));
    blob_.insert(blob_.end(), rr, rr + n);
    span.size += static_cast<uint32_t>(n);
    ++span.count;
  }

  std::vector<uint8_t>& blob_;
  uint32_t ttl_;
};

}  // namespace

std::shared_ptr<const HostsTable> HostsTable::build(const std::vector<HostsLine>& lines,
                                                    uint32_t ttl) {
  // Names with their addresses, and the reverse names of addresses with the names they
  // were given (CoreDNS hostsfile.go keeps the same two maps).
  std::map<std::string, Collected> by_name;
  for (const auto& line : lines) {
    Collected& c = by_name[line.name.wire()];
    addOnce(line.ip.v6 ? c.v6 : c.v4, line.ip);
    char reverse[wire::kMaxReverseName];
    addOnce(by_name[std::string(wire::reverseWire(line.ip, reverse))].targets, line.name.wire());
  }
  auto table = std::make_shared<HostsTable>();
  Renderer render(table->blob_, ttl);
  for (const auto& [name, c] : by_name) {
    Entry e;
    e.name = static_cast<uint32_t>(table->blob_.size());
    e.name_size = static_cast<uint32_t>(name.size());
    e.hash = wire::hashWire(reinterpret_cast<const uint8_t*>(name.data()));
    table->blob_.insert(table->blob_.end(), name.begin(), name.end());
    e.a = render.addresses(c.v4, type::A);
    e.aaaa = render.addresses(c.v6, type::AAAA);
    e.ptr = render.names(c.targets);
    table->entries_.push_back(e);
    if (e.ptr.count) ++table->reverse_names_;
    if (e.a.count || e.aaaa.count) ++table->forward_names_;
  }
  std::sort(table->entries_.begin(), table->entries_.end(),
            [](const Entry& x, const Entry& y) { return x.hash < y.hash; });
  return table;
}

const HostsTable::Entry* HostsTable::find(const uint8_t* name, size_t size,
                                          uint64_t hash) const noexcept {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), hash,
                             [](const Entry& e, uint64_t h) { return e.hash < h; });
  for (; it != entries_.end() && it->hash == hash; ++it)
    if (it->name_size == size && std::memcmp(blob_.data() + it->name, name, size) == 0) return &*it;
  return nullptr;
}

wire::RRsetView HostsTable::view(const Entry& entry, uint16_t rr_type) const noexcept {
  const Entry::Span& s = rr_type == type::A      ? entry.a
                         : rr_type == type::AAAA ? entry.aaaa
                         : rr_type == type::PTR  ? entry.ptr
                                                 : Entry::Span{};
  return {rr_type, s.count, blob_.data() + s.data, s.size,
          rr_type == type::PTR ? uint16_t{0} : uint16_t{0xFFFF}};
}

}  // namespace dnsd::hosts
