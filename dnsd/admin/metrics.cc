// Summing the workers' counters and rendering every metric family.
#include "dnsd/admin/metrics.h"

#include <array>
#include <string_view>
#include <utility>

#include "dnsd/admin/prometheus_text.h"

namespace dnsd::admin {
namespace {

// The rcode label, spelled as CoreDNS spells it (miekg/dns RcodeToString, "RCODEn" for the
// unassigned ones), except 16: dnsd signs nothing, so a 16 it sends is always BADVERS
// (RFC 6891 §6.1.3), never TSIG's BADSIG.
constexpr std::array<std::string_view, kRcodeBuckets> kRcodeNames = {
    "NOERROR", "FORMERR",  "SERVFAIL",  "NXDOMAIN", "NOTIMP",    "REFUSED", "YXDOMAIN",
    "YXRRSET", "NXRRSET",  "NOTAUTH",   "NOTZONE",  "DSOTYPENI", "RCODE12", "RCODE13",
    "RCODE14", "RCODE15",  "BADVERS",   "BADKEY",   "BADTIME",   "BADMODE", "BADNAME",
    "BADALG",  "BADTRUNC", "BADCOOKIE", "other"};

// The rcodes a cluster DNS server sends every day are always exposed (a series that appears
// from nothing loses its first increments to rate()); the rare ones once they occur.
constexpr size_t kAlwaysShownRcodes = 6;  // NOERROR .. REFUSED

constexpr std::array<std::string_view, kDurationBounds> kDurationBoundNames = {
    "0.00025", "0.0005", "0.001", "0.002", "0.004", "0.008", "0.016", "0.032",
    "0.064",   "0.128",  "0.256", "0.512", "1.024", "2.048", "4.096", "8.192"};

constexpr std::array<std::string_view, kSizeBounds.size()> kSizeBoundNames = {
    "0",    "100",  "200",  "300",   "400",   "511",   "1023",
    "2047", "4095", "8291", "16000", "32000", "48000", "64000"};

void renderRequests(PrometheusText& out, const CounterTotals& totals) {
  out.family("dnsd_dns_requests_total", "counter",
             "Counter of DNS requests made per protocol and type.");
  for (size_t proto = 0; proto < kProtoNames.size(); ++proto) {
    for (size_t type = 0; type < kTypeNames.size(); ++type) {
      std::string labels = PrometheusText::label("proto", kProtoNames[proto]) + "," +
                           PrometheusText::label("type", kTypeNames[type]);
      out.sample("dnsd_dns_requests_total", labels, totals.requests[proto][type]);
    }
  }
}

void renderResponses(PrometheusText& out, const CounterTotals& totals) {
  out.family("dnsd_dns_responses_total", "counter", "Counter of response status codes.");
  for (size_t rcode = 0; rcode < kRcodeNames.size(); ++rcode) {
    if (rcode >= kAlwaysShownRcodes && totals.responses[rcode] == 0) continue;
    out.sample("dnsd_dns_responses_total", PrometheusText::label("rcode", kRcodeNames[rcode]),
               totals.responses[rcode]);
  }
}

template <size_t N>
void renderSizes(PrometheusText& out, std::string_view name, std::string_view help,
                 const HistogramTotals<N>& histogram) {
  out.family(name, "histogram", help);
  out.histogram(name, kSizeBoundNames, histogram.buckets, static_cast<double>(histogram.sum));
}

void renderQueryPath(PrometheusText& out, const CounterTotals& totals) {
  renderRequests(out, totals);
  renderResponses(out, totals);
  out.family("dnsd_dns_request_duration_seconds", "histogram",
             "Histogram of the time (in seconds) each request took.");
  out.histogram("dnsd_dns_request_duration_seconds", kDurationBoundNames, totals.duration.buckets,
                static_cast<double>(totals.duration.sum) / 1e9);
  renderSizes(out, "dnsd_dns_request_size_bytes", "Size of the request in bytes.",
              totals.request_size);
  renderSizes(out, "dnsd_dns_response_size_bytes", "Size of the returned response in bytes.",
              totals.response_size);
}

void renderZone(PrometheusText& out, const ControlPlaneValues& control) {
  out.family("dnsd_zone_services", "gauge", "Services in the published zone.");
  out.sample("dnsd_zone_services", "", control.zone_services);
  out.family("dnsd_zone_records", "gauge", "Resource records in the published zone.");
  out.sample("dnsd_zone_records", "", control.zone_records);
  out.family("dnsd_zone_names", "gauge", "Owner names in the published zone.");
  out.sample("dnsd_zone_names", "", control.zone_names);
  out.family("dnsd_zone_serial", "gauge", "SOA serial of the published zone.");
  out.sample("dnsd_zone_serial", "", control.zone_serial);
}

void renderReload(PrometheusText& out, const ControlPlaneValues& control) {
  out.family("dnsd_reload_total", "counter",
             "Zone reloads by result; a failed one publishes nothing.");
  out.sample("dnsd_reload_total", PrometheusText::label("result", "success"),
             control.reload_successes);
  out.sample("dnsd_reload_total", PrometheusText::label("result", "failure"),
             control.reload_failures);
  out.family("dnsd_zone_publications_total", "counter",
             "Zones published, by how: built whole from every object, or patched with the "
             "Services the API or the manifest files changed.");
  out.sample("dnsd_zone_publications_total", PrometheusText::label("build", "full"),
             control.zone_builds);
  out.sample("dnsd_zone_publications_total", PrometheusText::label("build", "patch"),
             control.zone_patches);
  out.family("dnsd_reload_last_success_timestamp_seconds", "gauge",
             "Unix time of the last zone published by a reload.");
  out.sample("dnsd_reload_last_success_timestamp_seconds", "", control.reload_last_success);
}

void renderCounter(PrometheusText& out, std::string_view name, std::string_view help,
                   uint64_t value) {
  out.family(name, "counter", help);
  out.sample(name, "", value);
}

void renderForward(PrometheusText& out, const ControlPlaneValues& control) {
  renderCounter(out, "dnsd_forward_requests_total", "Queries forwarded upstream.",
                control.forward_requests);
  renderCounter(out, "dnsd_forward_failures_total",
                "Forwarded queries that got no usable answer from any upstream.",
                control.forward_failures);
  renderCounter(out, "dnsd_cache_hits_total", "Forwarded names answered from the cache.",
                control.cache_hits);
  renderCounter(out, "dnsd_cache_misses_total", "Forwarded names not found in the cache.",
                control.cache_misses);
  renderCounter(out, "dnsd_forward_coalesced_total",
                "Queries that joined an identical one in flight upstream instead of being sent.",
                control.forward_coalesced);
  renderCounter(out, "dnsd_cache_served_stale_total",
                "Expired answers served because every upstream failed (--cache-serve-stale).",
                control.cache_stale);
  renderCounter(out, "dnsd_cache_prefetch_total",
                "Popular cache entries fetched again before they expired.",
                control.cache_prefetches);
  // Only a sum and a count: a summary without quantiles.
  out.family("dnsd_forward_request_duration_seconds", "summary",
             "Time (in seconds) upstream queries took.");
  out.sample("dnsd_forward_request_duration_seconds_sum", "", control.forward_latency_sum);
  out.sample("dnsd_forward_request_duration_seconds_count", "", control.forward_latency_count);
}

void renderKubernetes(PrometheusText& out, const KubernetesValues& k) {
  if (!k.enabled) return;
  out.family("dnsd_kubernetes_connected", "gauge",
             "1 when every watch of the Kubernetes API is open.");
  out.sample("dnsd_kubernetes_connected", "", uint64_t{k.connected});
  out.family("dnsd_kubernetes_last_event_age_seconds", "gauge",
             "Seconds since the Kubernetes API last sent an event or a bookmark.");
  out.sample("dnsd_kubernetes_last_event_age_seconds", "", k.last_event_age);
  auto perResource = [&](std::string_view name, std::string_view type, std::string_view help,
                         uint64_t KubernetesResource::*field) {
    out.family(name, type, help);
    for (const KubernetesResource& r : k.resources)
      out.sample(name, PrometheusText::label("resource", r.name), r.*field);
  };
  perResource("dnsd_kubernetes_watch_restarts_total", "counter",
              "Watches of the Kubernetes API that ended and were opened again.",
              &KubernetesResource::watch_restarts);
  perResource("dnsd_kubernetes_relists_total", "counter",
              "Lists of a resource after the first (its watch history expired).",
              &KubernetesResource::relists);
  perResource("dnsd_kubernetes_objects", "gauge", "Objects held from the Kubernetes API.",
              &KubernetesResource::objects);
  out.family("dnsd_kubernetes_events_total", "counter", "Watch events by resource and type.");
  for (const KubernetesResource& r : k.resources)
    for (auto [type, value] : {std::pair<const char*, uint64_t>{"ADDED", r.added},
                               {"MODIFIED", r.modified},
                               {"DELETED", r.deleted}})
      out.sample(
          "dnsd_kubernetes_events_total",
          PrometheusText::label("resource", r.name) + "," + PrometheusText::label("type", type),
          value);
  renderCounter(out, "dnsd_kubernetes_objects_rejected_total",
                "API objects (or parts of them) that cannot become DNS, skipped.", k.rejected);
}

void renderTransfers(PrometheusText& out, const TransferValues& t) {
  if (!t.enabled) return;
  out.family("dnsd_zone_transfers_total", "counter",
             "Zone transfers out by result: sent whole (axfr, ixfr, ixfr_as_axfr: an IXFR "
             "answered with the whole zone, up_to_date: the client had our serial), refused, "
             "error (another rcode), cut (the client stopped reading or went away).");
  for (auto [result, value] : {std::pair<const char*, uint64_t>{"axfr", t.axfr},
                               {"ixfr", t.ixfr},
                               {"ixfr_as_axfr", t.ixfr_as_axfr},
                               {"up_to_date", t.up_to_date},
                               {"refused", t.refused},
                               {"error", t.errors},
                               {"cut", t.cut}})
    out.sample("dnsd_zone_transfers_total", PrometheusText::label("result", result), value);
  renderCounter(out, "dnsd_notify_sent_total", "NOTIFY messages sent, retries included.",
                t.notifies_sent);
  out.family("dnsd_notify_pending", "gauge",
             "Zones times --notify secondaries not yet known to hold the serial notified: "
             "not acknowledged yet, or still below it when asked.");
  out.sample("dnsd_notify_pending", "", t.notifies_pending);
}

}  // namespace

Metrics::Metrics(std::string version) : version_(std::move(version)) {}

WorkerCounters& Metrics::registerWorker() {
  std::lock_guard lock(mutex_);
  return workers_.emplace_back();
}

void Metrics::setZone(uint64_t services, uint64_t records, uint64_t names, uint64_t serial) {
  std::lock_guard lock(mutex_);
  control_.zone_services = services;
  control_.zone_records = records;
  control_.zone_names = names;
  control_.zone_serial = serial;
}

void Metrics::reloadSucceeded(double unix_time, bool patched) {
  std::lock_guard lock(mutex_);
  ++control_.reload_successes;
  ++(patched ? control_.zone_patches : control_.zone_builds);
  control_.reload_last_success = unix_time;
}

void Metrics::reloadFailed() {
  std::lock_guard lock(mutex_);
  ++control_.reload_failures;
}

void Metrics::setCacheStats(uint64_t coalesced, uint64_t stale, uint64_t prefetches) {
  std::lock_guard lock(mutex_);
  control_.forward_coalesced = coalesced;
  control_.cache_stale = stale;
  control_.cache_prefetches = prefetches;
}

void Metrics::setForwardStats(uint64_t requests, uint64_t failures, uint64_t cache_hits,
                              uint64_t cache_misses, double latency_seconds_sum,
                              uint64_t latency_count) {
  std::lock_guard lock(mutex_);
  control_.forward_requests = requests;
  control_.forward_failures = failures;
  control_.cache_hits = cache_hits;
  control_.cache_misses = cache_misses;
  control_.forward_latency_sum = latency_seconds_sum;
  control_.forward_latency_count = latency_count;
}

void Metrics::setKubernetes(KubernetesValues values) {
  std::lock_guard lock(mutex_);
  kubernetes_ = std::move(values);
}

void Metrics::setTransfers(const TransferValues& values) {
  std::lock_guard lock(mutex_);
  transfers_ = values;
}

std::string Metrics::render() const {
  CounterTotals totals;
  ControlPlaneValues control;
  KubernetesValues kubernetes;
  TransferValues transfers;
  {
    std::lock_guard lock(mutex_);
    for (const WorkerCounters& worker : workers_) worker.addTo(totals);
    control = control_;
    kubernetes = kubernetes_;
    transfers = transfers_;
  }
  totals.autopath_hits += autopath_hits_.load(std::memory_order_relaxed);
  PrometheusText out;
  renderQueryPath(out, totals);
  renderZone(out, control);
  renderReload(out, control);
  renderForward(out, control);
  renderKubernetes(out, kubernetes);
  renderTransfers(out, transfers);
  renderCounter(out, "dnsd_autopath_hits_total",
                "Queries answered through autopath (the search path resolved server-side).",
                totals.autopath_hits);
  out.family("dnsd_build_info", "gauge", "A metric with a constant '1' value labeled by version.");
  out.sample("dnsd_build_info", PrometheusText::label("version", version_), uint64_t{1});
  return out.take();
}

}  // namespace dnsd::admin
