// The names and addresses of a hosts file (--hosts) as the query path reads them: an
// immutable table of lowercase wire names, each with its A, AAAA and PTR RRsets prerendered
// in the zone's wire form. Built once per read of the file, published inside the snapshot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/base/ip.h"
#include "dnsd/base/result.h"
#include "dnsd/wire/name.h"
#include "dnsd/wire/writer.h"

namespace dnsd::hosts {

// One line's pairing of an address with a name, as the file gives it.
struct HostsLine {
  base::IpAddress ip;
  wire::Name name;
};

class HostsTable {
 public:
  // A listed name: one with an address (A, AAAA), or the reverse name of a listed address
  // (PTR). Unlisted RRsets have count 0.
  struct Entry {
    uint64_t hash = 0;
    uint32_t name = 0;  // blob offset of the lowercase wire name
    uint32_t name_size = 0;
    struct Span {
      uint32_t data = 0;
      uint32_t size = 0;
      uint16_t count = 0;
    } a, aaaa, ptr;
  };

  // Names and reverse names accumulate over lines, in file order; an address repeated for
  // a name is kept once. `ttl` goes on every record.
  static std::shared_ptr<const HostsTable> build(const std::vector<HostsLine>& lines, uint32_t ttl);

  // The entry of a lowercase wire name whose hashWire() is `hash`, or nullptr.
  const Entry* find(const uint8_t* name, size_t size, uint64_t hash) const noexcept;
  // The RRset of `type` (A, AAAA or PTR) at the entry; count 0 when it has none.
  wire::RRsetView view(const Entry& entry, uint16_t type) const noexcept;

  size_t names() const noexcept { return forward_names_; }
  size_t addresses() const noexcept { return reverse_names_; }

 private:
  std::vector<Entry> entries_;  // sorted by hash
  std::vector<uint8_t> blob_;   // names, then the RRs of each RRset one after another
  size_t forward_names_ = 0;
  size_t reverse_names_ = 0;
};

}  // namespace dnsd::hosts
