#include "dnsd/zone/presentation.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <tuple>

#include "dnsd/wire/dns.h"

namespace dnsd::zone {
namespace {

const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

std::string typeName(uint16_t type) {
  switch (type) {
    case wire::type::A: return "A";
    case wire::type::NS: return "NS";
    case wire::type::CNAME: return "CNAME";
    case wire::type::SOA: return "SOA";
    case wire::type::PTR: return "PTR";
    case wire::type::MX: return "MX";
    case wire::type::TXT: return "TXT";
    case wire::type::AAAA: return "AAAA";
    case wire::type::SRV: return "SRV";
    default: return "TYPE" + std::to_string(type);
  }
}

// A name at `at` in the rdata; advances `at`.
std::string nameAt(const std::string& rdata, size_t& at) {
  size_t start = at;
  while (at < rdata.size() && rdata[at] != 0) at += static_cast<uint8_t>(rdata[at]) + 1u;
  ++at;
  if (at > rdata.size()) return "?";
  return wire::Name::fromWire(rdata.substr(start, at - start)).text();
}

std::string generic(const std::string& rdata) {
  std::string out = "\\# " + std::to_string(rdata.size()) + " ";
  char hex[3];
  for (unsigned char c : rdata) {
    snprintf(hex, sizeof hex, "%02x", c);
    out += hex;
  }
  return out;
}

std::string txt(const std::string& rdata) {
  std::string out;
  for (size_t at = 0; at < rdata.size();) {
    size_t n = static_cast<uint8_t>(rdata[at]);
    std::string s = rdata.substr(at + 1, n);
    at += n + 1;
    out += (out.empty() ? "\"" : " \"");
    for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    out += "\"";
  }
  return out;
}

std::string rdataText(uint16_t type, const std::string& r) {
  size_t at = 0;
  switch (type) {
    case wire::type::A:
    case wire::type::AAAA: {
      base::IpAddress ip;
      ip.v6 = r.size() == 16;
      if (r.size() != ip.size()) return generic(r);
      std::memcpy(ip.bytes.data(), r.data(), ip.size());
      return ip.str();
    }
    case wire::type::NS:
    case wire::type::CNAME:
    case wire::type::PTR: return nameAt(r, at);
    case wire::type::TXT: return txt(r);
    case wire::type::MX:
      if (r.size() < 3) return generic(r);
      at = 2;
      return std::to_string(wire::load16(bytes(r))) + " " + nameAt(r, at);
    case wire::type::SRV:
      if (r.size() < 7) return generic(r);
      at = 6;
      return std::to_string(wire::load16(bytes(r))) + " " + std::to_string(wire::load16(bytes(r) + 2)) +
             " " + std::to_string(wire::load16(bytes(r) + 4)) + " " + nameAt(r, at);
    case wire::type::SOA: {
      std::string mname = nameAt(r, at), rname = nameAt(r, at);
      if (at + 20 != r.size()) return generic(r);
      std::string out = mname + " " + rname;
      for (int i = 0; i < 5; ++i) out += " " + std::to_string(wire::load32(bytes(r) + at + 4 * i));
      return out;
    }
    default: return generic(r);
  }
}

// RFC 4034 §6.1 canonical order: labels compared from the right.
std::vector<std::string> reversedLabels(const wire::Name& name) {
  std::vector<std::string> labels;
  const std::string& w = name.wire();
  for (size_t i = 0; w[i] != 0; i += static_cast<uint8_t>(w[i]) + 1u)
    labels.push_back(w.substr(i + 1, static_cast<uint8_t>(w[i])));
  std::reverse(labels.begin(), labels.end());
  return labels;
}

}  // namespace

std::string recordText(const Record& r) {
  return r.owner.text() + " " + std::to_string(r.ttl) + " IN " + typeName(r.type) + " " +
         rdataText(r.type, r.rdata);
}

std::string zonesText(const std::vector<ZoneContent>& zones) {
  std::string out;
  for (const auto& zone : zones) {
    std::vector<std::tuple<std::vector<std::string>, uint16_t, std::string>> lines;
    for (size_t i = 0; i < zone.records.size(); ++i) {
      const Record r = zone.records.record(i);
      lines.emplace_back(reversedLabels(r.owner), r.type, recordText(r));
    }
    std::sort(lines.begin(), lines.end());
    lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
    out += "; zone " + zone.apex.text() + "\n";
    for (const auto& line : lines) out += std::get<2>(line) + "\n";
  }
  return out;
}

}  // namespace dnsd::zone
