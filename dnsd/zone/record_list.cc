#include "dnsd/zone/record_list.h"

#include <cstring>

#include "dnsd/wire/dns.h"

namespace dnsd::zone {

bool RecordList::View::ownerIs(const wire::Name& name) const {
  return name.size() == owner_size && std::memcmp(name.data(), owner, owner_size) == 0;
}

void RecordList::add(std::string_view owner, uint16_t type, uint32_t ttl, std::string_view head,
                     std::string_view target) {
  Entry e{};
  e.type = type;
  e.ttl = ttl;
  e.owner_size = static_cast<uint8_t>(owner.size());
  // Records of one name mostly come together: the owner is stored once for the run.
  const Entry* last = entries_.empty() ? nullptr : &entries_.back();
  if (last && last->owner_size == owner.size() &&
      std::memcmp(bytes_.data() + last->owner, owner.data(), owner.size()) == 0) {
    e.owner = last->owner;
  } else {
    e.owner = static_cast<uint32_t>(bytes_.size());
    bytes_ += owner;
  }
  e.rdata = static_cast<uint32_t>(bytes_.size());
  bytes_ += head;
  e.target_at = kNoTarget;
  if (!target.empty()) {
    e.target_at = static_cast<uint16_t>(head.size());
    bytes_ += target;
  }
  e.rdata_size = static_cast<uint16_t>(bytes_.size() - e.rdata);
  entries_.push_back(e);
}

void RecordList::addAddress(const wire::Name& owner, uint32_t ttl, const base::IpAddress& ip) {
  add(owner, ip.v6 ? wire::type::AAAA : wire::type::A, ttl,
      {reinterpret_cast<const char*>(ip.bytes.data()), ip.size()});
}

void RecordList::push_back(const Record& r) {
  // The target ends the rdata (CNAME, NS, PTR, MX, SRV).
  const std::string_view rdata = r.rdata;
  if (!r.target || !rdata.ends_with(r.target->wire())) return add(r.owner, r.type, r.ttl, rdata);
  add(r.owner, r.type, r.ttl, rdata.substr(0, rdata.size() - r.target->size()), &*r.target);
}

RecordList::View RecordList::operator[](size_t i) const {
  const Entry& e = entries_[i];
  const auto* bytes = reinterpret_cast<const uint8_t*>(bytes_.data());
  return {bytes + e.owner, e.owner_size, e.type, e.ttl, bytes + e.rdata, e.rdata_size, e.target_at};
}

Record RecordList::record(size_t i) const {
  const View v = (*this)[i];
  Record r{wire::Name::fromWire(std::string(reinterpret_cast<const char*>(v.owner), v.owner_size)),
           v.type, v.ttl, std::string(v.rdataBytes()), std::nullopt};
  if (const uint8_t* t = v.target())
    r.target = wire::Name::fromWire(std::string(reinterpret_cast<const char*>(t),
                                                 v.rdata_size - v.target_at));
  return r;
}

}  // namespace dnsd::zone
