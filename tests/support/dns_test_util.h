// Test helpers: queries built and responses read by ldns, the reference parser, so unit
// tests compare dnsd's wire output with RRs in presentation format.
#pragma once

#include <ldns/ldns.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace dnsd::testing {

struct QueryOptions {
  bool edns = false;
  uint16_t udp_size = 1232;
  uint16_t id = 0x1234;
};

inline std::vector<uint8_t> makeQuery(const std::string& name, const std::string& type,
                                      QueryOptions opt = {}) {
  ldns_rr_type t = ldns_get_rr_type_by_name(type.c_str());
  ldns_pkt* pkt = nullptr;
  ldns_pkt_query_new_frm_str(&pkt, name.c_str(), t, LDNS_RR_CLASS_IN, LDNS_RD);
  ldns_pkt_set_id(pkt, opt.id);
  if (opt.edns) ldns_pkt_set_edns_udp_size(pkt, opt.udp_size);  // makes ldns add an OPT
  uint8_t* wire = nullptr;
  size_t size = 0;
  ldns_pkt2wire(&wire, pkt, &size);
  std::vector<uint8_t> out(wire, wire + size);
  free(wire);
  ldns_pkt_free(pkt);
  return out;
}

// An RR in dnsd's presentation form: owner TTL class type rdata, single spaces.
inline std::string rrText(const ldns_rr* rr) {
  char* s = ldns_rr2str(rr);
  std::string text(s);
  free(s);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::replace(text.begin(), text.end(), '\t', ' ');
  return text;
}

struct Parsed {
  bool ok = false;
  int rcode = -1;
  bool aa = false, tc = false, qr = false, ra = false;
  uint16_t id = 0;
  std::string question;  // "name type", original case
  std::vector<std::string> answer, authority, additional;
  bool edns = false;
  uint16_t edns_size = 0;
  size_t size = 0;
};

inline std::vector<std::string> section(const ldns_rr_list* list, bool sorted) {
  std::vector<std::string> out;
  for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i)
    out.push_back(rrText(ldns_rr_list_rr(list, i)));
  if (sorted) std::sort(out.begin(), out.end());
  return out;
}

// Parses a response with ldns; `sorted` sorts each section (address RRsets rotate).
inline Parsed parse(const uint8_t* data, size_t size, bool sorted = true) {
  Parsed p;
  p.size = size;
  ldns_pkt* pkt = nullptr;
  if (ldns_wire2pkt(&pkt, data, size) != LDNS_STATUS_OK) return p;
  p.ok = true;
  p.rcode = ldns_pkt_get_rcode(pkt);
  p.aa = ldns_pkt_aa(pkt);
  p.ra = ldns_pkt_ra(pkt);
  p.tc = ldns_pkt_tc(pkt);
  p.qr = ldns_pkt_qr(pkt);
  p.id = ldns_pkt_id(pkt);
  if (ldns_pkt_qdcount(pkt) == 1) {
    const ldns_rr* q = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
    char* owner = ldns_rdf2str(ldns_rr_owner(q));
    char* type = ldns_rr_type2str(ldns_rr_get_type(q));
    p.question = std::string(owner) + " " + type;
    free(owner);
    free(type);
  }
  p.answer = section(ldns_pkt_answer(pkt), sorted);
  p.authority = section(ldns_pkt_authority(pkt), sorted);
  p.additional = section(ldns_pkt_additional(pkt), sorted);
  p.edns = ldns_pkt_edns(pkt);
  p.edns_size = ldns_pkt_edns_udp_size(pkt);
  ldns_pkt_free(pkt);
  return p;
}

}  // namespace dnsd::testing
