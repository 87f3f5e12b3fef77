#include "dnsd/answer/answer.h"

#include <cstring>
#include <optional>

#include "dnsd/base/ip.h"
#include "dnsd/hosts/hosts_table.h"
#include "dnsd/wire/splice.h"

namespace dnsd::answer {
namespace {

using wire::Rcode;
using wire::Section;
namespace type = wire::type;

constexpr int kMaxChain = 8;  // CNAME hops followed inside our zones

// One response in the making: the stages of RFC 1034 §4.3.2 step 3, each short
// (Knot internet.c: answer, authority, additional).
class Responder {
 public:
  Responder(const wire::QueryView& q, const zone::Snapshot& snap, Response& r, uint32_t rotate)
      : q_(q), snap_(snap), r_(r), rotate_(rotate) {}

  void run(int zone) {
    zone_ = zone;
    w_.begin(r_.buffer, r_.capacity, q_);
    w_.setAuthoritative();  // AA on every answer from our zones, negatives included
    const auto& apex = snap_.zone(zone).apex;
    size_t at = q_.qname_size - apex.size();
    w_.setCaseSuffix(apex.data(), q_.packet + wire::kHeaderSize + at,
                     static_cast<uint8_t>(apex.size()));
    const zone::Node* node = snap_.find(q_.qname_lower, q_.qname_size, q_.suffix_hash[0]);
    if (!node) {
      if (podName() || autopath()) return;
      return negative(Rcode::NxDomain, zone, qnameOwner(zone));
    }
    answerAt(*node, wire::Owner{wire::kHeaderSize, nullptr, 0}, 0);
  }

  size_t finish() {
    w_.setRcode(r_.rcode);
    return w_.finish();
  }

 private:
  // Step 3a/3b: the qtype's RRset at the node, else a CNAME to follow, else NODATA.
  void answerAt(const zone::Node& node, wire::Owner owner, int depth) {
    if (q_.qtype == type::ANY) return anyAt(node, owner);
    if (const zone::StoredRRset* rrset = snap_.rrset(node, q_.qtype)) {
      if (!w_.put(Section::Answer, snap_.view(*rrset), owner, rotation(*rrset))) return;
      return additional(*rrset);
    }
    const zone::StoredRRset* cname = snap_.rrset(node, type::CNAME);
    if (cname && depth < kMaxChain) return followCname(*cname, owner, depth);
    negative(Rcode::NoError, node.zone, apexOwner(node.zone));
  }

  // `pods insecure` (CoreDNS kubernetes README, pods): A-B-C-D.NS.pod.DOMAIN answers its own address when the
  // namespace exists; an invalid address is NXDOMAIN, the other family NODATA.
  bool podName() {
    if (q_.label_count < 2) return false;
    const uint8_t* parent_name = q_.qname_lower + q_.label_offset[1];
    const zone::Node* parent =
        snap_.find(parent_name, q_.qname_size - q_.label_offset[1], q_.suffix_hash[1]);
    if (!parent || !(parent->flags & zone::kPodParent)) return false;
    auto ip = dashedAddress(q_.qname_lower);
    if (!ip) return false;
    uint16_t family = ip->v6 ? type::AAAA : type::A;
    if (q_.qtype != family && q_.qtype != type::ANY) {
      negative(Rcode::NoError, parent->zone, qnameOwner(parent->zone));
      return true;
    }
    uint8_t rr[12 + 16];
    size_t size = wire::storeRR(rr, family, snap_.zone(parent->zone).ttl, ip->bytes.data(),
                                static_cast<uint16_t>(ip->size()));
    wire::RRsetView view{family, 1, rr, static_cast<uint32_t>(size), 0xFFFF};
    w_.put(Section::Answer, view, wire::Owner{wire::kHeaderSize, nullptr, 0}, 0);
    return true;
  }

  // --autopath (CoreDNS autopath, CoreDNS autopath): a Pod in NS asked X.NS.svc.DOMAIN, the
  // first step of its search list, and it does not exist. Walk the rest of the list here:
  // X.svc.DOMAIN, X.DOMAIN, then X upstream; answer the first hit as a CNAME from the name
  // asked to the name found, plus its records. One round trip instead of four or more.
  bool autopath() {
    if (!r_.client || !snap_.autopath()) return false;
    const zone::Node* domain = snap_.searchDomainOf(*r_.client);
    if (!domain || domain->name_size >= q_.qname_size) return false;
    size_t cut = q_.qname_size - domain->name_size;
    const uint8_t* suffix = snap_.nameOf(*domain);
    if (!labelBoundary(cut) || std::memcmp(q_.qname_lower + cut, suffix, domain->name_size) != 0)
      return false;
    // The rest of the search list: drop the namespace label, then "svc".
    for (int step = 0; step < 2; ++step) {
      suffix += suffix[0] + 1u;
      if (searchHit(cut, suffix)) return true;
    }
    if (!r_.can_forward) return false;
    uint8_t name[wire::kMaxNameLength];
    std::memcpy(name, q_.qname_lower, cut);
    name[cut] = 0;
    return writeSearchCname(name, cut + 1, nullptr);
  }

  bool labelBoundary(size_t at) const {
    for (int i = 0; i < q_.label_count; ++i)
      if (q_.label_offset[i] == at) return true;
    return false;
  }

  // X + suffix (uncompressed, lowercase); when it exists, the CNAME to it and its answer.
  bool searchHit(size_t cut, const uint8_t* suffix) {
    uint8_t name[wire::kMaxNameLength];
    const size_t suffix_size = wire::nameSize(suffix);
    if (cut + suffix_size > wire::kMaxNameLength) return false;
    std::memcpy(name, q_.qname_lower, cut);
    std::memcpy(name + cut, suffix, suffix_size);
    const zone::Node* node = snap_.find(name, cut + suffix_size, wire::hashWire(name));
    return node && writeSearchCname(name, cut + suffix_size, node);
  }


  // The CNAME from the question to `name`, then the answer at `node` (ours), or, for a name
  // that is not ours (node null), a request to resolve it upstream (chase_at).
  bool writeSearchCname(const uint8_t* name, size_t size, const zone::Node* node) {
    uint8_t rr[12 + wire::kMaxNameLength];
    size_t stored = wire::storeRR(rr, type::CNAME, snap_.zone(zone_).ttl, name,
                                  static_cast<uint16_t>(size));
    wire::RRsetView view{type::CNAME, 1, rr, static_cast<uint32_t>(stored), 0};
    if (!w_.put(Section::Answer, view, wire::Owner{wire::kHeaderSize, nullptr, 0}, 0)) return true;
    r_.autopath_hit = true;
    wire::Owner target{w_.namesWritten()[0], nullptr, 0};
    if (!node) {
      if (q_.qtype != type::CNAME) r_.chase_at = target.pointer;
      return true;
    }
    answerAt(*node, ownerOf(*node, target), 1);
    return true;
  }

  // "10-244-1-2" (exactly three dashes, no "--") is IPv4, else IPv6 with '-' for ':'.
  static std::optional<base::IpAddress> dashedAddress(const uint8_t* label) noexcept {
    char text[64];
    size_t n = label[0];
    int dashes = 0;
    bool double_dash = false;
    for (size_t i = 1; i <= n; ++i) {
      dashes += label[i] == '-';
      double_dash |= i > 1 && label[i] == '-' && label[i - 1] == '-';
    }
    bool v4 = dashes == 3 && !double_dash;
    for (size_t i = 0; i < n; ++i) text[i] = label[i + 1] == '-' ? (v4 ? '.' : ':') : label[i + 1];
    return base::IpAddress::parse(std::string_view(text, n));
  }

  // RFC 8482 §4.2: answer ANY with one RRset of the name.
  void anyAt(const zone::Node& node, wire::Owner owner) {
    if (node.rrset_count == 0) return negative(Rcode::NoError, node.zone, apexOwner(node.zone));
    w_.put(Section::Answer, snap_.view(snap_.rrsetsOf(node)[0]), owner, 0);
  }

  // RFC 1034 §4.3.2 3a: the CNAME, then the target's answer when the target is ours.
  void followCname(const zone::StoredRRset& cname, wire::Owner owner, int depth) {
    if (!w_.put(Section::Answer, snap_.view(cname), owner, 0)) return;
    uint32_t target = snap_.link(cname.links, 0);
    wire::Owner next{w_.namesWritten()[0], nullptr, 0};
    if (target != zone::kNoNode) return answerAt(snap_.node(target), ownerOf(target, next), depth + 1);
    // A target in one of our zones that does not exist is NXDOMAIN (RFC 6604 §2.1);
    // one outside them stays a bare CNAME until forwarding resolves it. The stored rdata is
    // lowercase (the copy in the message may carry the client's case).
    const uint8_t* target_name = snap_.view(cname).data + 2 + 10;
    int zone = snap_.zoneOfName(target_name, cname.size - 12);
    if (zone >= 0) return negative(Rcode::NxDomain, zone, apexOwner(zone));
    if (q_.qtype != type::CNAME) r_.chase_at = next.pointer;
  }

  // SRV and NS targets' addresses (k8s DNS spec §2.3.2 "may include").
  void additional(const zone::StoredRRset& rrset) {
    uint16_t n = w_.namesWrittenCount();
    if (n == 0 || rrset.type == type::CNAME || rrset.type == type::PTR) return;
    uint16_t names[wire::ResponseWriter::kMaxTracked];
    for (uint16_t i = 0; i < n; ++i) names[i] = w_.namesWritten()[i];
    for (uint16_t i = 0; i < n; ++i) {
      uint32_t target = snap_.link(rrset.links, i);
      if (target == zone::kNoNode || seenBefore(rrset, i, target)) continue;
      const zone::Node& t = snap_.node(target);
      wire::Owner owner = ownerOf(target, wire::Owner{names[i], nullptr, 0});
      for (uint16_t family : {type::A, type::AAAA})
        if (const zone::StoredRRset* a = snap_.rrset(t, family))
          w_.put(Section::Additional, snap_.view(*a), owner, 0);
    }
  }

  bool seenBefore(const zone::StoredRRset& rrset, uint16_t i, uint32_t target) const {
    for (uint16_t j = 0; j < i; ++j)
      if (snap_.link(rrset.links, j) == target) return true;
    return false;
  }

  // RFC 2308 §2.1/§2.2: NXDOMAIN or NODATA with the zone's SOA in the authority section.
  void negative(Rcode rcode, int zone, wire::Owner apex) {
    r_.rcode = rcode;
    w_.put(Section::Authority, snap_.view(snap_.zone(zone).negative_soa), apex, 0);
  }

  // The apex as a suffix of the question name, by pointer.
  wire::Owner qnameOwner(int zone) const {
    const auto& apex = snap_.zone(zone).apex;
    return wire::Owner{static_cast<uint16_t>(wire::kHeaderSize + q_.qname_size - apex.size()),
                       apex.data(), static_cast<uint8_t>(apex.size())};
  }
  // The apex by pointer into the question when it is the question's zone, else written out.
  wire::Owner apexOwner(int zone) const {
    if (zone == zone_) return qnameOwner(zone);
    const auto& apex = snap_.zone(zone).apex;
    return wire::Owner{0, apex.data(), static_cast<uint8_t>(apex.size())};
  }
  // A pointer to where the name already is, with the name itself as the fallback.
  wire::Owner ownerOf(uint32_t node, wire::Owner at) const { return ownerOf(snap_.node(node), at); }
  wire::Owner ownerOf(const zone::Node& n, wire::Owner at) const {
    return wire::Owner{at.pointer, snap_.nameOf(n), n.name_size};
  }
  uint16_t rotation(const zone::StoredRRset& rrset) const {
    bool address = rrset.type == type::A || rrset.type == type::AAAA;
    return address ? static_cast<uint16_t>(rotate_ % rrset.count) : 0;
  }

  const wire::QueryView& q_;
  const zone::Snapshot& snap_;
  Response& r_;
  uint32_t rotate_;
  int zone_ = 0;  // the question's zone
  wire::ResponseWriter w_;
};

// --hosts: a name the hosts file lists gets its addresses (A, AAAA), a listed address's
// reverse name its names (PTR), any other type NODATA without an SOA, as CoreDNS's hosts
// plugin answers (plugin/hosts/hosts.go: AA set, no authority). False for a name the file
// does not list: it goes on to the zones and forwarding, as `fallthrough` does.
bool answerFromHosts(const wire::QueryView& q, const hosts::HostsTable& hosts, Response& r,
                     uint32_t rotate) {
  const hosts::HostsTable::Entry* entry = hosts.find(q.qname_lower, q.qname_size, q.suffix_hash[0]);
  if (!entry) return false;
  wire::ResponseWriter w;
  w.begin(r.buffer, r.capacity, q);
  w.setAuthoritative();
  uint16_t qtype = q.qtype;
  if (qtype == type::ANY)  // RFC 8482 §4.2: one RRset of the name
    for (uint16_t t : {type::PTR, type::AAAA, type::A})
      if (hosts.view(*entry, t).count) qtype = t;
  const wire::RRsetView rrset = hosts.view(*entry, qtype);
  if (rrset.count) {
    const auto start = static_cast<uint16_t>(rrset.type == type::PTR ? 0 : rotate % rrset.count);
    w.put(Section::Answer, rrset, wire::Owner{wire::kHeaderSize, nullptr, 0}, start);
  }
  r.rcode = Rcode::NoError;
  r.size = w.finish();
  return true;
}

bool errorResponse(const wire::QueryView& q, Rcode rcode, Response& r) {
  wire::ResponseWriter w;
  r.rcode = rcode;
  r.size = w.error(r.buffer, r.capacity, q, rcode);
  return true;
}

Outcome answerQuery(const wire::QueryView& q, wire::ParseStatus status,
                    const zone::Snapshot* snapshot, Response& r, uint32_t rotate) noexcept {
  switch (status) {
    case wire::ParseStatus::Drop: return Outcome::Drop;
    case wire::ParseStatus::FormErr: return errorResponse(q, Rcode::FormErr, r), Outcome::Answered;
    case wire::ParseStatus::NotImp: return errorResponse(q, Rcode::NotImp, r), Outcome::Answered;
    case wire::ParseStatus::BadVers: return errorResponse(q, Rcode::BadVers, r), Outcome::Answered;
    case wire::ParseStatus::Ok: break;
  }
  // Only class IN is served (CoreDNS: CH/HS REFUSED). Zone transfers reach this only over
  // UDP or without --transfer-to (over TCP they go to server/transfer_server.h): refused.
  if (q.qclass != wire::kClassIn || q.qtype == type::AXFR || q.qtype == type::IXFR ||
      q.qtype == type::OPT || !snapshot)
    return errorResponse(q, Rcode::Refused, r), Outcome::Answered;
  // The hosts file before the zones: CoreDNS runs its hosts plugin before kubernetes (the
  // order of plugin.cfg, whatever the Corefile's), so a listed name or address wins, and the
  // PTR of a node's address in a reverse zone of ours comes from the file.
  if (const hosts::HostsTable* hosts = snapshot->hosts())
    if (answerFromHosts(q, *hosts, r, rotate)) return Outcome::Answered;
  int zone = snapshot->zoneOf(q);
  if (zone < 0) return Outcome::Forward;
  // CoreDNS answers SERVFAIL while its Kubernetes API is unsynced (plugin/kubernetes
  // handler.go): an empty zone's NXDOMAIN would be cached by clients as the truth.
  if (snapshot->zone(zone).unsynced) return errorResponse(q, Rcode::ServFail, r), Outcome::Answered;
  Responder responder(q, *snapshot, r, rotate);
  responder.run(zone);
  r.size = responder.finish();
  return Outcome::Answered;
}

}  // namespace

void answerError(const wire::QueryView& q, Rcode rcode, Response& r) noexcept {
  errorResponse(q, rcode, r);
  if (r.recursion_available && r.size) wire::setRecursionAvailable(r.buffer);
}

Outcome answer(const wire::QueryView& q, wire::ParseStatus status, const zone::Snapshot* snapshot,
               Response& r, uint32_t rotate) noexcept {
  r.rcode = Rcode::NoError;
  r.chase_at = 0;
  r.autopath_hit = false;
  Outcome outcome = answerQuery(q, status, snapshot, r, rotate);
  if (outcome == Outcome::Answered && r.recursion_available && r.size)
    wire::setRecursionAvailable(r.buffer);
  return outcome;
}

size_t chaseQuery(const wire::QueryView& q, const uint8_t* response, uint16_t chase_at,
                  uint8_t* out) noexcept {
  const uint8_t* name = response + chase_at;
  return wire::writeQuery(out, q.id, name, wire::nameSize(name), q.qtype, q.has_edns, q.do_bit);
}

void prefetchSlots(const wire::QueryView& q, const zone::Snapshot& snapshot) noexcept {
  snapshot.prefetchSlot(q.suffix_hash[0]);
}

void prefetchRecords(const wire::QueryView& q, const zone::Snapshot& snapshot) noexcept {
  if (!snapshot.prefetchNode(q.suffix_hash[0]) && q.label_count >= 2)
    snapshot.prefetchSlot(q.suffix_hash[1]);  // Responder::podName()'s lookup
}

}  // namespace dnsd::answer
