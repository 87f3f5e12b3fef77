// A DNS query parsed once into a view: header, the one question (lowercased and hashed per
// suffix), and the EDNS OPT record. Views point into the packet; nothing is allocated.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dnsd/wire/dns.h"

namespace dnsd::wire {

enum class ParseStatus : uint8_t {
  Ok,
  Drop,     // no usable header, or a response (QR set): never answered
  FormErr,  // header readable, the rest malformed (RFC 1035 §4.1.1)
  NotImp,   // opcode other than QUERY
  BadVers,  // EDNS version other than 0 (RFC 6891 §6.1.3)
};

struct QueryView {
  const uint8_t* packet = nullptr;
  size_t size = 0;
  uint16_t id = 0;
  uint8_t opcode = 0;
  bool rd = false;
  bool cd = false;

  // The question. `qname_lower` is the wire name lowercased; the original case stays in the
  // packet at offset 12 (kHeaderSize) and is echoed from there.
  bool has_question = false;
  uint8_t qname_lower[kMaxNameLength];
  uint8_t qname_size = 0;  // wire length including the root label
  uint8_t label_count = 0;
  uint8_t label_offset[kMaxLabels];  // offset of label i (0 = leftmost) within the qname
  uint64_t suffix_hash[kMaxLabels + 1];  // suffix_hash[i]: hash of the name from label i;
                                         // suffix_hash[label_count] is the root's
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  size_t question_end = 0;  // offset just past the question

  // EDNS (RFC 6891).
  bool has_edns = false;
  uint16_t udp_size = 0;  // as the client said
  uint8_t edns_version = 0;
  bool do_bit = false;

  // Largest UDP response this client accepts: 512 without EDNS, else its size within
  // [512, kEdnsUdpSize].
  size_t udpLimit() const noexcept;
  // Hash of the name made of the last `labels` labels of the qname.
  uint64_t hashOfLast(int labels) const noexcept { return suffix_hash[label_count - labels]; }
};

// Parses `packet` into `q`. On FormErr/NotImp/BadVers, q.id, q.opcode, q.rd and (if it was
// readable) the question are still filled in so the error response can echo them.
ParseStatus parseQuery(const uint8_t* packet, size_t size, QueryView& q) noexcept;

}  // namespace dnsd::wire
