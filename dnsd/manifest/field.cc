#include "dnsd/manifest/field.h"

#include <cctype>
#include <charconv>

namespace dnsd::manifest {

namespace {

// Messages quote values; a hostile manifest must not turn one error into megabytes of log.
constexpr size_t kMaxQuoted = 64;

// 1-based line of `node`, or `fallback`. yaml-cpp places an implicit null (`key:`) at the
// start of the next token, often the next line, so nulls take their key's line instead.
int lineOf(const YAML::Node& node, int fallback) {
  if (!node.IsDefined() || node.IsNull() || node.Mark().is_null()) return fallback;
  return node.Mark().line + 1;
}

std::string join(std::string_view a, std::string_view b, std::string_view separator) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  std::string out(a);
  out += separator;
  out += b;
  return out;
}

// YAML spells a boolean `true`, `True` or `TRUE`, never `tRUE`.
bool spells(const std::string& text, std::string_view word) {
  if (text.size() != word.size()) return false;
  std::string capital(word);
  capital[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(capital[0])));
  std::string upper(word);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text == word || text == capital || text == upper;
}

// The core schema's booleans plus YAML 1.1's yes/no/on/off, which kubectl (go-yaml v2) reads
// as booleans too.
std::optional<bool> parseBool(const std::string& text) {
  for (std::string_view word : {"true", "yes", "on", "y"}) {
    if (spells(text, word)) return true;
  }
  for (std::string_view word : {"false", "no", "off", "n"}) {
    if (spells(text, word)) return false;
  }
  return std::nullopt;
}

}  // namespace

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

Field::Field(YAML::Node node, std::string path, int line, const std::string* object)
    : node_(std::move(node)), path_(std::move(path)), line_(line), object_(object) {}

bool Field::present() const { return node_.IsDefined() && !node_.IsNull(); }

Field Field::operator[](std::string_view key) const {
  const std::string path = join(path_, key, ".");
  if (!present()) return Field(YAML::Node(YAML::NodeType::Undefined), path, line_, object_);
  if (!node_.IsMap()) fail("not a map (found " + describe() + ")");
  // Iterating rather than node_[key]: it gives the key's line, and never inserts.
  for (const auto& entry : node_) {
    if (entry.first.IsScalar() && entry.first.Scalar() == key) {
      return Field(entry.second, path, lineOf(entry.second, lineOf(entry.first, line_)), object_);
    }
  }
  return Field(YAML::Node(YAML::NodeType::Undefined), path, line_, object_);
}

std::vector<Field> Field::list() const {
  std::vector<Field> out;
  if (!present()) return out;
  if (!node_.IsSequence()) fail("not a list (found " + describe() + ")");
  out.reserve(node_.size());
  for (const YAML::Node& item : node_) {
    const std::string path = path_ + "[" + std::to_string(out.size()) + "]";
    out.emplace_back(item, path, lineOf(item, line_), object_);
  }
  return out;
}

std::string Field::text() const {
  if (!present()) return "";
  if (!node_.IsScalar()) fail("not a string (found " + describe() + ")");
  return node_.Scalar();
}

std::string Field::name() const { return lowercase(text()); }

std::optional<bool> Field::boolean() const {
  if (!present()) return std::nullopt;
  if (!node_.IsScalar()) fail("not true or false (found " + describe() + ")");
  // A quoted "true" is a string to Kubernetes too: the API server rejects it.
  std::optional<bool> value;
  if (node_.Tag() != "!") value = parseBool(node_.Scalar());
  if (!value) fail(quoted() + " is not true or false");
  return value;
}

int Field::integer(int min, int max, std::string_view what) const {
  if (!present()) fail("missing");
  if (!node_.IsScalar()) fail("not " + std::string(what) + " (found " + describe() + ")");
  const std::string& text = node_.Scalar();
  const char* end = text.data() + text.size();
  int value = 0;
  // from_chars takes no sign, spaces or fraction, and reports overflow: exactly the check.
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  const bool digits = !text.empty() && std::isdigit(static_cast<unsigned char>(text[0]));
  if (!digits || error != std::errc() || ptr != end || value < min || value > max) {
    fail(quoted() + " is not " + std::string(what));
  }
  return value;
}

base::IpAddress Field::ip() const {
  if (!present()) fail("missing");
  const std::optional<base::IpAddress> ip = base::IpAddress::parse(text());
  if (!ip) fail(quoted() + " is not an IP address");
  return *ip;
}

cluster::Labels Field::stringMap() const {
  cluster::Labels out;
  if (!present()) return out;
  if (!node_.IsMap()) fail("not a map (found " + describe() + ")");
  for (const auto& entry : node_) {
    const int key_line = lineOf(entry.first, line_);
    if (!entry.first.IsScalar()) {
      const Field key(entry.first, path_, key_line, object_);
      key.fail("not a string key (found " + key.describe() + ")");
    }
    const std::string& key = entry.first.Scalar();
    const Field value(entry.second, join(path_, key, "."), lineOf(entry.second, key_line), object_);
    out.emplace(key, value.text());
  }
  return out;
}

void Field::fail(std::string_view what) const {
  throw ManifestError(join(join(*object_, path_, ": "), what, ": "), line_);
}

std::string Field::describe() const {
  switch (node_.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quoted();
    default:
      return "nothing";
  }
}

std::string Field::quoted() const {
  std::string text = node_.IsScalar() ? node_.Scalar() : "";
  const bool cut = text.size() > kMaxQuoted;
  if (cut) text.resize(kMaxQuoted);
  // Control characters would garble a log line.
  for (char& c : text) {
    if (std::iscntrl(static_cast<unsigned char>(c))) c = '?';
  }
  return "\"" + text + (cut ? "...\"" : "\"");
}

}  // namespace dnsd::manifest
