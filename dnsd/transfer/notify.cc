#include "dnsd/transfer/notify.h"

#include "dnsd/wire/dns.h"

namespace dnsd::transfer {

std::vector<uint8_t> notifyMessage(uint16_t id, const wire::Name& apex, const Rr& soa) {
  std::vector<uint8_t> m(wire::kHeaderSize);
  wire::store16(m.data(), id);
  m[2] = static_cast<uint8_t>(kOpcodeNotify << 3 | 0x04);
  wire::store16(m.data() + 4, 1);
  wire::store16(m.data() + 6, soa.data ? 1 : 0);
  m.insert(m.end(), apex.data(), apex.data() + apex.size());
  uint8_t question[4];
  wire::store16(question, wire::type::SOA);
  wire::store16(question + 2, wire::kClassIn);
  m.insert(m.end(), question, question + 4);
  if (soa.data) {
    m.push_back(0xC0);  // the owner: a pointer to the question's name
    m.push_back(wire::kHeaderSize);
    m.insert(m.end(), soa.data, soa.data + soa.size);
  }
  return m;
}

bool isNotifyReply(const uint8_t* reply, size_t size, uint16_t id, uint8_t& rcode) noexcept {
  if (size < wire::kHeaderSize || wire::load16(reply) != id) return false;
  if (!(reply[2] & 0x80) || ((reply[2] >> 3) & 0x0F) != kOpcodeNotify) return false;
  rcode = reply[3] & 0x0F;
  return true;
}

}  // namespace dnsd::transfer
