// dnsd: flags and sub-commands → Config → server::run(). No logic of its own.
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <climits>
#include <cstdio>
#include <optional>

#include "dnsd/server/kube_source.h"
#include "dnsd/server/loader.h"
#include "dnsd/server/privileges.h"
#include "dnsd/server/query_log.h"
#include "dnsd/server/server.h"
#include "dnsd/zone/presentation.h"

namespace {

using dnsd::server::Config;

// An option whose text `parse` turns into `field` (parse returns an optional).
template <typename T, typename Parse>
void addParsed(CLI::App& app, const char* name, T& field, Parse parse, const char* what,
               const char* help) {
  app.add_option_function<std::string>(name, [&field, parse, name, what](const std::string& v) {
    auto parsed = parse(v);
    if (!parsed) throw CLI::ValidationError(name, "\"" + v + "\" is not " + what);
    field = *parsed;
  }, help);
}

void addZoneOptions(CLI::App& app, Config& c) {
  app.add_option("--cluster-domain", c.cluster_domain, "the cluster zone")
      ->capture_default_str();
  app.add_option("--ttl", c.ttl, "TTL of the cluster records, in seconds")
      ->capture_default_str()->check(CLI::Range(0, 3600));
  addParsed(app, "--service-cidr", c.cluster.service_cidr, dnsd::base::Cidr::parse, "a CIDR",
            "where ClusterIPs the manifests leave out are allocated (default 10.96.0.0/12)");
  addParsed(app, "--pod-cidr", c.cluster.pod_cidr, dnsd::base::Cidr::parse, "a CIDR",
            "where Pod IPs the manifests leave out are allocated (default 10.244.0.0/16)");
  addParsed(app, "--dns-ip", c.dns_ip, dnsd::base::IpAddress::parse, "an IP address",
            "address of ns.dns.DOMAIN (default: the ClusterIP of kube-dns.kube-system, if "
            "loaded)");
  app.add_option("--pods", c.pods,
                 "Pod IP names A-B-C-D.NS.pod.DOMAIN: disabled, insecure (any address in an "
                 "existing namespace, as kubeadm's CoreDNS) or verified (only a Pod's address)")
      ->capture_default_str()->check(CLI::IsMember({"disabled", "insecure", "verified"}));
  app.add_flag("--endpoint-pod-names", c.endpoint_pod_names,
               "name headless endpoints without hostname by their Pod's name, not dashed IP");
  app.add_flag("--autopath", c.autopath,
               "server-side search path for Pod clients: X.NS.svc.DOMAIN that does not exist "
               "is answered from X.svc.DOMAIN, X.DOMAIN or X upstream, as a CNAME");
  app.add_flag("--ptr-single", c.ptr_single,
               "one PTR per IP: the most specific name (the headless endpoint name)");
  app.add_option("--external-zone", c.external_zones,
                 "serve SVC.NS.ZONE with each Service's LoadBalancer and external addresses "
                 "(CoreDNS k8s_external); repeatable")
      ->type_name("ZONE");
  app.add_option("--external-ns", c.external_ns, "NS of the external zones (default ns1.ZONE)")
      ->type_name("NAME");
  app.add_option_function<std::vector<std::string>>(
         "--external-ns-ip",
         [&c](const std::vector<std::string>& texts) {
           for (const std::string& text : texts) {
             auto ip = dnsd::base::IpAddress::parse(text);
             if (!ip)
               throw CLI::ValidationError("--external-ns-ip",
                                          "\"" + text + "\" is not an IP address");
             c.external_ns_ips.push_back(*ip);
           }
         },
         "address of the external zones' NS; repeatable (default: the external addresses of "
         "kube-dns.kube-system)")
      ->type_name("IP");
}

// The Kubernetes API as a source: the server's flags and the sub-commands'.
void addKubeOptions(CLI::App& app, Config& c) {
  auto* in_cluster = app.add_flag(
      "--kubernetes", c.kube.in_cluster,
      "watch the Kubernetes API from inside a Pod: $KUBERNETES_SERVICE_HOST:_PORT, with the "
      "service account's CA and token (re-read as it rotates)");
  app.add_option("--kubeconfig", c.kube.kubeconfig,
                 "watch the Kubernetes API of this kubeconfig's current context (token, "
                 "tokenFile or client certificate)")
      ->check(CLI::ExistingFile)->excludes(in_cluster);
  app.add_option("--kube-namespaces", c.kube.namespaces,
                 "serve only these namespaces (comma-separated; watched one by one)")
      ->delimiter(',');
  app.add_option("--kube-labels", c.kube.labels,
                 "serve only Services, EndpointSlices and Pods matching this label selector "
                 "(kubectl -l syntax; the API server filters)");
  app.add_option("--kube-sync-timeout", c.kube.sync_timeout_s,
                 "seconds to wait for the first lists before serving (cluster names get "
                 "SERVFAIL until they are in)")
      ->capture_default_str()->check(CLI::Range(0, 3600));
  app.add_option("--kube-idle-timeout", c.kube.idle_timeout_s,
                 "reconnect a watch that sent nothing, not even a bookmark, for this many "
                 "seconds")
      ->capture_default_str()->check(CLI::Range(1, 86400));
}

// With --kubernetes or --kubeconfig, the API's objects listed once.
std::optional<dnsd::server::ApiObjects> listApi(const Config& config, const char* command) {
  if (!config.kube.enabled()) return dnsd::server::ApiObjects{{}, false};
  auto api = dnsd::server::listOnce(config);
  if (!api) {
    std::fprintf(stderr, "dnsd %s: %s\n", command, api.error().str().c_str());
    return std::nullopt;
  }
  return std::move(*api);
}

int check(const Config& config) {
  auto api = listApi(config, "check");
  if (!api) return 1;
  auto loaded = dnsd::server::loadZone(config, 1, nullptr,
                                       config.kube.enabled() ? &*api : nullptr);
  if (!loaded) {
    std::fprintf(stderr, "dnsd check: %s\n", loaded.error().str().c_str());
    return 1;
  }
  for (const auto& w : loaded->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::printf("ok: %s\n", loaded->summary().c_str());
  return 0;
}

// The serial is fixed so that two runs over the same manifests diff clean.
int records(const Config& config) {
  auto api = listApi(config, "records");
  if (!api) return 1;
  auto zones = dnsd::server::loadRecords(config, 1, config.kube.enabled() ? &*api : nullptr);
  if (!zones) {
    std::fprintf(stderr, "dnsd records: %s\n", zones.error().str().c_str());
    return 1;
  }
  std::fputs(dnsd::zone::zonesText(*zones).c_str(), stdout);
  return 0;
}

// What the server's flags fill in, beyond Config: parsed further after CLI11 is done.
struct Flags {
  Config config;
  std::vector<std::string> listens;
  std::string log_level = "info";
  std::string log_format = "text";
};

void tuneMalloc() {
  // A load builds and frees many large short-lived vectors and strings. By default
  // glibc gives each block over 128 KiB its own mmap, and gives the heap's top back as soon
  // as 128 KiB of it is free, so growing vectors and each stage after a free fault fresh
  // pages in, a large share of a big cluster's startup. Blocks up to 32 MiB
  // (glibc's cap) come from the heap instead, and the heap is never trimmed on its own:
  // the server trims it after each load (server.cc trimHeap()).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
}

// The server's flags; the zone flags are addZoneOptions()'.
void addServerOptions(CLI::App& app, Flags& f) {
  app.add_option("--manifests", f.config.manifests,
                 "manifest file or directory (*.yaml, *.yml, *.json, recursive); repeatable")
      ->check(CLI::ExistingPath);
  app.add_option("--listen", f.listens, "ADDR:PORT to serve UDP and TCP on; repeatable")
      ->default_str(":53");
  app.add_option("--zone-file", f.config.zone_files,
                 "RFC 1035 zone file served beside the cluster zone (a stub zone); repeatable")
      ->check(CLI::ExistingFile);
  app.add_option("--hosts", f.config.hosts_file,
                 "hosts file (/etc/hosts format) answered before the zones, A/AAAA and PTR "
                 "(CoreDNS hosts); re-read when it changes");
  app.add_option("--upstream", f.config.upstreams,
                 "ADDR[:PORT] to forward names that are not ours to; repeatable, tried in order "
                 "(default: the nameservers of --resolv-conf, never dnsd's own address)");
  app.add_option("--forward-zone", f.config.forward_zones,
                 "DOMAIN=ADDR[:PORT][,ADDR...]: names under DOMAIN go to these upstreams, in "
                 "order (kube-dns stubDomains); repeatable, the longest domain wins")
      ->type_name("DOMAIN=ADDRS");
  app.add_option("--resolv-conf", f.config.resolv_conf, "where default upstreams come from")
      ->capture_default_str();
  app.add_flag("!--no-forward", f.config.forward,
               "answer REFUSED for names that are not ours instead of forwarding them");
  app.add_option("--allow-recursion", f.config.allow_recursion,
                 "CIDR of clients whose other names are forwarded; repeatable (default: "
                 "loopback, RFC 1918, fc00::/7, the service and pod CIDRs); others get REFUSED");
  app.add_option("--upstream-timeout", f.config.upstream_timeout_ms,
                 "milliseconds to wait for an upstream before the next one")
      ->capture_default_str()->check(CLI::Range(50, 60000));
  app.add_option("--cache-capacity", f.config.cache_capacity,
                 "forwarded answers cached at most (0: no cache); cluster names are never cached")
      ->capture_default_str();
  app.add_option("--cache-max-ttl", f.config.cache_max_success_ttl,
                 "seconds a forwarded answer is cached at most")
      ->capture_default_str();
  app.add_option("--cache-max-denial-ttl", f.config.cache_max_denial_ttl,
                 "seconds a forwarded NXDOMAIN/NODATA is cached at most")
      ->capture_default_str();
  app.add_option("--cache-serve-stale", f.config.cache_serve_stale,
                 "when every upstream fails, answer from an entry expired less than this many "
                 "seconds ago, with TTL 30 (RFC 8767); 0: SERVFAIL")
      ->capture_default_str()->check(CLI::Range(0, 7 * 24 * 3600));
  app.add_option("--metrics", f.config.metrics,
                 "ADDR:PORT serving Prometheus /metrics, /health and /ready (e.g. :9153); off "
                 "when not given");
  app.add_option("--lameduck", f.config.lameduck_ms,
                 "after SIGTERM, keep answering this many milliseconds with /ready at 503")
      ->capture_default_str()->check(CLI::Range(0, 600000));
  app.add_flag("!--no-watch", f.config.watch,
               "do not reload when manifests change (SIGHUP still reloads)");
  app.add_flag("--reload-cache", f.config.reload_cache,
               "keep every manifest file's parsed objects, so a reload re-reads only the files "
               "that changed: faster reloads of large clusters, for about twice the memory");
  app.add_option("--threads", f.config.threads,
                 "UDP workers for each --listen address (0: one per core)")
      ->capture_default_str()->check(CLI::Range(0, 256));
  app.add_option("--tcp-idle-timeout", f.config.tcp_idle_timeout_ms,
                 "close idle TCP connections after this many milliseconds")
      ->capture_default_str()->check(CLI::Range(100, 3600000));
  app.add_option("--tcp-max-conns", f.config.tcp_max_connections, "TCP connections at most")
      ->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--tcp-max-queries", f.config.tcp_max_queries,
                 "queries on one TCP connection before it is closed (0: no cap)")
      ->capture_default_str();
  app.add_option("--transfer-to", f.config.transfer_to,
                 "CIDR of secondaries that may transfer every zone by AXFR or IXFR over TCP; "
                 "repeatable (default: nobody, others get REFUSED)");
  app.add_option("--transfer-max", f.config.transfer_max, "zone transfers at once")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("--notify", f.config.notify,
                 "ADDR[:PORT] of a secondary sent a NOTIFY whenever a zone changes, until it "
                 "answers; repeatable");
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("--log-format", f.log_format, "text, or json for log collectors")
      ->capture_default_str()->check(CLI::IsMember({"text", "json"}));
  app.add_option("--user", f.config.user,
                 "when started as root, become this user (and its groups) once the sockets are "
                 "bound; as root it is required (--user root stays root)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", std::string("dnsd ") + DNSD_VERSION);
  app.add_flag("--log-queries", f.config.log_queries,
               "one line per query (client, id, type, name, protocol, size, DO, buffer, rcode, "
               "flags, response size, duration), written asynchronously");
}

// The flags that need more than CLI11's checks, then the server.
int serve(Flags& f) {
  if (f.config.manifests.empty() && !f.config.kube.enabled()) {
    std::fprintf(stderr,
                 "dnsd: give --manifests PATH, --kubernetes or --kubeconfig FILE (see --help)\n");
    return 2;
  }
  if (auto allowed = dnsd::server::checkUser(f.config.user); !allowed) {
    std::fprintf(stderr, "dnsd: %s\n", allowed.error().str().c_str());
    return 2;
  }
  if (f.listens.empty()) f.listens.push_back(":53");
  for (const auto& l : f.listens) {
    auto a = dnsd::server::ListenAddress::parse(l);
    if (!a) {
      std::fprintf(stderr, "dnsd: --listen \"%s\": expected ADDR:PORT, e.g. 127.0.0.1:5353\n",
                   l.c_str());
      return 2;
    }
    f.config.listens.push_back(*a);
  }
  return dnsd::server::run(f.config);
}

}  // namespace

int main(int argc, char** argv) {
  tuneMalloc();
  CLI::App app{"dnsd: cluster DNS for Kubernetes manifests (the job CoreDNS does)"};
  Flags flags;
  addServerOptions(app, flags);
  addZoneOptions(app, flags.config);
  addKubeOptions(app, flags.config);

  // Offline sub-commands read the same inputs as the server: PATH... and the zone options.
  auto addPathsCommand = [&app](const char* name, const char* help, Config& c) {
    auto* cmd = app.add_subcommand(name, help);
    cmd->add_option("paths", c.manifests, "manifest files or directories");
    cmd->add_option("--zone-file", c.zone_files, "zone files too");
    addZoneOptions(*cmd, c);
    addKubeOptions(*cmd, c);
    return cmd;
  };
  Config check_config, records_config;
  auto* check_cmd =
      addPathsCommand("check", "validate manifests, print the first error", check_config);
  auto* records_cmd = addPathsCommand(
      "records", "print the zones dnsd would serve, in presentation format, sorted",
      records_config);

  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(flags.log_level));
  dnsd::server::setUpLogging(flags.log_format, flags.config.log_queries);
  for (auto [cmd, c] : {std::pair{check_cmd, &check_config}, {records_cmd, &records_config}})
    if (*cmd && c->manifests.empty() && !c->kube.enabled()) {
      std::fprintf(stderr, "dnsd %s: give manifest PATHs, --kubernetes or --kubeconfig FILE\n",
                   cmd->get_name().c_str());
      return 2;
    }
  if (*check_cmd) return check(check_config);
  if (*records_cmd) return records(records_config);
  return serve(flags);
}
