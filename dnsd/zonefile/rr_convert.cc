#include "dnsd/zonefile/rr_convert.h"

#include <memory>
#include <optional>
#include <string>

#include "dnsd/wire/dns.h"

namespace dnsd::zonefile {
namespace {

// The rdata field that holds the name the builder links (CNAME chasing, additional
// section), or -1 for types without one.
int targetField(uint16_t type) {
  switch (type) {
    case wire::type::CNAME:
    case wire::type::NS:
    case wire::type::PTR:
      return 0;
    case wire::type::MX:
      return 1;  // RFC 1035 §3.3.9: preference, exchange
    case wire::type::SRV:
      return 3;  // RFC 2782: priority, weight, port, target
    default:
      return -1;
  }
}

// Types whose names dnsd serves lowercased. Other types keep their bytes as written: they
// are served as they are, and some must not change (RFC 6840 §5.1: NSEC next name).
bool lowercasesNames(uint16_t type) { return targetField(type) >= 0 || type == wire::type::SOA; }

// A name rdf (uncompressed wire form) as a lowercase wire::Name. Length bytes are at most 63,
// below 'A', so lowercasing every byte changes only the letters.
wire::Name nameOf(const ldns_rdf* rdf) {
  std::string bytes(reinterpret_cast<const char*>(ldns_rdf_data(rdf)), ldns_rdf_size(rdf));
  for (char& c : bytes) c = static_cast<char>(wire::toLower(static_cast<uint8_t>(c)));
  return wire::Name::fromWire(std::move(bytes));
}

void lowercaseNames(ldns_rr* rr) {
  for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
    if (rdf && ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME) ldns_dname2canonical(rdf);
  }
}

std::optional<wire::Name> targetOf(const ldns_rr* rr) {
  const int field = targetField(ldns_rr_get_type(rr));
  if (field < 0 || static_cast<size_t>(field) >= ldns_rr_rd_count(rr)) return std::nullopt;
  const ldns_rdf* rdf = ldns_rr_rdf(rr, static_cast<size_t>(field));
  if (!rdf || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME) return std::nullopt;
  return nameOf(rdf);
}

// Each field written by ldns_rdf2buffer_wire, which never compresses.
base::Result<std::string> rdataWire(const ldns_rr* rr) {
  std::unique_ptr<ldns_buffer, decltype(&ldns_buffer_free)> buffer(ldns_buffer_new(256),
                                                                   &ldns_buffer_free);
  if (!buffer) return base::Error{"out of memory", ""};
  const ldns_status status = ldns_rr_rdata2buffer_wire(buffer.get(), rr);
  if (status != LDNS_STATUS_OK)
    return base::Error{std::string("bad rdata (ldns: ") + ldns_get_errorstr_by_id(status) + ")",
                       ""};
  const size_t size = ldns_buffer_position(buffer.get());
  if (size > 65535) return base::Error{"rdata longer than 65535 bytes", ""};
  return std::string(reinterpret_cast<const char*>(ldns_buffer_begin(buffer.get())), size);
}

// ldns joins a relative name to $ORIGIN without checking the sum, so a name it hands back
// can be longer than RFC 1035 §2.3.4 allows; nothing past here expects one.
std::optional<std::string> overlongName(const ldns_rr* rr) {
  auto tooLong = [](const ldns_rdf* rdf) { return ldns_rdf_size(rdf) > wire::kMaxNameLength; };
  if (tooLong(ldns_rr_owner(rr)))
    return "owner name longer than 255 bytes (RFC 1035 §2.3.4; check $ORIGIN)";
  for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
    if (rdf && ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME && tooLong(rdf))
      return "a name in the rdata is longer than 255 bytes (RFC 1035 §2.3.4; check $ORIGIN)";
  }
  return std::nullopt;
}

}  // namespace

base::Result<Rr> toRr(ldns_rr* rr) {
  if (auto problem = overlongName(rr)) return base::Error{std::move(*problem), ""};
  const uint16_t type = static_cast<uint16_t>(ldns_rr_get_type(rr));
  if (lowercasesNames(type)) lowercaseNames(rr);
  auto rdata = rdataWire(rr);
  if (!rdata) return rdata.error();
  return Rr{nameOf(ldns_rr_owner(rr)), type, ldns_rr_ttl(rr), std::move(*rdata), targetOf(rr)};
}

}  // namespace dnsd::zonefile
