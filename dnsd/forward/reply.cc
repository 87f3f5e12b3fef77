#include "dnsd/forward/reply.h"

#include <algorithm>
#include <cstring>

#include "dnsd/wire/name.h"

namespace dnsd::forward {
namespace {

using wire::load16;
using wire::store16;

// Skips a name; a compression pointer ends it and is not followed (only the extent matters).
bool skipName(const uint8_t* p, size_t size, size_t& pos) noexcept {
  for (size_t labels = 0; labels <= wire::kMaxLabels; ++labels) {
    if (pos >= size) return false;
    uint8_t len = p[pos];
    if (len == 0) {
      ++pos;
      return true;
    }
    if ((len & 0xC0) == 0xC0) {
      if (pos + 2 > size) return false;
      pos += 2;
      return true;
    }
    if (len > wire::kMaxLabelLength) return false;  // 0x40 / 0x80 label types
    pos += 1 + len;
  }
  return false;
}

enum class Section : uint8_t { Answer, Authority, Additional };

// Takes note of one RR whose fixed part starts at `rr` (type, class, TTL, rdlength).
void observe(Section section, const uint8_t* rr, const uint8_t* rdata, uint16_t rdlength,
             ReplyInfo& info) noexcept {
  uint16_t type = load16(rr);
  if (section == Section::Answer) {
    info.min_answer_ttl = std::min(info.min_answer_ttl, readTtl(rr + 4));
  } else if (section == Section::Authority && type == wire::type::SOA && !info.has_soa &&
             rdlength >= 22) {
    // RDATA: MNAME, RNAME (>= 1 byte each), then five 32-bit fields; MINIMUM is the last.
    info.has_soa = true;
    info.soa_ttl = readTtl(rr + 4);
    info.soa_minimum = readTtl(rdata + rdlength - 4);
  } else if (section == Section::Additional && type == wire::type::OPT) {
    info.extended_rcode = rr[4];
  }
}

bool walkSection(const uint8_t* p, size_t size, size_t& pos, uint16_t count, Section section,
                 ReplyInfo& info, std::vector<uint16_t>* ttl_offsets) noexcept {
  for (uint16_t i = 0; i < count; ++i) {
    if (!skipName(p, size, pos) || pos + 10 > size) return false;
    uint16_t rdlength = load16(p + pos + 8);
    if (pos + 10 + rdlength > size) return false;
    observe(section, p + pos, p + pos + 10, rdlength, info);
    if (ttl_offsets && load16(p + pos) != wire::type::OPT)
      ttl_offsets->push_back(static_cast<uint16_t>(pos + 4));
    pos += 10 + rdlength;
  }
  return true;
}

// A name at `pos` that stays inside msg[12, limit) however it is read: labels of at most 63
// bytes, at most 255 bytes in all, and compression pointers that each lead back, past the
// header, a bounded number of times. `end` is set past the name's bytes at `pos`.
bool nameInside(const uint8_t* msg, size_t limit, size_t pos, size_t& end) noexcept {
  bool jumped = false;
  size_t length = 0;
  for (size_t hops = 0;;) {
    if (pos >= limit) return false;
    const uint8_t len = msg[pos];
    if ((len & 0xC0) == 0xC0) {
      if (pos + 2 > limit) return false;
      const size_t target = static_cast<size_t>(len & 0x3F) << 8 | msg[pos + 1];
      if (!jumped) end = pos + 2;
      // Back, and not into the header, whose counts the cut rewrites.
      if (target >= pos || target < wire::kHeaderSize || ++hops > wire::kMaxLabels) return false;
      jumped = true;
      pos = target;
      continue;
    }
    if (len > wire::kMaxLabelLength) return false;
    length += len + 1u;
    if (length > wire::kMaxNameLength) return false;
    if (len == 0) {
      if (!jumped) end = pos + 1;
      return true;
    }
    pos += 1u + len;
  }
}

// Whether the answer RR at `pos` can be passed on in a reply cut right after it: an address
// or a CNAME whose names, read by their pointers, stay inside the bytes up to its end. Other types are not kept, since their rdata
// may hold names that point past the cut. `end` is set past the RR.
bool keepableAnswer(const uint8_t* msg, size_t limit, size_t pos, size_t& end) noexcept {
  size_t fixed = pos;
  if (!skipName(msg, limit, fixed) || fixed + 10 > limit) return false;
  const uint16_t type = load16(msg + fixed);
  const uint16_t rdlength = load16(msg + fixed + 8);
  const size_t rdata = fixed + 10;
  end = rdata + rdlength;
  if (end > limit) return false;
  // Every name is read within what is kept so far, this RR included.
  size_t name_end = 0;
  if (!nameInside(msg, end, pos, name_end)) return false;
  if (type == wire::type::A) return rdlength == 4;
  if (type == wire::type::AAAA) return rdlength == 16;
  return type == wire::type::CNAME && nameInside(msg, end, rdata, name_end) && name_end == end;
}

void appendOpt(std::vector<uint8_t>& out, bool do_bit) {
  // RFC 6891 §6.1.2: root owner, type OPT, class = our UDP size, TTL = ext-rcode, version,
  // DO (copied, RFC 3225 §3) and zero flags, no options.
  uint8_t opt[wire::kOptSize] = {0, 0, wire::type::OPT, 0, 0, 0, 0, 0, 0, 0, 0};
  store16(opt + 3, wire::kEdnsUdpSize);
  opt[7] = do_bit ? 0x80 : 0;
  out.insert(out.end(), opt, opt + sizeof opt);
  store16(out.data() + 10, 1);  // ARCOUNT
}

}  // namespace

bool walkReply(const uint8_t* p, size_t size, ReplyInfo& info,
               std::vector<uint16_t>* ttl_offsets) noexcept {
  info = ReplyInfo{};
  if (size < wire::kHeaderSize || size > wire::kMaxMessage) return false;
  if (!(p[2] & 0x80) || load16(p + 4) != 1) return false;  // a response, one question
  info.tc = p[2] & 0x02;
  info.rcode = p[3] & 0x0F;
  info.answer_count = load16(p + 6);
  size_t pos = wire::kHeaderSize;
  if (!skipName(p, size, pos) || pos + 4 > size) return false;
  info.question_end = pos + 4;
  pos += 4;
  return walkSection(p, size, pos, info.answer_count, Section::Answer, info, ttl_offsets) &&
         walkSection(p, size, pos, load16(p + 8), Section::Authority, info, ttl_offsets) &&
         walkSection(p, size, pos, load16(p + 10), Section::Additional, info, ttl_offsets);
}

bool sameQuestion(const uint8_t* reply, size_t reply_question_end, const uint8_t* query,
                  size_t query_question_end) noexcept {
  if (reply_question_end != query_question_end) return false;
  for (size_t i = wire::kHeaderSize; i < query_question_end; ++i)
    if (wire::toLower(reply[i]) != wire::toLower(query[i])) return false;
  return true;
}

void restoreClientQuestion(uint8_t* reply, const uint8_t* query, const QueryFacts& facts) noexcept {
  std::memcpy(reply, query, 2);  // ID
  std::memcpy(reply + wire::kHeaderSize, query + wire::kHeaderSize,
              facts.question_end - wire::kHeaderSize);
}

std::vector<uint8_t> shortReply(const uint8_t* query, const QueryFacts& facts, wire::Rcode rcode) {
  std::vector<uint8_t> out(query, query + facts.question_end);
  out[2] = static_cast<uint8_t>(0x80 | (query[2] & 0x79));  // QR, opcode, RD (AA, TC clear)
  out[3] = static_cast<uint8_t>(0x80 | (query[3] & 0x10) | static_cast<uint8_t>(rcode));
  store16(out.data() + 4, 1);  // RA above, CD copied; one question, no records
  store16(out.data() + 6, 0);
  store16(out.data() + 8, 0);
  store16(out.data() + 10, 0);
  if (facts.has_edns) appendOpt(out, facts.do_bit);
  return out;
}

void truncateReply(std::vector<uint8_t>& reply, const QueryFacts& facts, size_t limit) {
  // Whole answer RRs while they fit, as for our own answers (wire/writer.cc says why); the
  // authority and additional sections go. Only addresses and CNAMEs whose names stay inside
  // the kept bytes are kept: an upstream may point anywhere, and the cut must not leave a
  // pointer past the end.
  size_t opt = facts.has_edns ? wire::kOptSize : 0;
  size_t room = std::min(reply.size(), limit > opt ? limit - opt : 0);
  size_t keep = facts.question_end;
  uint16_t answers = 0;
  for (uint16_t i = 0, n = load16(reply.data() + 6); i < n; ++i) {
    size_t end = 0;
    if (!keepableAnswer(reply.data(), room, keep, end)) break;
    keep = end;
    ++answers;
  }
  reply.resize(keep);
  reply[2] |= 0x02;  // TC
  store16(reply.data() + 6, answers);
  store16(reply.data() + 8, 0);
  store16(reply.data() + 10, 0);
  if (facts.has_edns) appendOpt(reply, facts.do_bit);
}

void ageTtls(uint8_t* reply, const std::vector<uint16_t>& ttl_offsets, uint32_t elapsed,
             uint32_t lifetime) noexcept {
  for (uint16_t offset : ttl_offsets) {
    uint32_t ttl = std::min(readTtl(reply + offset), lifetime);
    wire::store32(reply + offset, ttl > elapsed ? ttl - elapsed : 0);
  }
}

bool acceptReply(const uint8_t* reply, size_t size, const uint8_t* query, const QueryFacts& facts,
                 ReplyInfo& info, std::vector<uint16_t>* ttl_offsets) noexcept {
  return reply && walkReply(reply, size, info, ttl_offsets) &&
         sameQuestion(reply, info.question_end, query, facts.question_end);
}

bool fitForClient(std::vector<uint8_t>& reply, const uint8_t* query, const QueryFacts& facts,
                  bool tcp, size_t udp_limit) {
  restoreClientQuestion(reply.data(), query, facts);
  if (tcp || reply.size() <= udp_limit) return false;
  truncateReply(reply, facts, udp_limit);
  return true;
}

}  // namespace dnsd::forward
