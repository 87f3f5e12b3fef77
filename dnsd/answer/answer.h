// The answer logic, without sockets: a parsed query and a snapshot in, a response written
// into the caller's buffer out. noexcept, no allocation, no locks.
#pragma once

#include <cstddef>
#include <cstdint>

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
};

// `rotate` varies per response so address RRsets are rotated (CoreDNS loadbalance).
Outcome answer(const wire::QueryView& q, wire::ParseStatus status, const zone::Snapshot* snapshot,
               Response& response, uint32_t rotate) noexcept;

}  // namespace dnsd::answer
