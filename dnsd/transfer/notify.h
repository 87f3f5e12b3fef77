// NOTIFY (RFC 1996): the message that tells a secondary a zone changed, and the check that a
// reply acknowledges it.
#pragma once

#include <cstdint>
#include <vector>

#include "dnsd/transfer/zone_walk.h"

namespace dnsd::transfer {

inline constexpr uint8_t kOpcodeNotify = 4;

// RFC 1996 §3.7: opcode NOTIFY, AA set, the question (apex, SOA, IN), and the new SOA in the
// answer section as a hint (§3.7 allows it; secondaries still ask for the SOA themselves).
std::vector<uint8_t> notifyMessage(uint16_t id, const wire::Name& apex, const Rr& soa);

// True when `reply` answers the NOTIFY with `id`: QR set, opcode NOTIFY, the same ID.
// `rcode` receives its RCODE (a secondary that does not serve the zone says NOTAUTH or
// REFUSED).
bool isNotifyReply(const uint8_t* reply, size_t size, uint16_t id, uint8_t& rcode) noexcept;

}  // namespace dnsd::transfer
