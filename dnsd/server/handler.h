// One query in, one response out: parse, answer, nothing else. Shared by UDP and TCP.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dnsd/answer/answer.h"
#include "dnsd/server/recursion.h"
#include "dnsd/wire/splice.h"
#include "dnsd/wire/query.h"
#include "dnsd/zone/snapshot.h"

namespace dnsd::server {

// Per-worker state; `rotate` advances per response so address RRsets rotate.
struct Handler {
  wire::QueryView query;  // handle()'s
  uint32_t rotate = 0;
  uint8_t rcode = 0;      // of the last response
  bool forward = false;  // the last query is for the forwarder (handle returned 0)
  uint16_t chase_at = 0;  // the last answer ends in a CNAME out of our zones, named there
  bool autopath_hit = false;

  // Parses `in` into `query` and answers it; see respond().
  size_t handle(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_capacity, bool tcp,
                const zone::Snapshot* snapshot, bool may_forward,
                const sockaddr_storage* peer = nullptr,
                const RecursionPolicy* recursion = nullptr) noexcept {
    wire::ParseStatus status = wire::parseQuery(in, in_size, query);
    return respond(query, status, out, out_capacity, tcp, snapshot, may_forward, peer, recursion);
  }

  // The response to `q`, parsed already with `status`. Returns its size, or 0 when there is
  // nothing to send now: the query is dropped, or (forward set) it must go upstream, which
  // `may_forward` allows. The caller still checks the client against the recursion policy
  // and calls refuse() if it may not. `peer` (may be null) is the client, for --autopath;
  // `recursion` says whether it may have names resolved upstream.
  size_t respond(const wire::QueryView& q, wire::ParseStatus status, uint8_t* out,
                 size_t out_capacity, bool tcp, const zone::Snapshot* snapshot, bool may_forward,
                 const sockaddr_storage* peer = nullptr,
                 const RecursionPolicy* recursion = nullptr) noexcept {
    forward = false;
    chase_at = 0;
    answer::Response r{out, tcp ? out_capacity : q.udpLimit(), 0, wire::Rcode::NoError};
    if (r.capacity > out_capacity) r.capacity = out_capacity;
    base::IpAddress client;
    if (peer && snapshot && snapshot->autopath()) {
      client = RecursionPolicy::peerAddress(*peer);
      r.client = &client;
      r.can_forward = may_forward && recursion && recursion->allows(*peer);
    }
    switch (answer::answer(q, status, snapshot, r, rotate++)) {
      case answer::Outcome::Drop: return 0;
      case answer::Outcome::Forward:
        if (may_forward) {
          forward = true;
          return 0;
        }
        answer::answerError(q, wire::Rcode::Refused, r);
        break;
      case answer::Outcome::Answered: break;
    }
    rcode = static_cast<uint8_t>(r.rcode);
    autopath_hit = r.autopath_hit;
    if (may_forward) {
      chase_at = r.chase_at;
      out[3] |= 0x80;  // RA: recursion is available here (CoreDNS: RA reflects forward)
    }
    return r.size;
  }

  // The upstream query for the out-of-zone CNAME target (chase_at set) of the last answer,
  // to `q`. `out` needs kMaxNameLength + 16 + kOptSize bytes.
  size_t chaseQuery(const wire::QueryView& q, const uint8_t* response, uint8_t* out) const noexcept {
    const uint8_t* name = response + chase_at;
    return wire::writeQuery(out, q.id, name, wire::nameSize(name), q.qtype, q.has_edns,
                            q.do_bit);
  }

  // REFUSED for the last query, `q` (a client not allowed to recurse).
  size_t refuse(const wire::QueryView& q, uint8_t* out, size_t out_capacity) noexcept {
    answer::Response r{out, out_capacity, 0, wire::Rcode::NoError};
    answer::answerError(q, wire::Rcode::Refused, r);
    forward = false;
    rcode = static_cast<uint8_t>(r.rcode);
    return r.size;
  }
};

}  // namespace dnsd::server
