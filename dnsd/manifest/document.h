// Tree: one manifest file parsed into a compact tree of maps, lists and scalars, whichever
// parser read it (yaml-cpp's event parser, or simdjson for JSON). Field reads it; nothing
// outside manifest/ sees it.
//
// Why not yaml-cpp's own YAML::Node: building it costs more than scanning the text (a
// shared_ptr and a map per node), and for a large cluster that was most of startup. Here a
// node is 16 bytes in one vector, scalars are slices of one string, and a YAML alias is the
// index of the node it names, so an alias bomb costs no memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dnsd::manifest {

struct Node {
  enum class Kind : uint8_t { Null, Scalar, Sequence, Map };
  Kind kind = Kind::Null;
  // A scalar written in quotes (the non-specific tag "!"): a string, never a boolean.
  bool quoted = false;
  uint32_t line = 0;  // 1-based, where the node starts; 0 when unknown
  // Scalar: its text at Tree::text[begin, begin + size). Sequence: its items at
  // Tree::children[begin, begin + size). Map: keys and values alternating there, so size is
  // twice the number of entries.
  uint32_t begin = 0, size = 0;
};

struct Tree {
  static constexpr uint32_t kAbsent = UINT32_MAX;

  std::vector<Node> nodes;
  std::vector<uint32_t> children;
  std::vector<uint32_t> documents;  // the root node of each document, in order
  std::string text;                 // every scalar's text, back to back

  const Node& node(uint32_t index) const { return nodes[index]; }
  std::string_view scalar(const Node& n) const { return {text.data() + n.begin, n.size}; }
  const uint32_t* childrenOf(const Node& n) const { return children.data() + n.begin; }
};

// Parses `text` as YAML 1.2 (which includes JSON). Throws YAML::Exception (ParserException
// with a mark on malformed input, DeepRecursion on too deep nesting).
Tree parseYaml(const std::string& text);

// Parses `text` as one JSON value with simdjson. Returns false, with `tree` unspecified,
// when simdjson rejects it or the root is not an object or array: the caller then reads it
// as YAML, whose parser gives a line for the error (and accepts what JSON does not).
bool parseJson(const std::string& text, Tree& tree);

// Whether `text` looks like JSON (its first non-blank character opens an object or array),
// so that parseJson is worth trying first.
bool looksLikeJson(std::string_view text);

}  // namespace dnsd::manifest
