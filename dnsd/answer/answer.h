// The answer logic, without sockets: a parsed query and a snapshot in, a response written
// into the caller's buffer out. noexcept, no allocation, no locks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dnsd/base/ip.h"
#include "dnsd/wire/query.h"
#include "dnsd/wire/writer.h"
#include "dnsd/zone/snapshot.h"

namespace dnsd::answer {

enum class Outcome : uint8_t {
  Answered,  // the response is in the buffer
  Forward,   // not ours: hand the query to forward/ (a later stage); nothing written
  Drop,      // never answer (unreadable header, a response packet)
};

struct Response {
  uint8_t* buffer = nullptr;
  size_t capacity = 0;  // what the client accepts: q.udpLimit() for UDP, 65535 for TCP
  size_t size = 0;      // set when Answered
  wire::Rcode rcode = wire::Rcode::NoError;
  // Set when the answer ends in a CNAME to a name outside our zones (an ExternalName): the
  // offset of that name in the buffer, uncompressed, for the caller to resolve upstream and
  // splice in (CoreDNS backend_lookup.go). 0: none.
  uint16_t chase_at = 0;
  // In: the client's address (for --autopath), and whether names that are not ours may be
  // resolved upstream for it. Out: the answer came from the server-side search path.
  const base::IpAddress* client = nullptr;
  bool can_forward = false;
  bool autopath_hit = false;
  // In: set RA on the response (names that are not ours are resolved by this server).
  bool recursion_available = false;
};

// A bare error response (e.g. REFUSED when a name that is not ours may not be forwarded).
void answerError(const wire::QueryView& q, wire::Rcode rcode, Response& response) noexcept;

// `rotate` varies per response so address RRsets are rotated (CoreDNS loadbalance). Names in
// none of our zones are Outcome::Forward: the caller forwards them or calls answerError.
Outcome answer(const wire::QueryView& q, wire::ParseStatus status, const zone::Snapshot* snapshot,
               Response& response, uint32_t rotate) noexcept;

// The upstream query for the CNAME target at `chase_at` of our `response` to `q` (an
// ExternalName to an outside name, autopath's last step): that name, `q`'s type, ID and EDNS.
inline constexpr size_t kChaseQuerySize =
    wire::kMaxNameLength + wire::kHeaderSize + 4 + wire::kOptSize;
size_t chaseQuery(const wire::QueryView& q, const uint8_t* response, uint16_t chase_at,
                  uint8_t* out) noexcept;

// Cache hints for a batch of queries about to be answered (a zone larger than the cache
// otherwise costs each lookup its misses one after another): prefetchSlots() for every
// query of the batch first, then prefetchRecords() for each, then answer() each. They ask
// for what answer() will read: the question's hash-table slot, the name and RRsets there,
// or, when the name does not exist, the slot of its parent (the Pod-name check).
void prefetchSlots(const wire::QueryView& q, const zone::Snapshot& snapshot) noexcept;
void prefetchRecords(const wire::QueryView& q, const zone::Snapshot& snapshot) noexcept;

}  // namespace dnsd::answer
