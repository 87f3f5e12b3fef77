// One query in, one response out: parse, answer, nothing else. Shared by UDP and TCP.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dnsd/answer/answer.h"
#include "dnsd/wire/query.h"
#include "dnsd/zone/snapshot.h"

namespace dnsd::server {

// Per-worker state; `rotate` advances per response so address RRsets rotate.
struct Handler {
  wire::QueryView query;
  uint32_t rotate = 0;
  uint8_t rcode = 0;  // of the last response

  // Returns the response size, or 0 when the query must not be answered.
  size_t handle(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_capacity, bool tcp,
                const zone::Snapshot* snapshot) noexcept {
    wire::ParseStatus status = wire::parseQuery(in, in_size, query);
    answer::Response r{out, tcp ? out_capacity : query.udpLimit(), 0, wire::Rcode::NoError};
    if (r.capacity > out_capacity) r.capacity = out_capacity;
    if (answer::answer(query, status, snapshot, r, rotate++) != answer::Outcome::Answered)
      return 0;
    rcode = static_cast<uint8_t>(r.rcode);
    return r.size;
  }
};

}  // namespace dnsd::server
