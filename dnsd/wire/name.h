// Domain names: the lowercase wire form used as keys, text conversion, and the suffix hash
// the query parser and the zone share (one hash probe per name, docs/architecture.md, "The hot path").
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "dnsd/base/ip.h"
#include "dnsd/wire/dns.h"

namespace dnsd::wire {

// Hash of a name built label by label from the root, so every suffix of a query name is
// hashed in one right-to-left pass. `h` is the hash of the parent (kRootHash for the root).
inline constexpr uint64_t kRootHash = 0xcbf29ce484222325ULL;
// One 64x64->128 multiply, the halves folded (wyhash's "mum"): every input bit reaches the
// low bits the table indexes with and the high ones Node::hash_high keeps.
inline uint64_t hashMix(uint64_t x) noexcept {
  const unsigned __int128 r = static_cast<unsigned __int128>(x) * 0x9E3779B97F4A7C15ULL;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
// The label (length byte included, 1 to 64 bytes) eight bytes at a time; the last 1 to 7
// bytes in one word (two overlapping 4-byte reads, or three bytes). The length byte comes
// first, so the words of two labels of different lengths never line up.
inline uint64_t hashLabel(uint64_t h, const uint8_t* label_with_length) noexcept {
  const uint8_t* p = label_with_length;
  const size_t n = p[0] + 1u;
  auto load = [](const uint8_t* at, auto word) {
    __builtin_memcpy(&word, at, sizeof word);
    return static_cast<uint64_t>(word);
  };
  size_t i = 0;
  for (; i + 8 <= n; i += 8) h = hashMix(h ^ load(p + i, uint64_t{}));
  const size_t rest = n - i;
  if (rest >= 4)
    h = hashMix(h ^ (load(p + i, uint32_t{}) | load(p + n - 4, uint32_t{}) << 32));
  else if (rest > 0)
    h = hashMix(h ^ (uint64_t{p[i]} | uint64_t{p[i + rest / 2]} << 8 | uint64_t{p[n - 1]} << 16));
  return h;
}

inline uint8_t toLower(uint8_t c) noexcept { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// A name in lowercase uncompressed wire form, e.g. "\x03web\x07default\x03svc\x00".
// The hash of an uncompressed lowercase wire name (Name::hash(), QueryView's suffix hashes
// and the snapshot's table agree on it): hashLabel() over the labels from the root down.
uint64_t hashWire(const uint8_t* wire) noexcept;
// The size of such a name, its root byte included. Only for names already checked (ours, or
// parsed): it follows the length bytes without a bound.
inline size_t nameSize(const uint8_t* wire) noexcept {
  size_t size = 0;
  while (wire[size] != 0) size += wire[size] + 1u;
  return size + 1;
}
// Appends `labels` (the leftmost first, lowercased) and then the wire name `parent` to `out`:
// Name::child's bytes, for callers that keep many names in one string. False, with `out`
// unchanged, for an empty label, a label over 63 bytes or a name over 255. `parent` must not
// point into `out`.
bool appendChild(std::string& out, std::initializer_list<std::string_view> labels,
                 std::string_view parent);
// The label starts of such a name and the hash of the suffix at each (hashWire of
// wire + starts[k]), the root's last: every suffix's hash in one pass from the root.
// Returns the number of suffixes, the root included.
size_t suffixHashes(const uint8_t* wire, uint8_t (&starts)[kMaxLabels + 1],
                    uint64_t (&hashes)[kMaxLabels + 1]) noexcept;
// A wire name of `size` bytes at or below `apex` (equal included): a suffix on a label
// boundary.
bool isSubdomain(const uint8_t* name, size_t size, const uint8_t* apex, size_t apex_size) noexcept;

// The longest reverse name: 32 one-nibble labels, then ip6.arpa.
inline constexpr size_t kMaxReverseName = 32 * 2 + 10;
// The reverse name of an address (RFC 1035 §3.5, RFC 3596 §2.5) in lowercase wire form,
// written into `out`: one label per byte (IPv4) or nibble (IPv6), lowest first. Without a
// string per name: the reverse zones make one for every PTR.
std::string_view reverseWire(const base::IpAddress& ip, char (&out)[kMaxReverseName]) noexcept;

class Name {
 public:
  Name() : wire_(1, '\0') {}
  // "web.default.svc.cluster.local" (a trailing dot is allowed; "." or "" is the root).
  // Lowercased. nullopt for an empty label, a label over 63 bytes or a name over 255.
  static std::optional<Name> parse(std::string_view text);
  static Name fromWire(std::string wire_lowercase) { return Name(std::move(wire_lowercase)); }

  const std::string& wire() const { return wire_; }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(wire_.data()); }
  size_t size() const { return wire_.size(); }
  int labelCount() const;
  bool isRoot() const { return wire_.size() == 1; }
  // The name without its first label; the root stays the root.
  Name parent() const;
  // This name with `label` prepended; nullopt when too long or the label is invalid.
  std::optional<Name> child(std::string_view label) const { return child({label}); }
  // This name with `labels` prepended, the leftmost first: {"web", "prod"} under
  // svc.cluster.local is web.prod.svc.cluster.local. One allocation for all of them.
  std::optional<Name> child(std::initializer_list<std::string_view> labels) const;
  bool isSubdomainOf(const Name& apex) const;  // true when equal, too
  uint64_t hash() const;
  // Presentation form with a trailing dot; "." for the root.
  std::string text() const;

  bool operator==(const Name& o) const { return wire_ == o.wire_; }
  bool operator<(const Name& o) const { return wire_ < o.wire_; }

 private:
  explicit Name(std::string w) : wire_(std::move(w)) {}
  std::string wire_;
};

}  // namespace dnsd::wire
