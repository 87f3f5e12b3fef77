// The zone dnsd serves after any sequence of API events is the zone a fresh start on the final
// state serves: thousands of random sequences over a small cluster (tests/support/churn.h).
// DNSD_CHURN_SEQUENCES=N runs N sequences instead of the default; DNSD_CHURN_SEED=S starts
// from another seed (a failure names the seed that reproduces it).
#include "tests/support/churn.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "tests/support/sanitizer.h"

namespace {

using namespace dnsd::testing::churn;

constexpr uint64_t kSequences = dnsd::testing::rounds<uint64_t>(2000, 300);

uint64_t fromEnv(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  return text && *text ? std::strtoull(text, nullptr, 10) : fallback;
}

}  // namespace

TEST_CASE("any sequence of events serves the zone a fresh list of the final state gives") {
  const uint64_t sequences = fromEnv("DNSD_CHURN_SEQUENCES", kSequences);
  const uint64_t first_seed = fromEnv("DNSD_CHURN_SEED", 1);
  int checks = 0, applied = 0, compacted = 0;
  for (uint64_t seed = first_seed; seed < first_seed + sequences; ++seed) {
    SeededChoices choices(seed);
    Options options = randomOptions(choices, 30);
    Outcome outcome = Run(choices, options).go();
    checks += outcome.checks;
    applied += outcome.applied;
    compacted += outcome.compacted;
    INFO("seed ", seed, " (DNSD_CHURN_SEED=", seed, " DNSD_CHURN_SEQUENCES=1 reproduces it)");
    REQUIRE_MESSAGE(outcome.failure.empty(), outcome.failure);
  }
  MESSAGE(sequences, " sequences, ", checks, " zones compared, ", applied,
          " changes applied to the zone served without building it whole, ", compacted,
          " patched zones built whole again");
  // The options that allow it (no --ptr-single, no Pods watched) come in about a third of
  // the sequences: most of their changes must have been applied, or this tested little.
  CHECK(applied * 10 > checks);
  // Patches grow a small zone's arena past a sixteenth quickly: some sequences must have
  // been built whole again from a grown zone, and gone on patching the new build.
  CHECK(compacted > 0);
}

TEST_CASE("the generator reaches every kind of change it is meant to") {
  // A generator that never deletes a Namespace or moves a slice would pass without testing
  // them: one sequence long enough must show each in its events.
  SeededChoices choices(7);
  Options options = randomOptions(choices, 400);
  options.watched.clear();
  Run run(choices, options);
  Outcome outcome = run.go();
  REQUIRE(outcome.failure.empty());
  const std::string& log = run.events();
  for (const char* wanted :
       {"DELETED {\"apiVersion\":\"v1\",\"kind\":\"Namespace\"", "relist services",
        "relist endpointslices", "relist pods", "relist namespaces", "(the list broke off)",
        "\"clusterIP\":\"None\"", "ExternalName", "\"phase\":\"Succeeded\"", "externalIPs",
        "lb.example.net", "deletionTimestamp", "\"addressType\":\"IPv6\"", "\"ready\":false",
        "(ClusterIP "})
    CHECK_MESSAGE(log.find(wanted) != std::string::npos, wanted);
}
