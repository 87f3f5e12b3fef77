// Field: a node of a parsed manifest (document.h) together with the path and line that led to
// it, so that every manifest error names its object, field and line. Private to manifest/.
#pragma once

#include <array>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dnsd/base/ip.h"
#include "dnsd/cluster/objects.h"
#include "dnsd/manifest/document.h"

namespace dnsd::manifest {

// A malformed manifest. Thrown by Field and caught in loadText(), so it never leaves
// manifest/: every field access can fail, and threading a Result through each of them
// would double the readers without making them clearer.
class ManifestError : public std::exception {
 public:
  ManifestError(std::string message, int line) : message_(std::move(message)), line_(line) {}
  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& message() const { return message_; }
  int line() const { return line_; }  // 1-based; 0 when unknown

 private:
  std::string message_;
  int line_;
};

// Accessors treat an absent key and an explicit null (`key:`, `key: ~`) alike, as Kubernetes
// does; they throw ManifestError when the node has the wrong shape.
class Field {
 public:
  // `object` ("Service default/web") prefixes every message; the caller keeps it alive and
  // may update it once the object's name is known.
  // The root of an object: `node` is an index into `tree` (which outlives the field), at
  // `line`.
  Field(const Tree& tree, uint32_t node, int line, const std::string* object);

  bool present() const;
  int line() const { return line_; }
  // The same node as the root of a new object: empty path, new message prefix.
  Field asObject(const std::string* object) const { return Field(*tree_, node_, line_, object); }

  // Map member; absent if the key is missing or this field is absent; fails on a non-map.
  // The result's path refers to `key`'s bytes: pass a literal.
  Field operator[](std::string_view key) const;
  // List elements; empty if absent; fails on a non-list.
  std::vector<Field> list() const;

  // Scalar text as written; "" if absent.
  std::string text() const;
  // text(), lowercased: Kubernetes names and DNS labels compare without case.
  std::string name() const;
  std::optional<bool> boolean() const;
  // A decimal integer in [min, max] (quoted digits accepted); fails if absent. `what` names
  // the expectation in messages: "a port number".
  int integer(int min, int max, std::string_view what) const;
  base::IpAddress ip() const;
  // A map of string to string (labels, annotations, selectors); empty if absent.
  cluster::Labels stringMap() const;

  // Throws ManifestError "Kind ns/name: path: what" at this field's line.
  [[noreturn]] void fail(std::string_view what) const;
  // For messages: "a map", "a list", or the scalar quoted() ; "nothing" when absent.
  std::string describe() const;
  // The scalar in quotes, cut to a sane length and without control characters.
  std::string quoted() const;

 private:
  // One step of the path from the object's root: a map key (literal in read_object.cc, or
  // in the tree) or a list index. Kept as slices, not text, so that reading a field costs
  // no allocation; the text is only made for a message.
  struct Step {
    const char* key = nullptr;  // nullptr: a list index
    uint32_t size = 0;          // key length, or the index
  };
  static constexpr size_t kMaxSteps = 12;  // deeper paths end in "..."

  // A child of this field: one step further, at `node`, `line`.
  Field child(Step step, uint32_t node, int line) const;
  std::string path() const;

  const Node* node() const { return node_ == Tree::kAbsent ? nullptr : &tree_->node(node_); }
  bool is(Node::Kind kind) const { return node() && node()->kind == kind; }
  std::string_view scalar() const { return tree_->scalar(*node()); }
  // 1-based line of `index`, or `fallback`; nulls take their key's line (`fallback`), since a
  // parser places an implicit null (`key:`) at the next token, often on the next line.
  int lineOf(uint32_t index, int fallback) const;

  const Tree* tree_;
  uint32_t node_;
  std::array<Step, kMaxSteps> steps_{};
  uint8_t depth_ = 0;   // steps_ in use
  bool deeper_ = false;  // steps past kMaxSteps were left out
  int line_;
  const std::string* object_;
};

std::string lowercase(std::string text);

}  // namespace dnsd::manifest
