// The records of one zone, flat: each record is 20 bytes in one vector, its owner name and
// rdata in one byte string. A large cluster makes hundreds of thousands of records; as
// separate objects with their own strings they cost millions of allocations on every load.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/base/ip.h"
#include "dnsd/wire/name.h"
#include "dnsd/zonefile/load.h"

namespace dnsd::zone {

// One resource record as an object: the zone file reader's type, which tests use too.
// `rdata` is the wire form, names in it uncompressed and lowercase; `target` repeats the
// domain name that ends the rdata of CNAME, NS, PTR, MX and SRV.
using Record = zonefile::Rr;

class RecordList {
 public:
  static constexpr uint16_t kNoTarget = 0xFFFF;

  // One record, read in place: valid until the list changes.
  struct View {
    const uint8_t* owner;  // lowercase wire form
    uint8_t owner_size;
    uint16_t type;
    uint32_t ttl;
    const uint8_t* rdata;
    uint16_t rdata_size;
    uint16_t target_at;  // offset in the rdata of the name the builder links, or kNoTarget

    const uint8_t* target() const { return target_at == kNoTarget ? nullptr : rdata + target_at; }
    std::string_view rdataBytes() const {
      return {reinterpret_cast<const char*>(rdata), rdata_size};
    }
    bool ownerIs(const wire::Name& name) const;
  };

  // A record whose rdata is `head` followed by `target`'s wire form, when given (a name the
  // builder links: CNAME, NS, PTR, MX, SRV).
  void add(const wire::Name& owner, uint16_t type, uint32_t ttl, std::string_view head,
           const wire::Name* target = nullptr) {
    add(std::string_view(owner.wire()), type, ttl, head,
        target ? std::string_view(target->wire()) : std::string_view());
  }
  // The same with names as lowercase wire bytes, for names kept elsewhere than in a Name;
  // an empty `target` is none (a wire name has at least its root byte).
  void add(std::string_view owner, uint16_t type, uint32_t ttl, std::string_view head,
           std::string_view target);
  // An A or AAAA record by the address family, the address bytes as rdata.
  void addAddress(const wire::Name& owner, uint32_t ttl, const base::IpAddress& ip);
  void push_back(const Record& r);

  // Room for about `records` records of `bytes` owner and rdata bytes in all, so that a
  // large zone's list is not copied each time it doubles.
  void reserve(size_t records, size_t bytes) {
    entries_.reserve(records);
    bytes_.reserve(bytes);
  }
  // Gives back the room reserve() or growth left, for a list kept long.
  void shrink_to_fit() {
    entries_.shrink_to_fit();
    bytes_.shrink_to_fit();
  }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  View operator[](size_t i) const;
  // The record as an object, for text output and tests.
  Record record(size_t i) const;

 private:
  struct Entry {
    uint32_t owner;  // offsets into bytes_
    uint32_t rdata;
    uint32_t ttl;
    uint16_t type;
    uint16_t rdata_size;
    uint16_t target_at;
    uint8_t owner_size;
  };
  std::vector<Entry> entries_;
  std::string bytes_;
};

}  // namespace dnsd::zone
