// Differential checks against ldns, the reference parser : a failed
// check prints what differs and aborts, so libFuzzer keeps the input as a crash.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "dnsd/wire/query.h"
#include "tests/fuzz/fail.h"

// Last: ldns's headers define macros that break libstdc++ headers included after them.
#include <ldns/ldns.h>

namespace dnsd::fuzz {

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

inline Pkt wire2pkt(const uint8_t* data, size_t size, ldns_status* status = nullptr) {
  ldns_pkt* pkt = nullptr;
  ldns_status s = ldns_wire2pkt(&pkt, data, size);
  if (status) *status = s;
  if (s != LDNS_STATUS_OK) {
    if (pkt) ldns_pkt_free(pkt);
    return nullptr;
  }
  return Pkt(pkt);
}

inline uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// The one question of `pkt` is `qname` (wire form, compared ignoring ASCII case), `qtype`
// and `qclass`.
inline bool sameQuestion(const ldns_pkt* pkt, const uint8_t* qname, size_t qname_size,
                         uint16_t qtype, uint16_t qclass) {
  if (ldns_pkt_qdcount(pkt) != 1 || ldns_rr_list_rr_count(ldns_pkt_question(pkt)) != 1)
    return false;
  const ldns_rr* q = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
  const ldns_rdf* owner = ldns_rr_owner(q);
  if (ldns_rdf_size(owner) != qname_size) return false;
  const uint8_t* name = ldns_rdf_data(owner);
  for (size_t i = 0; i < qname_size; ++i)
    if (lower(name[i]) != lower(qname[i])) return false;
  return ldns_rr_get_type(q) == qtype && ldns_rr_get_class(q) == qclass;
}

inline bool sameView(const ldns_pkt* pkt, const wire::QueryView& q) {
  return sameQuestion(pkt, q.qname_lower, q.qname_size, q.qtype, q.qclass) &&
         ldns_pkt_edns(pkt) == q.has_edns &&
         (!q.has_edns || ldns_pkt_edns_udp_size(pkt) == q.udp_size);
}

inline void checkSameView(const ldns_pkt* pkt, const wire::QueryView& q) {
  if (!sameQuestion(pkt, q.qname_lower, q.qname_size, q.qtype, q.qclass))
    fail("ldns reads another question than dnsd");
  if (ldns_pkt_edns(pkt) != q.has_edns) fail("ldns and dnsd disagree on EDNS");
  if (q.has_edns && ldns_pkt_edns_udp_size(pkt) != q.udp_size)
    fail("ldns and dnsd disagree on the EDNS UDP size");
}

// The part of an accepted query dnsd reads: header, question and the OPT record, with
// NSCOUNT 0 and ARCOUNT 1 or 0. An IXFR's authority records are skipped: the parser reads
// them by RDLENGTH and the transfer code checks the SOA it needs. Names after the question
// are whole (dnsd checked them), so a pointer is two bytes.
inline std::vector<uint8_t> questionAndOpt(const uint8_t* data, size_t size,
                                           const wire::QueryView& q) {
  std::vector<uint8_t> out(data, data + q.question_end);
  out[8] = out[9] = out[10] = out[11] = 0;
  size_t pos = q.question_end;
  const uint16_t authority = wire::load16(data + 8), additional = wire::load16(data + 10);
  for (uint32_t i = 0, n = authority + additional; i < n && pos < size; ++i) {
    size_t start = pos;
    while (pos < size && data[pos] != 0 && (data[pos] & 0xC0) != 0xC0) pos += 1 + data[pos];
    pos += pos < size && data[pos] != 0 ? 2 : 1;
    size_t end = pos + 10 + wire::load16(data + pos + 8);
    if (i >= authority && wire::load16(data + pos) == wire::type::OPT) {
      out.insert(out.end(), data + start, data + end);
      out[11] = 1;
    }
    pos = end;
  }
  return out;
}

// A query dnsd accepted: ldns must accept it too, with the same question and EDNS. dnsd
// skips the rdata of additional records other than OPT (TSIG, SIG(0) or garbage: it reads
// none of them) by RDLENGTH, where ldns parses it by type, and ldns 1.8.3 then rejects the
// packet or, when the rdata is longer than its fields, reads the next record from inside it
// and may miss the OPT. The same holds for an IXFR's authority section. With such records
// present, the part dnsd reads must still be what ldns reads.
inline void checkAcceptedQuery(const uint8_t* data, size_t size, const wire::QueryView& q) {
  ldns_status status;
  Pkt pkt = wire2pkt(data, size, &status);
  if (pkt && sameView(pkt.get(), q)) return;
  std::vector<uint8_t> read = questionAndOpt(data, size, q);
  // Only OPT after the question: no excuse.
  if (wire::load16(data + 8) == 0 && wire::load16(data + 10) == read[11]) {
    if (!pkt) fail("dnsd accepted a query ldns rejects (%s)", ldns_get_errorstr_by_id(status));
    checkSameView(pkt.get(), q);
  }
  Pkt part = wire2pkt(read.data(), read.size(), &status);
  if (!part)
    fail("dnsd accepted a query whose question and OPT ldns rejects (%s)",
         ldns_get_errorstr_by_id(status));
  checkSameView(part.get(), q);
}

}  // namespace dnsd::fuzz
