// Building on a partial answer with an upstream's: an ExternalName's CNAME (ours) followed by
// the records of its target, which an upstream resolved (k8s DNS spec §2.5, CoreDNS backend_lookup.go).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dnsd::wire {

// A recursive query for `name` (lowercase wire form) and `qtype`, RD set, with an OPT
// (our size, `do_bit`) when `edns`. Returns its size; `out` needs 255 + 16 + 11 bytes.
size_t writeQuery(uint8_t* out, uint16_t id, const uint8_t* name, size_t name_size,
                  uint16_t qtype, bool edns, bool do_bit) noexcept;

// `out` holds our response (header, question, answer records, maybe an OPT last). Appends
// the answer records of `reply` (names decompressed, in owner and in the rdata of CNAME, NS,
// PTR, MX, SRV), takes the reply's rcode (RFC 6604: the rcode of the last name) and keeps
// the OPT last. Returns the new size, or 0 when the reply is malformed or it does not fit in
// `capacity` (the caller then sends a TC stub or our part alone).
size_t spliceAnswers(uint8_t* out, size_t size, size_t capacity, const uint8_t* reply,
                     size_t reply_size) noexcept;

// What the client gets for our CNAME answer `ours` once the upstream's `reply` for its target
// came: both, spliced into `out` (room for max(capacity, ours_size) bytes). When they do not
// fit `capacity` or the reply is malformed, our part alone, with TC set over UDP (`udp`) so
// that the client retries over TCP. Returns the size.
size_t spliceReply(const uint8_t* ours, size_t ours_size, const uint8_t* reply, size_t reply_size,
                   uint8_t* out, size_t capacity, bool udp) noexcept;

}  // namespace dnsd::wire
