// Writing the Prometheus text exposition format 0.0.4: metric families (# HELP, # TYPE),
// samples and histograms. Knows nothing of DNS.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace dnsd::admin {

class PrometheusText {
 public:
  // `name{key="value"}`-ready text for one label, with the value escaped.
  static std::string label(std::string_view key, std::string_view value);

  // The # HELP and # TYPE lines that open a family; type is counter, gauge, histogram...
  void family(std::string_view name, std::string_view type, std::string_view help);

  // `name{labels} value`; `labels` is a comma-separated list from label(), or empty.
  void sample(std::string_view name, std::string_view labels, uint64_t value);
  void sample(std::string_view name, std::string_view labels, double value);

  // The _bucket lines (cumulative, ending with le="+Inf"), _sum and _count of a histogram.
  // `buckets` holds per-bucket counts, one more than `bounds` (the last is +Inf).
  void histogram(std::string_view name, std::span<const std::string_view> bounds,
                 std::span<const uint64_t> buckets, double sum);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void series(std::string_view name, std::string_view labels);

  std::string out_;
};

}  // namespace dnsd::admin
