// What happens to one query, decided in one place (Handler::decide) and carried out by the
// transport: the same table for UDP and TCP. docs/architecture.md has the table.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "dnsd/forward/forwarder.h"
#include "dnsd/server/recursion.h"

namespace dnsd::server {

enum class Transport : uint8_t { Udp, Tcp };

// One query as it arrived.
struct Request {
  const uint8_t* packet = nullptr;
  size_t size = 0;
  Transport transport = Transport::Udp;
  const sockaddr_storage* peer = nullptr;  // the client; null: none (never forwarded for)
  size_t limit = 0;  // room in the response buffer; UDP answers also keep to the client's size
};

// What the decision reads beside the query and the zone, fixed once the server runs.
struct Policy {
  forward::Forwarder* forwarder = nullptr;     // null: forwarding is off
  const RecursionPolicy* recursion = nullptr;  // who may have names resolved upstream
};

enum class Action : uint8_t {
  Answer,        // the response is in the buffer: from our zones, or an error (FORMERR...)
  AnswerCached,  // the response is in the buffer: a forwarded reply from the cache
  Forward,       // nothing written: send the query upstream (Handler::submit)
  Chase,         // our CNAME is in the buffer; resolve its target upstream and splice
  Refuse,        // REFUSED is in the buffer: not ours, and not to be resolved for this client
  Drop,          // nothing written, nothing sent (a response packet, no usable header)
};

struct Decision {
  Action action = Action::Drop;
  uint8_t rcode = 0;          // of the response in the buffer
  bool autopath_hit = false;  // the answer came from the server-side search path
  uint16_t chase_at = 0;      // Chase: the CNAME target's offset in the buffer
  size_t size = 0;            // bytes in the buffer (for Chase, our part)

  // Whether the buffer holds a response to send now.
  bool answered() const noexcept {
    return action == Action::Answer || action == Action::AnswerCached || action == Action::Refuse;
  }
  // Whether the query goes to the forwarder (Handler::submit).
  bool upstream() const noexcept { return action == Action::Forward || action == Action::Chase; }
};

}  // namespace dnsd::server
