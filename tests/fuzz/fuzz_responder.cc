// libFuzzer target: the whole responder, query bytes → parseQuery → answer() over a fixed
// zone (tests/support/test_zone.h) → response bytes, as server/handler.h runs it. The query ID's
// low bit picks the capacity: even, the client's UDP limit; odd, 65535 (TCP). Its high byte
// rotates address RRsets. Checks: a query dnsd accepts parses in ldns with the same
// question; every response parses in ldns, echoes the question byte for byte and the ID,
// has QR set, and is no larger than the capacity.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dnsd/answer/answer.h"
#include "dnsd/wire/query.h"
#include "tests/support/test_zone.h"
#include "tests/fuzz/ldns_check.h"  // last: ldns's macros break standard headers after it

using namespace dnsd;

namespace {

const zone::Snapshot& snapshot() {
  static const auto snap = testing::buildTestSnapshot();
  return *snap;
}

void checkResponse(const uint8_t* query, const wire::QueryView& q, wire::ParseStatus status,
                   const uint8_t* out, size_t size, size_t capacity) {
  if (size > capacity) fuzz::fail("response of %zu bytes, capacity %zu", size, capacity);
  if (size < wire::kHeaderSize) fuzz::fail("response of %zu bytes", size);
  if (wire::load16(out) != q.id) fuzz::fail("response ID differs");
  if (!(out[2] & 0x80)) fuzz::fail("response without QR");
  ldns_status ldns_status;
  fuzz::Pkt pkt = fuzz::wire2pkt(out, size, &ldns_status);
  if (!pkt) fuzz::fail("ldns rejects dnsd's response (%s)", ldns_get_errorstr_by_id(ldns_status));
  // The question goes back whenever it was read and fits (wire::ResponseWriter::begin).
  if (q.has_question && q.question_end <= capacity) {
    if (!fuzz::sameQuestion(pkt.get(), q.qname_lower, q.qname_size, q.qtype, q.qclass))
      fuzz::fail("the response carries another question");
    if (std::memcmp(out + wire::kHeaderSize, query + wire::kHeaderSize,
                    q.question_end - wire::kHeaderSize) != 0)
      fuzz::fail("the question is not echoed byte for byte (0x20)");
  } else if (ldns_pkt_qdcount(pkt.get()) != 0) {
    fuzz::fail("a question in the response to a query without one");
  }
  // OPT goes back exactly when the query had one (RFC 6891 §7); the writer keeps room for it.
  if (status == wire::ParseStatus::Ok && q.has_edns != ldns_pkt_edns(pkt.get()))
    fuzz::fail("OPT in the response does not follow the query");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const zone::Snapshot& snap = snapshot();
  wire::QueryView q;
  wire::ParseStatus status = wire::parseQuery(data, size, q);
  if (status == wire::ParseStatus::Ok) fuzz::checkAcceptedQuery(data, size, q);

  bool tcp = size >= 2 && (data[1] & 1);
  uint32_t rotate = size >= 1 ? data[0] : 0;
  static std::vector<uint8_t> buffer(wire::kMaxMessage);
  size_t capacity = tcp ? wire::kMaxMessage : q.udpLimit();
  answer::Response r{buffer.data(), capacity, 0, wire::Rcode::NoError};
  answer::Outcome outcome = answer::answer(q, status, &snap, r, rotate);
  if (outcome == answer::Outcome::Drop) {
    if (status != wire::ParseStatus::Drop) fuzz::fail("dropped a query that parsed");
    return 0;
  }
  if (outcome == answer::Outcome::Forward) {
    if (status != wire::ParseStatus::Ok) fuzz::fail("forwarding a query that did not parse");
    // What the server sends when it may not forward (tests/unit/answer/answer_test.cc).
    answer::answerError(q, wire::Rcode::Refused, r);
  }
  checkResponse(data, q, status, buffer.data(), r.size, capacity);
  return 0;
}
