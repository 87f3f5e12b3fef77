// libFuzzer target: wire::parseQuery on arbitrary bytes, checked against ldns: every query
// dnsd accepts, ldns_wire2pkt accepts with the same question (a differential check).
#include <cstddef>
#include <cstdint>

#include "dnsd/wire/query.h"
#include "tests/fuzz/ldns_check.h"

using namespace dnsd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wire::QueryView q;
  wire::ParseStatus status = wire::parseQuery(data, size, q);
  // Invariants of the view, whatever the status.
  if (q.has_question) {
    if (q.qname_size == 0 || q.qname_size > wire::kMaxNameLength) fuzz::fail("qname size");
    if (q.question_end > size || q.question_end != wire::kHeaderSize + q.qname_size + 4u)
      fuzz::fail("question_end %zu, size %zu", q.question_end, size);
    if (q.qname_lower[q.qname_size - 1] != 0) fuzz::fail("qname not root-terminated");
  }
  if (status == wire::ParseStatus::Ok) {
    if (!q.has_question) fuzz::fail("Ok without a question");
    size_t limit = q.udpLimit();
    if (limit < wire::kMinUdpSize || limit > wire::kEdnsUdpSize) fuzz::fail("udpLimit %zu", limit);
    fuzz::checkAcceptedQuery(data, size, q);
  }
  return 0;
}
