#include "dnsd/manifest/field.h"

#include <cctype>
#include <charconv>

namespace dnsd::manifest {

namespace {

// Messages quote values; a hostile manifest must not turn one error into megabytes of log.
constexpr size_t kMaxQuoted = 64;

std::string join(std::string_view a, std::string_view b, std::string_view separator) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  std::string out(a);
  out += separator;
  out += b;
  return out;
}

// YAML spells a boolean `true`, `True` or `TRUE`, never `tRUE`.
bool spells(std::string_view text, std::string_view word) {
  if (text.size() != word.size()) return false;
  std::string capital(word);
  capital[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(capital[0])));
  std::string upper(word);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text == word || text == capital || text == upper;
}

// The core schema's booleans plus YAML 1.1's yes/no/on/off, which kubectl (go-yaml v2) reads
// as booleans too.
std::optional<bool> parseBool(std::string_view text) {
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

Field::Field(const Tree& tree, uint32_t node, int line, const std::string* object)
    : tree_(&tree), node_(node), line_(line), object_(object) {}

Field Field::child(Step step, uint32_t node, int line) const {
  Field out = *this;
  out.node_ = node;
  out.line_ = line;
  if (depth_ < kMaxSteps) {
    out.steps_[out.depth_++] = step;
  } else {
    out.deeper_ = true;
  }
  return out;
}

// "spec.ports[0].port"
std::string Field::path() const {
  std::string out;
  for (uint8_t i = 0; i < depth_; ++i) {
    const Step& step = steps_[i];
    if (step.key) {
      if (!out.empty()) out += '.';
      out.append(step.key, step.size);
    } else {
      out += "[" + std::to_string(step.size) + "]";
    }
  }
  if (deeper_) out += "...";
  return out;
}

int Field::lineOf(uint32_t index, int fallback) const {
  const Node& n = tree_->node(index);
  if (n.kind == Node::Kind::Null || n.line == 0) return fallback;
  return static_cast<int>(n.line);
}

bool Field::present() const { return node() && node()->kind != Node::Kind::Null; }

Field Field::operator[](std::string_view key) const {
  const Step step{key.data(), static_cast<uint32_t>(key.size())};
  if (!present()) return child(step, Tree::kAbsent, line_);
  if (!is(Node::Kind::Map)) fail("not a map (found " + describe() + ")");
  const Node& map = *node();
  const uint32_t* entries = tree_->childrenOf(map);
  for (uint32_t i = 0; i + 1 < map.size; i += 2) {
    const Node& name = tree_->node(entries[i]);
    if (name.kind == Node::Kind::Scalar && tree_->scalar(name) == key) {
      const int line = lineOf(entries[i + 1], lineOf(entries[i], line_));
      return child(step, entries[i + 1], line);
    }
  }
  return child(step, Tree::kAbsent, line_);
}

std::vector<Field> Field::list() const {
  std::vector<Field> out;
  if (!present()) return out;
  if (!is(Node::Kind::Sequence)) fail("not a list (found " + describe() + ")");
  const Node& list = *node();
  const uint32_t* items = tree_->childrenOf(list);
  out.reserve(list.size);
  for (uint32_t i = 0; i < list.size; ++i) {
    out.push_back(child(Step{nullptr, i}, items[i], lineOf(items[i], line_)));
  }
  return out;
}

std::string Field::text() const {
  if (!present()) return "";
  if (!is(Node::Kind::Scalar)) fail("not a string (found " + describe() + ")");
  return std::string(scalar());
}

std::string Field::name() const { return lowercase(text()); }

std::optional<bool> Field::boolean() const {
  if (!present()) return std::nullopt;
  if (!is(Node::Kind::Scalar)) fail("not true or false (found " + describe() + ")");
  // A quoted "true" is a string to Kubernetes too: the API server rejects it.
  std::optional<bool> value;
  if (!node()->quoted) value = parseBool(scalar());
  if (!value) fail(quoted() + " is not true or false");
  return value;
}

int Field::integer(int min, int max, std::string_view what) const {
  if (!present()) fail("missing");
  if (!is(Node::Kind::Scalar)) fail("not " + std::string(what) + " (found " + describe() + ")");
  const std::string_view text = scalar();
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
  if (!is(Node::Kind::Map)) fail("not a map (found " + describe() + ")");
  const Node& map = *node();
  const uint32_t* entries = tree_->childrenOf(map);
  for (uint32_t i = 0; i + 1 < map.size; i += 2) {
    const int key_line = lineOf(entries[i], line_);
    Field key = *this;
    key.node_ = entries[i];
    key.line_ = key_line;
    if (!key.is(Node::Kind::Scalar)) key.fail("not a string key (found " + key.describe() + ")");
    const std::string_view name = key.scalar();
    const Field value = child(Step{name.data(), static_cast<uint32_t>(name.size())},
                              entries[i + 1], lineOf(entries[i + 1], key_line));
    out.emplace(std::string(name), value.text());
  }
  return out;
}

void Field::fail(std::string_view what) const {
  throw ManifestError(join(join(*object_, path(), ": "), what, ": "), line_);
}

std::string Field::describe() const {
  switch (node() ? node()->kind : Node::Kind::Null) {
    case Node::Kind::Map:
      return "a map";
    case Node::Kind::Sequence:
      return "a list";
    case Node::Kind::Scalar:
      return quoted();
    case Node::Kind::Null:
      break;
  }
  return "nothing";
}

std::string Field::quoted() const {
  std::string text = is(Node::Kind::Scalar) ? std::string(scalar()) : "";
  const bool cut = text.size() > kMaxQuoted;
  if (cut) text.resize(kMaxQuoted);
  // Control characters would garble a log line.
  for (char& c : text) {
    if (std::iscntrl(static_cast<unsigned char>(c))) c = '?';
  }
  return "\"" + text + (cut ? "...\"" : "\"");
}

}  // namespace dnsd::manifest
