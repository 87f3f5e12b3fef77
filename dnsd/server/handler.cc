#include "dnsd/server/handler.h"

#include <algorithm>

#include "dnsd/answer/answer.h"

namespace dnsd::server {

bool Handler::recursionAllowed(const Request& request) const noexcept {
  return policy_.forwarder && request.peer && policy_.recursion &&
         policy_.recursion->allows(*request.peer);
}

// The rows of the table, in the order they are tried (docs/architecture.md, "The decision").
Decision Handler::decide(const Request& request, const wire::QueryView& q, wire::ParseStatus status,
                         const zone::Snapshot* snapshot, uint8_t* out) noexcept {
  last_ = &q;
  const bool forwarding = policy_.forwarder != nullptr;
  const size_t limit =
      request.transport == Transport::Tcp ? request.limit : std::min(q.udpLimit(), request.limit);
  answer::Response r{out, limit, 0, wire::Rcode::NoError};
  // RA says names that are not ours are resolved here (CoreDNS: RA reflects forward).
  r.recursion_available = forwarding;
  // Asked once, and only where it matters: --autopath's last step, and names not ours.
  int allowed = -1;
  auto allowedNow = [&] {
    if (allowed < 0) allowed = recursionAllowed(request);
    return allowed == 1;
  };
  base::IpAddress client;
  if (request.peer && snapshot && snapshot->autopath()) {
    client = RecursionPolicy::peerAddress(*request.peer);
    r.client = &client;
    r.can_forward = allowedNow();
  }
  Decision d;
  switch (answer::answer(q, status, snapshot, r, rotate_++)) {
    case answer::Outcome::Drop:
      return d;
    case answer::Outcome::Answered:
      d.action = Action::Answer;
      d.rcode = static_cast<uint8_t>(r.rcode);
      d.autopath_hit = r.autopath_hit;
      d.size = r.size;
      // An answer ending in a CNAME out of our zones: its target is resolved upstream for a
      // client that may have that, else the CNAME alone is the answer.
      if (r.chase_at && allowedNow()) {
        d.action = Action::Chase;
        d.chase_at = r.chase_at;
      }
      return d;
    case answer::Outcome::Forward:
      break;
  }
  if (!allowedNow()) {
    d.action = Action::Refuse;
    d.size = refuse(q, out, limit);
    d.rcode = static_cast<uint8_t>(wire::Rcode::Refused);
    return d;
  }
  // Most names outside the cluster are asked again and again: a cached answer goes out from
  // the worker, as a cluster answer does, not through the forwarder's thread.
  if (size_t hit =
          policy_.forwarder->answerFromCache(q, request.packet, request.size, out, limit)) {
    d.action = Action::AnswerCached;
    d.size = hit;
    d.rcode = wire::rcodeOf(out);
    return d;
  }
  d.action = Action::Forward;
  return d;
}

// REFUSED without RA: recursion is not available to this client (RFC 1035 §4.1.1).
size_t Handler::refuse(const wire::QueryView& q, uint8_t* out, size_t capacity) noexcept {
  answer::Response r{out, capacity, 0, wire::Rcode::NoError};
  answer::answerError(q, wire::Rcode::Refused, r);
  return r.size;
}

void Handler::submit(const Decision& decision, const Request& request, const uint8_t* out,
                     forward::Client client) noexcept {
  const wire::QueryView& q = *last_;
  client.tcp = request.transport == Transport::Tcp;
  client.limit = client.tcp ? wire::kMaxMessage : q.udpLimit();
  if (decision.action == Action::Forward)
    return policy_.forwarder->submit(request.packet, request.size, client);
  if (decision.action != Action::Chase) return;
  client.prefix.assign(out, out + decision.size);
  uint8_t query[answer::kChaseQuerySize];
  policy_.forwarder->submit(query, answer::chaseQuery(q, out, decision.chase_at, query), client);
}

}  // namespace dnsd::server
