#include "dnsd/zonefile/rr_reader.h"

#include <cctype>
#include <cstdio>
#include <memory>
#include <optional>

#include "dnsd/wire/dns.h"
#include "dnsd/zonefile/ldns.h"
#include "dnsd/zonefile/rr_convert.h"

namespace dnsd::zonefile {
namespace {

// ldns writes the default TTL it is given into an RR written without one; this value (not
// a TTL anyone writes, RFC 2181 §8 caps TTLs at 2^31 - 1) tells us the TTL was left out.
constexpr uint32_t kNoTtl = 0xFFFFFFFF;

struct RrFree {
  void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
using RrPtr = std::unique_ptr<ldns_rr, RrFree>;

// The offset of the next character that is neither blank nor in a comment.
size_t nextToken(std::string_view text, size_t pos) {
  while (pos < text.size()) {
    if (text[pos] == ';') {
      pos = text.find('\n', pos);
      if (pos == std::string_view::npos) return text.size();
    } else if (std::isspace(static_cast<unsigned char>(text[pos]))) {
      ++pos;
    } else {
      return pos;
    }
  }
  return text.size();
}

// The TTL of an RR written without one.
class TtlDefaults {
 public:
  void setDollarTtl(uint32_t ttl) { dollar_ttl_ = ttl; }

  std::optional<uint32_t> resolve(const ldns_rr* rr) {
    const uint32_t ttl = ldns_rr_ttl(rr);
    if (ttl != kNoTtl) {
      last_explicit_ = ttl;
      return ttl;
    }
    if (dollar_ttl_) return dollar_ttl_;        // RFC 2308 §4
    if (last_explicit_) return last_explicit_;  // RFC 1035 §5.1
    // BIND: an SOA without a TTL takes its MINIMUM field.
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7)
      return ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
    return std::nullopt;
  }

 private:
  std::optional<uint32_t> dollar_ttl_;
  std::optional<uint32_t> last_explicit_;
};

// Drives ldns_rr_new_frm_fp_l over an in-memory copy of the text, so the offset where each
// call stopped (ftell) maps back to a line of the text.
class Reader {
 public:
  Reader(std::string_view text, const std::string& file) : text_(text), file_(file) {}
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader() {
    if (fp_) fclose(fp_);
    if (origin_) ldns_rdf_deep_free(origin_);
    if (prev_) ldns_rdf_deep_free(prev_);
  }

  base::Status open(const std::string& origin);
  base::Result<std::vector<SourceRr>> readAll();

 private:
  base::Status readOne(int line, std::vector<SourceRr>& out);
  base::Status accept(RrPtr rr, int line, std::vector<SourceRr>& out);
  int lineAt(size_t pos);
  base::Error errorAt(int line, std::string message) const {
    return base::Error{std::move(message), file_ + ":" + std::to_string(line)};
  }

  std::string text_;
  std::string file_;
  FILE* fp_ = nullptr;
  ldns_rdf* origin_ = nullptr;  // $ORIGIN, owned; ldns replaces it on a $ORIGIN line
  ldns_rdf* prev_ = nullptr;    // the last owner written, for lines that leave it out
  TtlDefaults ttl_;
  size_t offset_ = 0;     // where ldns stopped
  size_t counted_ = 0;    // lines are counted up to here
  int counted_line_ = 1;  // the line `counted_` is on
};

base::Status Reader::open(const std::string& origin) {
  if (!origin.empty()) {
    origin_ = ldns_dname_new_frm_str(origin.c_str());
    if (!origin_) return base::Error{"origin '" + origin + "' is not a domain name", file_};
    prev_ = ldns_rdf_clone(origin_);
  }
  if (text_.empty()) return base::Ok{};  // fmemopen refuses an empty buffer
  fp_ = fmemopen(text_.data(), text_.size(), "r");
  if (!fp_) return base::Error{"cannot read zone file (fmemopen failed)", file_};
  return base::Ok{};
}

// Offsets only grow, so lines are counted once.
int Reader::lineAt(size_t pos) {
  for (; counted_ < pos && counted_ < text_.size(); ++counted_)
    if (text_[counted_] == '\n') ++counted_line_;
  return counted_line_;
}

base::Result<std::vector<SourceRr>> Reader::readAll() {
  std::vector<SourceRr> out;
  for (size_t start = nextToken(text_, offset_); start < text_.size();
       start = nextToken(text_, offset_)) {
    const base::Status status = readOne(lineAt(start), out);
    if (!status) return status.error();
  }
  return out;
}

// One ldns call: an RR, a directive ($TTL, $ORIGIN, $INCLUDE), or an error.
base::Status Reader::readOne(int line, std::vector<SourceRr>& out) {
  ldns_rr* raw = nullptr;
  uint32_t ttl = kNoTtl;
  int ldns_line = line;
  const ldns_status status = ldns_rr_new_frm_fp_l(&raw, fp_, &ttl, &origin_, &prev_, &ldns_line);
  RrPtr rr(raw);
  const long stopped = ftell(fp_);
  if (stopped < 0 || static_cast<size_t>(stopped) <= offset_)
    return errorAt(line, "syntax error (ldns read nothing)");
  offset_ = static_cast<size_t>(stopped);
  switch (status) {
    case LDNS_STATUS_OK:
      return accept(std::move(rr), line, out);
    case LDNS_STATUS_SYNTAX_TTL:
      ttl_.setDollarTtl(ttl);  // ldns wrote the $TTL value into `ttl`
      return base::Ok{};
    case LDNS_STATUS_SYNTAX_ORIGIN:  // ldns replaced origin_
    case LDNS_STATUS_SYNTAX_EMPTY:
      return base::Ok{};
    case LDNS_STATUS_SYNTAX_INCLUDE:
      return errorAt(line, "$INCLUDE is not supported (put the records in this file)");
    default:
      return errorAt(line,
                     std::string("syntax error (ldns: ") + ldns_get_errorstr_by_id(status) + ")");
  }
}

base::Status Reader::accept(RrPtr rr, int line, std::vector<SourceRr>& out) {
  // Without an origin, relative names after the SOA are relative to its owner, as in
  // ldns_zone_new_frm_fp_l.
  if (!origin_ && ldns_rr_get_type(rr.get()) == LDNS_RR_TYPE_SOA)
    origin_ = ldns_rdf_clone(ldns_rr_owner(rr.get()));
  const std::optional<uint32_t> ttl = ttl_.resolve(rr.get());
  if (!ttl) return errorAt(line, "no TTL (add a $TTL line or a TTL to the first record)");
  ldns_rr_set_ttl(rr.get(), *ttl);
  auto converted = toRr(rr.get());
  if (!converted) return errorAt(line, converted.error().message);
  const auto rr_class = static_cast<uint16_t>(ldns_rr_get_class(rr.get()));
  out.push_back(SourceRr{std::move(*converted), rr_class, line});
  return base::Ok{};
}

}  // namespace

base::Result<std::vector<SourceRr>> readRecords(std::string_view text, const std::string& file,
                                                const std::string& origin) {
  Reader reader(text, file);
  const base::Status opened = reader.open(origin);
  if (!opened) return opened.error();
  return reader.readAll();
}

}  // namespace dnsd::zonefile
