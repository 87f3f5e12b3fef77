#include "dnsd/wire/name.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include "dnsd/wire/dns.h"

namespace dnsd::wire {

std::optional<Name> Name::parse(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  std::string wire;
  while (!text.empty()) {
    size_t dot = text.find('.');
    std::string_view label = text.substr(0, dot);
    if (label.empty() || label.size() > kMaxLabelLength) return std::nullopt;
    wire.push_back(static_cast<char>(label.size()));
    for (char c : label) wire.push_back(static_cast<char>(toLower(static_cast<uint8_t>(c))));
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
    if (text.empty()) return std::nullopt;  // "a..": an empty label
  }
  wire.push_back('\0');
  if (wire.size() > kMaxNameLength) return std::nullopt;
  return Name(std::move(wire));
}

int Name::labelCount() const {
  int n = 0;
  for (size_t i = 0; wire_[i] != 0; i += static_cast<uint8_t>(wire_[i]) + 1u) ++n;
  return n;
}

Name Name::parent() const {
  if (isRoot()) return *this;
  return Name(wire_.substr(static_cast<uint8_t>(wire_[0]) + 1u));
}

bool appendChild(std::string& out, std::initializer_list<std::string_view> labels,
                 std::string_view parent) {
  size_t size = parent.size();
  for (std::string_view label : labels) {
    if (label.empty() || label.size() > kMaxLabelLength) return false;
    size += label.size() + 1;
  }
  if (size > kMaxNameLength) return false;
  // Written through a pointer: push_back's capacity check per byte was most of the cost of
  // the names a large load makes here.
  const size_t start = out.size();
  out.resize(start + size);
  char* to = out.data() + start;
  for (std::string_view label : labels) {
    *to++ = static_cast<char>(label.size());
    for (char c : label) *to++ = static_cast<char>(toLower(static_cast<uint8_t>(c)));
  }
  std::memcpy(to, parent.data(), parent.size());
  return true;
}

std::optional<Name> Name::child(std::initializer_list<std::string_view> labels) const {
  std::string w;
  if (!appendChild(w, labels, wire_)) return std::nullopt;
  return Name(std::move(w));
}

bool isSubdomain(const uint8_t* name, size_t size, const uint8_t* apex,
                 size_t apex_size) noexcept {
  if (apex_size > size) return false;
  const size_t start = size - apex_size;
  if (std::memcmp(name + start, apex, apex_size) != 0) return false;
  size_t at = 0;
  while (at < start) at += name[at] + 1u;
  return at == start;
}

bool Name::isSubdomainOf(const Name& apex) const {
  return isSubdomain(data(), size(), apex.data(), apex.size());
}

size_t suffixHashes(const uint8_t* wire, uint8_t (&starts)[kMaxLabels + 1],
                    uint64_t (&hashes)[kMaxLabels + 1]) noexcept {
  // A valid name has at most 127 labels (255 bytes): their starts fit in one byte each.
  size_t n = 0;
  size_t at = 0;
  for (; wire[at] != 0 && n < kMaxLabels; at += wire[at] + 1u) starts[n++] = static_cast<uint8_t>(at);
  starts[n] = static_cast<uint8_t>(at);
  uint64_t h = hashes[n] = kRootHash;
  for (size_t k = n; k-- > 0;) hashes[k] = h = hashLabel(h, wire + starts[k]);
  return n + 1;
}

uint64_t hashWire(const uint8_t* wire) noexcept {
  uint8_t starts[kMaxLabels + 1];
  uint64_t hashes[kMaxLabels + 1];
  suffixHashes(wire, starts, hashes);
  return hashes[0];
}

uint64_t Name::hash() const { return hashWire(data()); }

std::string Name::text() const {
  if (isRoot()) return ".";
  std::string out;
  for (size_t i = 0; wire_[i] != 0;) {
    size_t n = static_cast<uint8_t>(wire_[i]);
    for (size_t j = 1; j <= n; ++j) {
      unsigned char c = static_cast<unsigned char>(wire_[i + j]);
      if (c == '.' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c <= ' ' || c >= 0x7f) {
        char buf[5];
        snprintf(buf, sizeof buf, "\\%03u", c);
        out += buf;
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    out.push_back('.');
    i += n + 1;
  }
  return out;
}

std::string_view reverseWire(const base::IpAddress& ip, char (&out)[kMaxReverseName]) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr std::string_view kV4 = "\7in-addr\4arpa";
  static constexpr std::string_view kV6 = "\3ip6\4arpa";
  char* at = out;
  for (int i = static_cast<int>(ip.size()) - 1; i >= 0; --i) {
    const uint8_t byte = ip.bytes[i];
    if (ip.v6) {
      *at++ = '\1';
      *at++ = kHex[byte & 0xF];
      *at++ = '\1';
      *at++ = kHex[byte >> 4];
    } else {
      const size_t n = byte >= 100 ? 3 : byte >= 10 ? 2 : 1;
      *at++ = static_cast<char>(n);
      for (size_t d = n, v = byte; d-- > 0; v /= 10) at[d] = static_cast<char>('0' + v % 10);
      at += n;
    }
  }
  const std::string_view suffix = ip.v6 ? kV6 : kV4;
  std::memcpy(at, suffix.data(), suffix.size());
  at += suffix.size();
  *at++ = '\0';
  return {out, static_cast<size_t>(at - out)};
}

}  // namespace dnsd::wire
