// libFuzzer target: the fuzzer's bytes choose a sequence of Kubernetes API events and relists
// over a small cluster (tests/support/churn.h), applied as dnsd's API client applies them:
// kube::Decoder → kube::Store, the zone rebuilt whenever the store reports a change. After
// every step the zone served must be the zone one fresh list of the same state gives, and at
// the end also the zone the same objects give as manifests (`dnsd records` text, compared
// line by line).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fail.h"
#include "tests/support/churn.h"

using namespace dnsd::testing;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Each step takes a few dozen bytes; past this many, runs only get slower.
  if (size > 4096) return -1;
  churn::ByteChoices choices(data, size);
  churn::Options options = churn::randomOptions(choices, 1000);
  options.manifests_each_step = false;
  churn::Outcome outcome = churn::Run(choices, options).go();
  if (!outcome.failure.empty()) dnsd::fuzz::fail("%s", outcome.failure.c_str());
  return 0;
}
