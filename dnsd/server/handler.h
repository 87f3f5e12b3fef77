// One query in, one decision out (decision.h): parse, answer from the zone or the cache, or
// say why not. Shared by UDP and TCP; noexcept, no allocation, no locks but a cache shard's.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dnsd/server/decision.h"
#include "dnsd/wire/query.h"
#include "dnsd/zone/snapshot.h"

namespace dnsd::server {

// Per-worker state: the last query parsed, and `rotate`, advanced per response so address
// RRsets rotate. `policy` is read at each query (the forwarder is set once it started).
class Handler {
 public:
  explicit Handler(const Policy& policy) noexcept : policy_(policy) {}

  // Parses `request` and decides; the response, if any, is written into `out` (room for
  // request.limit bytes).
  Decision decide(const Request& request, const zone::Snapshot* snapshot, uint8_t* out) noexcept {
    wire::ParseStatus status = wire::parseQuery(request.packet, request.size, query_);
    return decide(request, query_, status, snapshot, out);
  }

  // The same for a query parsed already as `q` with `status` (the UDP worker parses a batch
  // before answering it, to prefetch). `q` must outlive a submit() of this decision.
  Decision decide(const Request& request, const wire::QueryView& q, wire::ParseStatus status,
                  const zone::Snapshot* snapshot, uint8_t* out) noexcept;

  // Hands the last decision (Forward or Chase, for `request`, whose buffer is `out`) to the
  // forwarder. `client` says where the reply goes: fd, peer and, over TCP, the connection;
  // the rest is filled in here. A chase copies our part (allocates): it is rare.
  void submit(const Decision& decision, const Request& request, const uint8_t* out,
              forward::Client client) noexcept;

  const wire::QueryView& query() const noexcept { return *last_; }

 private:
  bool recursionAllowed(const Request& request) const noexcept;
  size_t refuse(const wire::QueryView& q, uint8_t* out, size_t capacity) noexcept;

  const Policy& policy_;
  wire::QueryView query_;  // decide(request, ...)'s
  const wire::QueryView* last_ = &query_;
  uint32_t rotate_ = 0;
};

}  // namespace dnsd::server
