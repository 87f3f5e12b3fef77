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

}  // namespace dnsd::cluster
