// Metrics: per-worker counters summed on scrape, bucket choice, and the rendered text checked
// line by line against the Prometheus text exposition format 0.0.4.
#include "dnsd/admin/metrics.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dnsd/admin/prometheus_text.h"

namespace dnsd::admin {
namespace {

// ---- A small validator of the exposition format -------------------------------------------

struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family name -> counter, gauge, histogram...
  std::vector<Sample> samples;
  std::vector<std::string> errors;  // "line N: what is wrong"
};

bool isNameChar(char c, bool first, bool colon) {
  bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return letter || (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

// Takes a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or a label name (no colon) off the front.
std::string takeName(std::string_view& text, bool colon) {
  size_t n = 0;
  while (n < text.size() && isNameChar(text[n], n == 0, colon)) ++n;
  std::string name(text.substr(0, n));
  text.remove_prefix(n);
  return name;
}

bool takeChar(std::string_view& text, char c) {
  if (text.empty() || text[0] != c) return false;
  text.remove_prefix(1);
  return true;
}

// A quoted label value: any character but a raw quote, backslash or newline, and the escapes
// \\, \" and \n.
bool takeLabelValue(std::string_view& text, std::string& value) {
  if (!takeChar(text, '"')) return false;
  while (!text.empty() && text[0] != '"') {
    if (text[0] == '\n') return false;
    if (text[0] == '\\') {
      if (text.size() < 2 || std::string_view("\\\"n").find(text[1]) == std::string_view::npos) {
        return false;
      }
      value += text[1] == 'n' ? '\n' : text[1];
      text.remove_prefix(2);
    } else {
      value += text[0];
      text.remove_prefix(1);
    }
  }
  return takeChar(text, '"');
}

// {name="value",...} with an optional trailing comma, or nothing at all.
bool takeLabels(std::string_view& text, Sample& sample) {
  if (!takeChar(text, '{')) return true;
  while (!takeChar(text, '}')) {
    std::string name = takeName(text, false), value;
    if (name.empty() || !takeChar(text, '=') || !takeLabelValue(text, value)) return false;
    sample.labels.emplace_back(name, value);
    if (!takeChar(text, ',') && (text.empty() || text[0] != '}')) return false;
  }
  return true;
}

bool parseValue(const std::string& text, double& value) {
  if (text == "+Inf" || text == "-Inf" || text == "NaN") {
    value = text == "NaN" ? 0 : (text == "+Inf" ? HUGE_VAL : -HUGE_VAL);
    return true;
  }
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return !text.empty() && !std::isspace(static_cast<unsigned char>(text[0])) && *end == '\0';
}

// The family a sample belongs to: its own name, or a histogram's or summary's without suffix.
std::string familyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  if (types.count(name)) return name;
  for (std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() <= suffix.size() || !name.ends_with(suffix)) continue;
    auto it = types.find(name.substr(0, name.size() - suffix.size()));
    if (it != types.end() && (it->second == "histogram" || it->second == "summary")) {
      return it->first;
    }
  }
  return "";
}

// name{labels} value
std::string parseSample(std::string_view text, const Exposition& exposition, Sample& sample) {
  sample.name = takeName(text, true);
  if (sample.name.empty()) return "no metric name";
  if (!takeLabels(text, sample)) return "bad labels";
  if (!takeChar(text, ' ')) return "no space before the value";
  if (!parseValue(std::string(text), sample.value)) return "bad value";
  if (familyOf(sample.name, exposition.types).empty()) return "no # TYPE before";
  return "";
}

// # HELP name text, or # TYPE name counter|gauge|histogram|summary|untyped
std::string parseComment(std::string_view text, Exposition& exposition,
                         std::set<std::string>& helps) {
  bool help = text.starts_with("# HELP ");
  text.remove_prefix(7);
  std::string name = takeName(text, true);
  if (name.empty() || !takeChar(text, ' ')) return "no metric name";
  if (help) return helps.insert(name).second ? "" : "second # HELP";
  static const std::set<std::string_view> kTypes = {"counter", "gauge", "histogram", "summary",
                                                    "untyped"};
  if (!kTypes.count(text)) return "bad type";
  return exposition.types.emplace(name, text).second ? "" : "second # TYPE";
}

void parseLine(const std::string& line, Exposition& exposition, std::set<std::string>& helps) {
  std::string error;
  if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
    error = parseComment(line, exposition, helps);
  } else if (Sample sample; (error = parseSample(line, exposition, sample)).empty()) {
    exposition.samples.push_back(sample);
  }
  if (!error.empty()) exposition.errors.push_back(error + ": " + line);
}

Exposition parseExposition(const std::string& text) {
  Exposition exposition;
  std::set<std::string> helps;
  if (!text.ends_with("\n")) exposition.errors.push_back("text does not end with a newline");
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) parseLine(line, exposition, helps);
  return exposition;
}

// Every histogram: buckets in increasing le, cumulative, the last +Inf equal to _count.
std::vector<std::string> checkHistograms(const Exposition& exposition) {
  std::vector<std::string> errors;
  for (const auto& [family, type] : exposition.types) {
    if (type != "histogram") continue;
    double last_le = -HUGE_VAL, last_count = 0, count = -1;
    std::string last_le_text;
    for (const Sample& sample : exposition.samples) {
      if (sample.name == family + "_count") count = sample.value;
      if (sample.name != family + "_bucket") continue;
      if (sample.labels.size() != 1 || sample.labels[0].first != "le") {
        errors.push_back(family + ": bucket without le");
        continue;
      }
      double le = 0;
      parseValue(sample.labels[0].second, le);
      if (le <= last_le) errors.push_back(family + ": le not increasing");
      if (sample.value < last_count) errors.push_back(family + ": buckets not cumulative");
      last_le = le, last_count = sample.value, last_le_text = sample.labels[0].second;
    }
    if (last_le_text != "+Inf") errors.push_back(family + ": last bucket is not +Inf");
    if (count != last_count) errors.push_back(family + ": +Inf bucket differs from _count");
  }
  return errors;
}

// The value of the one sample whose text before the value is `series`, or -1.
double valueOf(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(series + " ")) return std::strtod(line.c_str() + series.size(), nullptr);
  }
  return -1;
}

void checkValid(const std::string& text) {
  Exposition exposition = parseExposition(text);
  for (const std::string& error : exposition.errors) CHECK_MESSAGE(false, error);
  for (const std::string& error : checkHistograms(exposition)) CHECK_MESSAGE(false, error);
  CHECK(exposition.samples.size() > 50);
}

constexpr uint16_t kA = 1, kAaaa = 28, kSrv = 33;
constexpr uint8_t kNoError = 0, kNxDomain = 3;

// ---- The tests ---------------------------------------------------------------------------

TEST_CASE("the validator accepts well-formed lines and rejects malformed ones") {
  CHECK(parseExposition("# HELP x_total Help.\n# TYPE x_total counter\nx_total{a=\"b\\\"\"} 1\n")
            .errors.empty());
  CHECK(parseExposition("# TYPE x gauge\nx 1.5e-05\nx{a=\"1\",b=\"2\"} +Inf\n").errors.empty());
  CHECK(parseExposition("x_total 1\n").errors.size() == 1);                    // no # TYPE
  CHECK(parseExposition("# TYPE x gauge\nx one\n").errors.size() == 1);        // bad value
  CHECK(parseExposition("# TYPE x gauge\nx{a=b} 1\n").errors.size() == 1);     // unquoted
  CHECK(parseExposition("# TYPE x gauge\nx{a=\"b\"}1\n").errors.size() == 1);  // no space
  CHECK(parseExposition("# TYPE x bogus\n").errors.size() == 1);
  CHECK(parseExposition("# TYPE x gauge\nx 1").errors.size() == 1);  // no final newline
}

TEST_CASE("counters of two workers bumped on two threads sum in the rendered text") {
  Metrics metrics("test");
  auto work = [&metrics](Proto proto, uint16_t qtype, uint8_t rcode, int n) {
    WorkerCounters& counters = metrics.registerWorker();
    for (int i = 0; i < n; ++i) counters.countRequest(proto, qtype, rcode, 40, 120, 100'000);
    counters.countAutopathHit();
  };
  std::thread first(work, Proto::Udp, kA, kNoError, 1000);
  std::thread second(work, Proto::Udp, kA, kNxDomain, 500);
  first.join();
  second.join();
  work(Proto::Tcp, kSrv, kNoError, 7);
  metrics.countAutopathHit();

  std::string text = metrics.render();
  CHECK(valueOf(text, R"(dnsd_dns_requests_total{proto="udp",type="A"})") == 1500);
  CHECK(valueOf(text, R"(dnsd_dns_requests_total{proto="tcp",type="SRV"})") == 7);
  CHECK(valueOf(text, R"(dnsd_dns_requests_total{proto="tcp",type="A"})") == 0);
  CHECK(valueOf(text, R"(dnsd_dns_responses_total{rcode="NOERROR"})") == 1007);
  CHECK(valueOf(text, R"(dnsd_dns_responses_total{rcode="NXDOMAIN"})") == 500);
  CHECK(valueOf(text, "dnsd_dns_request_duration_seconds_count") == 1507);
  CHECK(valueOf(text, "dnsd_dns_request_duration_seconds_sum") == doctest::Approx(0.1507));
  CHECK(valueOf(text, "dnsd_dns_request_size_bytes_sum") == 1507 * 40);
  CHECK(valueOf(text, "dnsd_dns_response_size_bytes_sum") == 1507 * 120);
  CHECK(valueOf(text, "dnsd_autopath_hits_total") == 4);
  checkValid(text);
}

TEST_CASE("every line of the rendered text is valid Prometheus exposition") {
  Metrics metrics("0.1.0 \"dev\"");
  checkValid(metrics.render());  // before anything was counted

  WorkerCounters& counters = metrics.registerWorker();
  counters.countRequest(Proto::Udp, kAaaa, 16, 30, 0, 0);
  counters.countRequest(Proto::Tcp, 65, 200, 70'000, 70'000, 20'000'000'000);
  metrics.setZone(12, 345, 67, 2024010101);
  metrics.reloadSucceeded(1700000000.25);
  metrics.reloadFailed();
  metrics.setForwardStats(10, 1, 6, 4, 0.125, 9);
  metrics.setCacheStats(3, 2, 1);
  std::string text = metrics.render();
  checkValid(text);
  CHECK(valueOf(text, "dnsd_forward_coalesced_total") == 3);
  CHECK(valueOf(text, "dnsd_cache_served_stale_total") == 2);
  CHECK(valueOf(text, "dnsd_cache_prefetch_total") == 1);
  CHECK(text.find("dnsd_build_info{version=\"0.1.0 \\\"dev\\\"\"} 1\n") != std::string::npos);
  for (const char* type : {"counter", "gauge", "histogram", "summary"}) {
    CHECK(text.find(std::string(" ") + type + "\n") != std::string::npos);
  }
}

TEST_CASE("histogram buckets are cumulative and end with +Inf equal to _count") {
  Metrics metrics;
  WorkerCounters& counters = metrics.registerWorker();
  for (uint64_t i = 0; i < 200; ++i) {
    counters.countRequest(Proto::Udp, kA, kNoError, i * 401, i * 37, i * i * 300'000);
  }
  std::string text = metrics.render();
  Exposition exposition = parseExposition(text);
  REQUIRE(exposition.errors.empty());
  CHECK(checkHistograms(exposition).empty());
  CHECK(valueOf(text, R"(dnsd_dns_request_duration_seconds_bucket{le="+Inf"})") == 200);
  CHECK(valueOf(text, R"(dnsd_dns_request_size_bytes_bucket{le="0"})") == 1);
  CHECK(valueOf(text, R"(dnsd_dns_request_size_bytes_bucket{le="400"})") == 1);
  CHECK(valueOf(text, R"(dnsd_dns_request_size_bytes_bucket{le="511"})") == 2);
  CHECK(valueOf(text, R"(dnsd_dns_request_size_bytes_bucket{le="64000"})") == 160);
  CHECK(valueOf(text, "dnsd_dns_request_size_bytes_count") == 200);
}

TEST_CASE("a duration on a bucket bound falls in that bucket, a nanosecond more in the next") {
  static_assert(durationBucket(0) == 0);
  static_assert(durationBucket(250'000) == 0);  // le 0.00025
  static_assert(durationBucket(250'001) == 1);  // le 0.0005
  static_assert(durationBucket(500'000) == 1);
  static_assert(durationBucket(1'000'000) == 2);  // le 0.001
  static_assert(durationBucket(1'000'001) == 3);
  static_assert(durationBucket(8'192'000'000) == 15);               // le 8.192
  static_assert(durationBucket(8'192'000'001) == kDurationBounds);  // +Inf
  static_assert(durationBucket(UINT64_MAX) == kDurationBounds);
  for (size_t k = 0; k < kDurationBounds; ++k) {
    uint64_t bound = kDurationUnitNs << k;
    CHECK(durationBucket(bound) == k);
    CHECK(durationBucket(bound + 1) == k + 1);
  }
  static_assert(typeBucket(1) == 0 && typeBucket(255) == 8 && typeBucket(99) == 9);
  static_assert(rcodeBucket(23) == 23 && rcodeBucket(24) == 24 && rcodeBucket(255) == 24);
  static_assert(sizeBucket(0) == 0 && sizeBucket(1) == 1 && sizeBucket(100) == 1);
  static_assert(sizeBucket(511) == 5 && sizeBucket(512) == 6 && sizeBucket(8291) == 9);
  static_assert(sizeBucket(64000) == 13 && sizeBucket(64001) == kSizeBounds.size());
  // Every size lands where a search of the bounds puts it ("value <= le").
  for (size_t bytes = 0; bytes <= 70'000; ++bytes) {
    auto bound = std::lower_bound(kSizeBounds.begin(), kSizeBounds.end(), bytes);
    CAPTURE(bytes);
    REQUIRE(sizeBucket(bytes) == static_cast<size_t>(bound - kSizeBounds.begin()));
  }
}

TEST_CASE("query types and rcodes get CoreDNS's label values, the rest is other") {
  Metrics metrics;
  WorkerCounters& counters = metrics.registerWorker();
  counters.countRequest(Proto::Udp, kAaaa, 2, 30, 30, 1);
  counters.countRequest(Proto::Udp, 12, 5, 30, 30, 1);    // PTR, REFUSED
  counters.countRequest(Proto::Udp, 255, 23, 30, 30, 1);  // ANY, BADCOOKIE
  counters.countRequest(Proto::Udp, 99, 24, 30, 30, 1);   // SPF: other; rcode 24: other
  std::string text = metrics.render();
  CHECK(valueOf(text, R"(dnsd_dns_requests_total{proto="udp",type="AAAA"})") == 1);
  CHECK(valueOf(text, R"(dnsd_dns_requests_total{proto="udp",type="PTR"})") == 1);
  CHECK(valueOf(text, R"(dnsd_dns_requests_total{proto="udp",type="ANY"})") == 1);
  CHECK(valueOf(text, R"(dnsd_dns_requests_total{proto="udp",type="other"})") == 1);
  CHECK(valueOf(text, R"(dnsd_dns_responses_total{rcode="SERVFAIL"})") == 1);
  CHECK(valueOf(text, R"(dnsd_dns_responses_total{rcode="REFUSED"})") == 1);
  CHECK(valueOf(text, R"(dnsd_dns_responses_total{rcode="BADCOOKIE"})") == 1);
  CHECK(valueOf(text, R"(dnsd_dns_responses_total{rcode="other"})") == 1);
  CHECK(valueOf(text, R"(dnsd_dns_responses_total{rcode="NOTAUTH"})") == -1);  // never seen
  CHECK(valueOf(text, R"(dnsd_dns_responses_total{rcode="NXDOMAIN"})") == 0);  // always shown
}

TEST_CASE("control-plane gauges and counters show their latest values") {
  Metrics metrics;
  metrics.setZone(1, 2, 3, 4);
  metrics.setZone(10, 20, 30, 40);
  metrics.reloadSucceeded(1700000000.5);
  metrics.reloadSucceeded(1700000050.5, true);
  metrics.reloadSucceeded(1700000100.5, true);
  metrics.reloadFailed();
  metrics.setForwardStats(100, 3, 60, 40, 2.5, 97);
  std::string text = metrics.render();
  CHECK(valueOf(text, "dnsd_zone_services") == 10);
  CHECK(valueOf(text, "dnsd_zone_records") == 20);
  CHECK(valueOf(text, "dnsd_zone_names") == 30);
  CHECK(valueOf(text, "dnsd_zone_serial") == 40);
  CHECK(valueOf(text, R"(dnsd_reload_total{result="success"})") == 3);
  CHECK(valueOf(text, R"(dnsd_reload_total{result="failure"})") == 1);
  CHECK(valueOf(text, R"(dnsd_zone_publications_total{build="full"})") == 1);
  CHECK(valueOf(text, R"(dnsd_zone_publications_total{build="patch"})") == 2);
  CHECK(valueOf(text, "dnsd_reload_last_success_timestamp_seconds") == 1700000100.5);
  CHECK(valueOf(text, "dnsd_forward_requests_total") == 100);
  CHECK(valueOf(text, "dnsd_forward_failures_total") == 3);
  CHECK(valueOf(text, "dnsd_cache_hits_total") == 60);
  CHECK(valueOf(text, "dnsd_cache_misses_total") == 40);
  CHECK(valueOf(text, "dnsd_forward_request_duration_seconds_sum") == 2.5);
  CHECK(valueOf(text, "dnsd_forward_request_duration_seconds_count") == 97);
}

TEST_CASE("zone transfer figures appear only when transfers are configured") {
  Metrics metrics;
  CHECK(metrics.render().find("dnsd_zone_transfers_total") == std::string::npos);
  TransferValues t;
  t.enabled = true;
  t.axfr = 5;
  t.ixfr = 4;
  t.ixfr_as_axfr = 3;
  t.up_to_date = 2;
  t.refused = 1;
  t.errors = 6;
  t.cut = 7;
  t.notifies_sent = 8;
  t.notifies_pending = 9;
  metrics.setTransfers(t);
  std::string text = metrics.render();
  checkValid(text);
  CHECK(valueOf(text, R"(dnsd_zone_transfers_total{result="axfr"})") == 5);
  CHECK(valueOf(text, R"(dnsd_zone_transfers_total{result="ixfr"})") == 4);
  CHECK(valueOf(text, R"(dnsd_zone_transfers_total{result="ixfr_as_axfr"})") == 3);
  CHECK(valueOf(text, R"(dnsd_zone_transfers_total{result="up_to_date"})") == 2);
  CHECK(valueOf(text, R"(dnsd_zone_transfers_total{result="refused"})") == 1);
  CHECK(valueOf(text, R"(dnsd_zone_transfers_total{result="error"})") == 6);
  CHECK(valueOf(text, R"(dnsd_zone_transfers_total{result="cut"})") == 7);
  CHECK(valueOf(text, "dnsd_notify_sent_total") == 8);
  CHECK(valueOf(text, "dnsd_notify_pending") == 9);
}

TEST_CASE("help text and label values are escaped") {
  PrometheusText out;
  out.family("x", "gauge", "a \\ b\nc");
  out.sample("x", PrometheusText::label("v", "q\"\\\n"), 0.5);
  CHECK(out.text() == "# HELP x a \\\\ b\\nc\n# TYPE x gauge\nx{v=\"q\\\"\\\\\\n\"} 0.5\n");
  CHECK(parseExposition(out.text()).errors.empty());
}

}  // namespace
}  // namespace dnsd::admin
