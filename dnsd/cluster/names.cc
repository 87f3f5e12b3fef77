#include "dnsd/cluster/names.h"

#include <algorithm>

namespace dnsd::cluster {
namespace {

bool isLowerAlphanumeric(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9-], starting and ending with [a-z0-9], of any length.
bool isLabelText(std::string_view text) {
  if (text.empty()) return false;
  if (!isLowerAlphanumeric(text.front()) || !isLowerAlphanumeric(text.back())) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return isLowerAlphanumeric(c) || c == '-'; });
}

// 253 characters at most, of parts that each pass `part`, joined by dots.
template <typename Part>
bool isDotted(std::string_view text, Part part) {
  if (text.empty() || text.size() > 253) return false;
  for (size_t start = 0;;) {
    const size_t dot = text.find('.', start);
    if (!part(text.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

bool isDnsLabel(std::string_view text) { return text.size() <= 63 && isLabelText(text); }

bool isDnsSubdomain(std::string_view text) { return isDotted(text, isDnsLabel); }

bool isSubdomainName(std::string_view text) { return isDotted(text, isLabelText); }

}  // namespace dnsd::cluster
