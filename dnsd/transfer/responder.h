// Answers one AXFR (RFC 5936) or IXFR (RFC 1995) query from a journal state: the zone's
// SOA, its records, the SOA again; or for IXFR the differences since the client's serial.
#pragma once

#include <cstdint>
#include <string>

#include "dnsd/transfer/journal.h"
#include "dnsd/transfer/message_stream.h"
#include "dnsd/transfer/serial.h"

namespace dnsd::transfer {

// RFC 2136 §2.2 (used by RFC 5936 §2.2.1 for a zone the server is not authoritative for).
inline constexpr uint8_t kRcodeNotAuth = 9;

// What was sent, for the log.
struct Summary {
  // What was sent, when the rcode is 0; `how` says the same for the log.
  enum class Kind : uint8_t { None, Axfr, UpToDate, Ixfr, IxfrAsAxfr };
  Kind kind = Kind::None;
  uint8_t rcode = 0;
  std::string how;  // "AXFR", "IXFR", "IXFR as AXFR", "IXFR up to date", or the error
  std::string zone;
  uint32_t serial = 0;
  size_t records = 0, messages = 0;
  bool complete = false;  // every message went to the sink
};

// True when `query` asks for AXFR or IXFR (a cheap look at its question, no validation).
bool isTransferQuery(const uint8_t* query, size_t size) noexcept;

// The client's serial from the SOA in an IXFR query's authority section (RFC 1995 §3), or
// false when there is none.
bool ixfrClientSerial(const wire::QueryView& q, uint32_t& serial) noexcept;

// The serial of the SOA that answers an SOA query (`reply`, with ID `id`), or false.
bool replySerial(const uint8_t* reply, size_t size, uint16_t id, uint32_t& serial) noexcept;

// Sends the answer to `query` (one framed message for an error) through `sink`.
Summary respond(const JournalState& state, const uint8_t* query, size_t size, const Sink& sink);

// One framed error response to `query` (REFUSED to a client not allowed, for instance) in
// `out` (room for 2 + 512 bytes); its size, or 0 when the query is not worth an answer.
size_t errorResponse(const uint8_t* query, size_t size, uint8_t rcode, uint8_t* out) noexcept;

}  // namespace dnsd::transfer
