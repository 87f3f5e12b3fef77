// Inputs found by tests/fuzz/fuzz_manifest, kept as regression tests.
#include <doctest/doctest.h>

#include <string>

#include "dnsd/manifest/load.h"

namespace {

using namespace dnsd;

base::Status load(const std::string& text) {
  cluster::Inputs inputs;
  return manifest::loadText(text, "fuzz.yaml", inputs);
}

}  // namespace

TEST_CASE("a document that starts with a comma is an error, not an endless loop") {
  // fuzz_manifest timeout-a86c26d5 (2 KB, minimized to ","): yaml-cpp 0.7's LoadAll loops
  // forever and allocates without bound (jbeder/yaml-cpp#1040).
  for (const char* text : {",", ", a", "!a ,", "&a ,", "apiVersion: v1\nkind: Service\n---\n,\n"}) {
    CAPTURE(text);
    base::Status status = load(text);
    REQUIRE_FALSE(status);
    CHECK(status.error().message == "YAML: a document cannot start here");
  }
}

TEST_CASE("empty documents still load: the guard counts documents, not content") {
  CHECK(load(""));
  CHECK(load("---\n---\n---\n...\n---\n"));
  CHECK(load("# only a comment\n"));
  CHECK(load("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\n"));
}
