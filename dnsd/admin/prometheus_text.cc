// Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include "dnsd/admin/prometheus_text.h"

#include <cassert>
#include <charconv>
#include <cmath>

namespace dnsd::admin {
namespace {

// HELP text escapes backslash and newline; label values also escape the double quote.
std::string escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

void appendNumber(std::string& out, uint64_t value) {
  char buffer[24];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

// Shortest text that reads back as the same double; Prometheus spells the specials
// NaN, +Inf and -Inf.
void appendNumber(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buffer[32];
    auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, end);
  }
}

}  // namespace

std::string PrometheusText::label(std::string_view key, std::string_view value) {
  return std::string(key) + "=\"" + escape(value, true) + "\"";
}

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(escape(help, false)).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PrometheusText::series(std::string_view name, std::string_view labels) {
  out_.append(name);
  if (!labels.empty()) out_.append("{").append(labels).append("}");
  out_ += ' ';
}

void PrometheusText::sample(std::string_view name, std::string_view labels, uint64_t value) {
  series(name, labels);
  appendNumber(out_, value);
  out_ += '\n';
}

void PrometheusText::sample(std::string_view name, std::string_view labels, double value) {
  series(name, labels);
  appendNumber(out_, value);
  out_ += '\n';
}

void PrometheusText::histogram(std::string_view name, std::span<const std::string_view> bounds,
                               std::span<const uint64_t> buckets, double sum) {
  assert(buckets.size() == bounds.size() + 1);
  std::string bucket_name = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    cumulative += buckets[i];
    std::string_view le = i < bounds.size() ? bounds[i] : std::string_view("+Inf");
    sample(bucket_name, label("le", le), cumulative);
  }
  sample(std::string(name) + "_sum", "", sum);
  sample(std::string(name) + "_count", "", cumulative);
}

}  // namespace dnsd::admin
