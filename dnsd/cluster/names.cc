#include "dnsd/cluster/names.h"

#include <algorithm>

namespace dnsd::cluster {
namespace {

bool isLowerAlphanumeric(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

bool isDnsLabel(std::string_view text) {
  if (text.empty() || text.size() > 63) return false;
  if (!isLowerAlphanumeric(text.front()) || !isLowerAlphanumeric(text.back())) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return isLowerAlphanumeric(c) || c == '-'; });
}

bool isDnsSubdomain(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  for (size_t start = 0;;) {
    const size_t dot = text.find('.', start);
    if (!isDnsLabel(text.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace dnsd::cluster
