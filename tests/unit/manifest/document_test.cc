// The two readers of document.h agree: a JSON text read by simdjson gives the same tree,
// scalar for scalar and line for line, as the same text read by yaml-cpp (JSON is YAML), so
// which reader ran never changes what dnsd serves or the errors it prints.
#include "dnsd/manifest/document.h"

#include <doctest/doctest.h>

#include <string>

namespace dnsd::manifest {
namespace {

// The tree under `index` as text: kinds, scalars, quoting and lines, children in order.
std::string dump(const Tree& tree, uint32_t index) {
  const Node& node = tree.node(index);
  std::string out = std::to_string(node.line) + ":";
  switch (node.kind) {
    case Node::Kind::Null:
      return out + "~";
    case Node::Kind::Scalar:
      return out + (node.quoted ? "'" : "") + std::string(tree.scalar(node));
    case Node::Kind::Sequence:
    case Node::Kind::Map: {
      out += node.kind == Node::Kind::Map ? "{" : "[";
      for (uint32_t i = 0; i < node.size; ++i) out += dump(tree, tree.childrenOf(node)[i]) + ",";
      return out + (node.kind == Node::Kind::Map ? "}" : "]");
    }
  }
  return out;
}

std::string dumpAll(const Tree& tree) {
  std::string out;
  for (const uint32_t document : tree.documents) out += dump(tree, document) + "\n";
  return out;
}

const char* const kJson[] = {
    R"({"kind": "Service", "metadata": {"name": "web", "labels": {}}})",
    // Shaped like `kubectl get -o json`: a List, nested objects and arrays over many lines.
    R"({
    "apiVersion": "v1",
    "items": [
        {
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "prod"},
            "spec": {
                "clusterIP": "10.0.0.1",
                "ports": [{"name": "http", "port": 80, "targetPort": "8080"}],
                "publishNotReadyAddresses": true,
                "selector": null
            }
        },
        []
    ],
    "kind": "List"
})",
    // Numbers stay as written; strings that look like booleans or numbers stay quoted.
    R"({"a": 80, "b": -1.5e3, "c": "true", "d": false, "e": "80", "f": null, "g": [1, [2, []]]})",
    // Escapes are decoded alike.
    R"({"name": "a\"b\\c\u00e9\n", "": "empty key"})",
    R"([{"kind": "Namespace"}, 7, "x"])",
};

TEST_CASE("simdjson and yaml-cpp read the same JSON into the same tree") {
  for (const char* json : kJson) {
    CAPTURE(json);
    REQUIRE(looksLikeJson(json));
    Tree from_json;
    REQUIRE(parseJson(json, from_json));
    CHECK(dumpAll(from_json) == dumpAll(parseYaml(json)));
  }
}

TEST_CASE("a number is its text as written, a boolean is plain, a string is quoted") {
  Tree tree;
  REQUIRE(parseJson(R"({"port": 8080, "ready": true, "name": "true"})", tree));
  CHECK(dumpAll(tree) == "1:{1:'port,1:8080,1:'ready,1:true,1:'name,1:'true,}\n");
}

TEST_CASE("parseJson refuses what is not one JSON object or array, or nests too deep") {
  const char* const kNotJson[] = {
      "{\"kind\": \"Service\",\n\"metadata\": {\"name\": \"a\"\n",  // unclosed
      "{\"a\": 1} {\"b\": 2}",                                       // two values
      "{a: 1}",                                                       // YAML flow, not JSON
      "\"just a string\"",                                            // not an object
      "{\"a\": \xff}",                                                // not UTF-8
  };
  for (const char* text : kNotJson) {
    CAPTURE(text);
    Tree tree;
    CHECK_FALSE(parseJson(text, tree));
  }
  std::string deep = std::string(1000, '[') + std::string(1000, ']');
  Tree tree;
  CHECK_FALSE(parseJson(deep, tree));
}

TEST_CASE("looksLikeJson: an object or array first, after blanks and a byte order mark") {
  CHECK(looksLikeJson("  \n\t{"));
  CHECK(looksLikeJson("\xEF\xBB\xBF[1]"));
  CHECK_FALSE(looksLikeJson("kind: Service"));
  CHECK_FALSE(looksLikeJson("# {json}\n{}"));
  CHECK_FALSE(looksLikeJson(""));
}

TEST_CASE("a YAML alias is the node it names, not a copy") {
  const Tree tree = parseYaml("a: &x {b: [1, 2, 3]}\nc: *x\n");
  REQUIRE(tree.documents.size() == 1);
  const Node& root = tree.node(tree.documents[0]);
  REQUIRE(root.size == 4);
  CHECK(tree.childrenOf(root)[1] == tree.childrenOf(root)[3]);
}

TEST_CASE("every YAML document is a root, empty ones as null") {
  const Tree tree = parseYaml("a: 1\n---\n---\n- x\n");
  REQUIRE(tree.documents.size() == 3);
  CHECK(dump(tree, tree.documents[0]) == "1:{1:a,1:1,}");
  CHECK(tree.node(tree.documents[1]).kind == Node::Kind::Null);
  CHECK(dump(tree, tree.documents[2]) == "4:[4:x,]");
}

}  // namespace
}  // namespace dnsd::manifest
