#include "dnsd/zonefile/zone_checks.h"

#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "dnsd/wire/dns.h"

namespace dnsd::zonefile {
namespace {

constexpr uint16_t kRrsig = 46, kNsec = 47;

base::Error errorAt(const std::string& file, int line, std::string message) {
  return base::Error{std::move(message), file + ":" + std::to_string(line)};
}

std::string className(uint16_t rr_class) {
  switch (rr_class) {
    case 3:
      return "CH";
    case 4:
      return "HS";
    case wire::kClassAny:
      return "ANY";
    default:
      return "CLASS" + std::to_string(rr_class);
  }
}

// OPT (RFC 6891) and the query-only types 249-255 (TKEY .. ANY) cannot be stored in a zone.
bool isMetaType(uint16_t type) { return type == wire::type::OPT || (type >= 249 && type <= 255); }

// Rules that one record breaks on its own: class, type, place in the zone.
std::optional<std::string> recordProblem(const SourceRr& source, const wire::Name& apex) {
  const Rr& rr = source.rr;
  if (source.rr_class != wire::kClassIn)
    return "class " + className(source.rr_class) + " is not supported (only IN)";
  if (isMetaType(rr.type)) return "type " + std::to_string(rr.type) + " cannot be stored in a zone";
  if (!rr.owner.isSubdomainOf(apex))
    return rr.owner.text() + " is outside the zone " + apex.text() + " (out-of-zone data)";
  if (rr.type == wire::type::SOA && !(rr.owner == apex))
    return "SOA for " + rr.owner.text() + " is not at the apex " + apex.text();
  return std::nullopt;
}

// RFC 1034 §3.6.2: a name with a CNAME has no other data (RFC 4035 §2.5 allows its RRSIG
// and NSEC), and RFC 2181 §10.1 allows one CNAME only.
class CnameRule {
 public:
  std::optional<std::string> add(const Rr& rr) {
    Seen& seen = names_[rr.owner];
    if (rr.type == kRrsig || rr.type == kNsec) return std::nullopt;
    const bool cname = rr.type == wire::type::CNAME;
    if (cname && seen.cname && seen.cname_rdata != rr.rdata)
      return rr.owner.text() + " has more than one CNAME (RFC 2181 §10.1)";
    if ((cname && seen.other) || (!cname && seen.cname))
      return rr.owner.text() + " has a CNAME and other data (RFC 1034 §3.6.2)";
    if (cname) seen.cname_rdata = rr.rdata;
    seen.cname = seen.cname || cname;
    seen.other = seen.other || !cname;
    return std::nullopt;
  }

 private:
  struct Seen {
    bool cname = false, other = false;
    std::string cname_rdata;  // an exact duplicate CNAME is dropped later, not an error
  };
  std::map<wire::Name, Seen> names_;
};

}  // namespace

base::Result<wire::Name> findApex(const std::vector<SourceRr>& records,
                                  const std::optional<wire::Name>& origin,
                                  const std::string& file) {
  for (const SourceRr& source : records) {
    if (source.rr.type != wire::type::SOA) continue;
    if (origin && !(source.rr.owner == *origin)) continue;
    // ldns puts "@" with no origin at the root: no zone a cluster serves is the root.
    if (!origin && source.rr.owner.isRoot())
      return errorAt(file, source.line, "SOA at the root (set $ORIGIN or write the apex name)");
    return source.rr.owner;
  }
  if (origin) return base::Error{"no SOA at the apex " + origin->text(), file};
  return base::Error{"no SOA record (a zone file needs the SOA of its apex)", file};
}

base::Status checkRecords(const std::vector<SourceRr>& records, const wire::Name& apex,
                          const std::string& file) {
  CnameRule cname_rule;
  bool soa_seen = false;
  for (const SourceRr& source : records) {
    std::optional<std::string> problem = recordProblem(source, apex);
    if (!problem && source.rr.type == wire::type::SOA && std::exchange(soa_seen, true))
      problem = "a second SOA at the apex";
    if (!problem) problem = cname_rule.add(source.rr);
    if (problem) return errorAt(file, source.line, std::move(*problem));
  }
  return base::Ok{};
}

std::vector<Rr> normalizeRrsets(std::vector<SourceRr> records) {
  std::map<std::pair<wire::Name, uint16_t>, uint32_t> rrset_ttl;
  std::set<std::tuple<wire::Name, uint16_t, std::string>> seen;
  std::vector<Rr> out;
  out.reserve(records.size());
  for (SourceRr& source : records) {
    Rr& rr = source.rr;
    if (!seen.emplace(rr.owner, rr.type, rr.rdata).second) continue;            // RFC 2181 §5
    rr.ttl = rrset_ttl.try_emplace({rr.owner, rr.type}, rr.ttl).first->second;  // §5.2
    out.push_back(std::move(rr));
  }
  return out;
}

}  // namespace dnsd::zonefile
