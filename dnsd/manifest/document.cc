#include "dnsd/manifest/document.h"

#include <simdjson.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <sstream>

namespace dnsd::manifest {

namespace {

// Builds a Tree from yaml-cpp's parse events. A container's node is added to its parent when
// it opens, so nodes keep document order; its children collect on a stack and move into
// Tree::children, contiguous, when it closes.
class TreeBuilder : public YAML::EventHandler {
 public:
  explicit TreeBuilder(Tree& tree) : tree_(tree) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    start_ = mark;
    anchors_.clear();
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    add(Node{.kind = Node::Kind::Null, .line = line(mark)}, anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (anchor >= anchors_.size() || anchors_[anchor] == Tree::kAbsent)
      throw YAML::ParserException(mark, "the alias names no anchor");
    attach(anchors_[anchor]);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    const auto begin = static_cast<uint32_t>(tree_.text.size());
    tree_.text += value;
    add(Node{.kind = Node::Kind::Scalar,
             .quoted = tag == "!",
             .line = line(mark),
             .begin = begin,
             .size = static_cast<uint32_t>(value.size())},
        anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(Node{.kind = Node::Kind::Sequence, .line = line(mark)}, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(Node{.kind = Node::Kind::Map, .line = line(mark)}, anchor);
  }
  void OnMapEnd() override { close(); }

  const YAML::Mark& documentStart() const { return start_; }

 private:
  static uint32_t line(const YAML::Mark& mark) {
    return mark.is_null() ? 0 : static_cast<uint32_t>(mark.line + 1);
  }

  uint32_t add(const Node& node, YAML::anchor_t anchor) {
    const auto index = static_cast<uint32_t>(tree_.nodes.size());
    tree_.nodes.push_back(node);
    if (anchor != YAML::NullAnchor) {
      if (anchor >= anchors_.size()) anchors_.resize(anchor + 1, Tree::kAbsent);
      anchors_[anchor] = index;
    }
    attach(index);
    return index;
  }

  void attach(uint32_t index) {
    if (open_.empty()) {
      tree_.documents.push_back(index);
    } else {
      pending_.push_back(index);
    }
  }

  void open(const Node& node, YAML::anchor_t anchor) {
    const uint32_t index = add(node, anchor);
    open_.push_back({index, pending_.size()});
  }

  void close() {
    const Open top = open_.back();
    open_.pop_back();
    Node& node = tree_.nodes[top.node];
    node.begin = static_cast<uint32_t>(tree_.children.size());
    node.size = static_cast<uint32_t>(pending_.size() - top.first_child);
    tree_.children.insert(tree_.children.end(), pending_.begin() + top.first_child,
                          pending_.end());
    pending_.resize(top.first_child);
  }

  struct Open {
    uint32_t node;
    size_t first_child;  // its children are pending_[first_child, end)
  };

  Tree& tree_;
  std::vector<Open> open_;
  std::vector<uint32_t> pending_;
  std::vector<uint32_t> anchors_;  // by yaml-cpp's anchor number, within one document
  YAML::Mark start_;
};

// Builds a Tree from simdjson's on-demand parser, which reads values in document order;
// lines come from counting newlines up to each value, once over the text in all.
class JsonReader {
 public:
  explicit JsonReader(Tree& tree, const char* text) : tree_(tree), cursor_(text), start_(text) {}

  uint32_t value(simdjson::ondemand::value value) {
    // Kubernetes objects nest a dozen levels; deeper is left to the YAML reader, which
    // refuses it with a line (simdjson's on-demand parser does not bound depth itself).
    if (++depth_ > kMaxDepth) throw simdjson::simdjson_error(simdjson::DEPTH_ERROR);
    struct Leave {
      int& depth;
      ~Leave() { --depth; }
    } leave{depth_};
    const uint32_t at = line(value.current_location().value());
    switch (value.type().value()) {
      case simdjson::ondemand::json_type::object: {
        const uint32_t index = push(Node{.kind = Node::Kind::Map, .line = at});
        const size_t first = pending_.size();
        for (simdjson::ondemand::field field : value.get_object()) {
          const char* key_at = field.key().raw();
          const uint32_t key = scalar(field.unescaped_key().value(), true, line(key_at));
          pending_.push_back(key);
          const uint32_t member = this->value(field.value());
          pending_.push_back(member);
        }
        return close(index, first);
      }
      case simdjson::ondemand::json_type::array: {
        const uint32_t index = push(Node{.kind = Node::Kind::Sequence, .line = at});
        const size_t first = pending_.size();
        for (simdjson::ondemand::value item : value.get_array()) {
          const uint32_t member = this->value(item);
          pending_.push_back(member);
        }
        return close(index, first);
      }
      case simdjson::ondemand::json_type::string:
        return scalar(value.get_string().value(), true, at);
      case simdjson::ondemand::json_type::boolean:
        return scalar(value.get_bool().value() ? "true" : "false", false, at);
      case simdjson::ondemand::json_type::null:
        if (!value.is_null()) throw simdjson::simdjson_error(simdjson::INCORRECT_TYPE);
        return push(Node{.kind = Node::Kind::Null, .line = at});
      case simdjson::ondemand::json_type::number: {
        // As written, like a YAML scalar: `80` is the text "80", and `8e1` is not a port.
        std::string_view token = value.raw_json_token();
        while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
          token.remove_suffix(1);
        return scalar(token, false, at);
      }
    }
    throw simdjson::simdjson_error(simdjson::INCORRECT_TYPE);
  }

 private:
  uint32_t push(const Node& node) {
    tree_.nodes.push_back(node);
    return static_cast<uint32_t>(tree_.nodes.size() - 1);
  }

  uint32_t scalar(std::string_view text, bool quoted, uint32_t at) {
    const auto begin = static_cast<uint32_t>(tree_.text.size());
    tree_.text += text;
    return push(Node{.kind = Node::Kind::Scalar,
                     .quoted = quoted,
                     .line = at,
                     .begin = begin,
                     .size = static_cast<uint32_t>(text.size())});
  }

  // The container's children are pending_[first, end): they move to Tree::children.
  uint32_t close(uint32_t index, size_t first) {
    Node& node = tree_.nodes[index];
    node.begin = static_cast<uint32_t>(tree_.children.size());
    node.size = static_cast<uint32_t>(pending_.size() - first);
    tree_.children.insert(tree_.children.end(), pending_.begin() + first, pending_.end());
    pending_.resize(first);
    return index;
  }

  uint32_t line(const char* at) {
    if (at < cursor_) {  // never expected: the parser only moves forward
      cursor_ = start_;
      line_ = 1;
    }
    line_ += static_cast<uint32_t>(std::count(cursor_, at, '\n'));
    cursor_ = at;
    return line_;
  }

  static constexpr int kMaxDepth = 256;

  Tree& tree_;
  std::vector<uint32_t> pending_;  // children of the containers being read
  int depth_ = 0;
  const char* cursor_;
  const char* start_;
  uint32_t line_ = 1;
};

}  // namespace

Tree parseYaml(const std::string& text) {
  Tree tree;
  std::istringstream in(text);
  YAML::Parser parser(in);
  TreeBuilder builder(tree);
  // yaml-cpp 0.7 (Debian 12) reports documents forever, consuming nothing, when one starts
  // with a token no node can start with ("," or "!tag ,": jbeder/yaml-cpp#1040, fixed
  // upstream after 0.8.0; found by fuzz_manifest). A real document reads at least one byte,
  // so more documents than bytes means the parser is stuck.
  for (size_t documents = 0; parser.HandleNextDocument(builder);) {
    if (++documents > text.size() + 1)
      throw YAML::ParserException(builder.documentStart(), "a document cannot start here");
  }
  return tree;
}

bool looksLikeJson(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && (text[first] == '{' || text[first] == '[');
}

bool parseJson(const std::string& text, Tree& tree) {
  simdjson::ondemand::parser parser;
  try {
    // Without a copy when the text was read with room for simdjson's padding (readFile).
    simdjson::padded_string copy;
    simdjson::padded_string_view padded;
    if (text.capacity() >= text.size() + simdjson::SIMDJSON_PADDING) {
      padded = simdjson::padded_string_view(text.data(), text.size(), text.capacity());
    } else {
      copy = simdjson::padded_string(text);
      padded = copy;
    }
    simdjson::ondemand::document document = parser.iterate(padded);
    const simdjson::ondemand::json_type type = document.type();
    if (type != simdjson::ondemand::json_type::object &&
        type != simdjson::ondemand::json_type::array)
      return false;
    // kubectl's indented JSON makes a node (16 bytes) and a child index per ~22 bytes of
    // text, and scalars of a quarter of it: room for that up front, so that the vectors are
    // not copied each time they double (a tenth of the read stage was memmove).
    tree.nodes.reserve(text.size() / 16 + 16);
    tree.children.reserve(text.size() / 16 + 16);
    tree.text.reserve(text.size() / 3 + 16);
    JsonReader reader(tree, padded.data());
    tree.documents.push_back(reader.value(document.get_value()));
    // Only one value: text after it (a second object) is left to the YAML reader to refuse.
    return document.current_location().error() != simdjson::SUCCESS;
  } catch (const simdjson::simdjson_error&) {
    return false;
  }
}

}  // namespace dnsd::manifest
