// Upstream replies read defensively, and the few messages the forwarder writes itself:
// SERVFAIL, the TC stub for a UDP client that asked for less, and the client's ID and
// question put back into a reply. Every read is bounds-checked; names are skipped, never
// followed, so hostile compression pointers cannot loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dnsd/wire/dns.h"

namespace dnsd::forward {

// What the forwarder needs to know about a reply to cache it and pass it on.
struct ReplyInfo {
  uint8_t rcode = 0;           // header RCODE (4 bits)
  uint8_t extended_rcode = 0;  // upper 8 bits from OPT (RFC 6891 §6.1.3)
  bool tc = false;
  uint16_t answer_count = 0;
  size_t question_end = 0;               // offset just past the one question
  uint32_t min_answer_ttl = UINT32_MAX;  // over the answer section
  bool has_soa = false;                  // first SOA of the authority section
  uint32_t soa_ttl = 0, soa_minimum = 0;
};

// Walks header, question and every RR. False when the message is not a response with exactly
// one question, or any record runs past the end. `ttl_offsets`, when given, receives the
// offset of each RR's TTL field (OPT excluded: its TTL holds flags).
bool walkReply(const uint8_t* reply, size_t size, ReplyInfo& info,
               std::vector<uint16_t>* ttl_offsets) noexcept;

// RFC 2181 §8: a TTL with the top bit set is read as 0.
inline uint32_t readTtl(const uint8_t* p) noexcept {
  uint32_t ttl = wire::load32(p);
  return ttl > 0x7FFFFFFFu ? 0 : ttl;
}

// The query facts every reply the forwarder writes depends on.
struct QueryFacts {
  size_t question_end = 0;  // header + question, as the client sent it
  bool has_edns = false;
  bool do_bit = false;
};

// True when the reply's question equals the query's, ignoring ASCII case (0x20).
bool sameQuestion(const uint8_t* reply, size_t reply_question_end, const uint8_t* query,
                  size_t query_question_end) noexcept;

// Puts the client's ID and question bytes (its original case) into a reply whose question
// has the same length (checked by sameQuestion).
void restoreClientQuestion(uint8_t* reply, const uint8_t* query, const QueryFacts& facts) noexcept;

// Header + question (+ OPT when the query had EDNS) with `rcode`: QR and RA set, ID, opcode,
// RD and CD copied from the query. Fits in 512 bytes.
std::vector<uint8_t> shortReply(const uint8_t* query, const QueryFacts& facts, wire::Rcode rcode);

// The reply cut to fit `limit` with TC set, for a UDP client whose limit it exceeds: header,
// question, the answer RRs that fit whole (no authority or additional), OPT when the query
// had EDNS. A client that honours TC retries over TCP (RFC 1035 §4.2.1, RFC 7766); one that
// does not still gets a usable subset. `limit` is at least 512 (header + question fit).
void truncateReply(std::vector<uint8_t>& reply, const QueryFacts& facts, size_t limit);

// What the forwarder checks of a reply before it caches it or passes it on: walkReply (a
// response, one question, every record in bounds) and sameQuestion against the client's
// query. On false the client gets SERVFAIL.
bool acceptReply(const uint8_t* reply, size_t size, const uint8_t* query, const QueryFacts& facts,
                 ReplyInfo& info, std::vector<uint16_t>* ttl_offsets) noexcept;

// An accepted or cached reply made the client's: its ID and question bytes, and for a UDP
// client whose `udp_limit` it exceeds, cut by truncateReply. True when it was cut.
bool fitForClient(std::vector<uint8_t>& reply, const uint8_t* query, const QueryFacts& facts,
                  bool tcp, size_t udp_limit);

// Lowers every TTL at `ttl_offsets` to min(TTL, lifetime) - elapsed, at least 0.
void ageTtls(uint8_t* reply, const std::vector<uint16_t>& ttl_offsets, uint32_t elapsed,
             uint32_t lifetime) noexcept;

}  // namespace dnsd::forward
