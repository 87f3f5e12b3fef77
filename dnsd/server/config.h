// Everything dnsd is told on its command line, as one value passed to the server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dnsd/base/ip.h"
#include "dnsd/cluster/cluster.h"
#include "dnsd/forward/forwarder.h"
#include "dnsd/zone/records.h"

namespace dnsd::server {

struct ListenAddress {
  base::IpAddress ip;    // for ":PORT", the IPv6 any address, dual-stack
  uint16_t port = 53;
  bool any = false;

  // "127.0.0.1:5353", "[::1]:5353", ":53", "0.0.0.0:53".
  static std::optional<ListenAddress> parse(const std::string& text);
  std::string str() const;
};

// The Kubernetes API as a source (server/kube_source.h).
struct KubeConfig {
  bool in_cluster = false;  // --kubernetes
  std::string kubeconfig;   // --kubeconfig
  std::vector<std::string> namespaces;
  std::string labels;
  int sync_timeout_s = 5;   // CoreDNS's startup_timeout
  int idle_timeout_s = 150;
  bool enabled() const { return in_cluster || !kubeconfig.empty(); }
};

struct Config {
  std::vector<std::string> manifests;
  std::vector<std::string> zone_files;  // RFC 1035 zones served beside the cluster zone
  std::string hosts_file;               // --hosts; empty: none
  std::vector<ListenAddress> listens;
  std::string cluster_domain = "cluster.local";
  uint32_t ttl = zone::kDefaultTtl;
  cluster::Options cluster;
  std::optional<base::IpAddress> dns_ip;
  std::string pods = "insecure";  // disabled | insecure | verified
  bool endpoint_pod_names = false;
  bool ptr_single = false;
  bool autopath = false;
  // Public zones of LoadBalancer and external addresses (CoreDNS k8s_external).
  std::vector<std::string> external_zones;
  std::string external_ns;                       // empty: ns1.ZONE
  std::vector<base::IpAddress> external_ns_ips;  // empty: kube-dns's external addresses
  bool watch = true;  // reload when a manifest changes (inotify)
  bool reload_cache = false;  // keep each file's parsed objects, so a reload parses only changes
  int threads = 0;  // UDP workers; 0: one per core
  int tcp_idle_timeout_ms = 10000;
  int tcp_max_connections = 1024;
  uint64_t tcp_max_queries = 0;  // per connection; 0: no cap
  // Forwarding of names that are not ours (forward/). Empty upstreams: /etc/resolv.conf.
  bool forward = true;
  std::vector<std::string> upstreams;
  std::vector<std::string> forward_zones;  // "DOMAIN=ADDR[:PORT][,ADDR...]"
  std::string resolv_conf = "/etc/resolv.conf";
  std::vector<std::string> allow_recursion;  // CIDRs; empty: RecursionPolicy::defaults
  size_t cache_capacity = forward::kDefaultCacheCapacity;
  uint32_t cache_max_success_ttl = forward::kDefaultMaxSuccessTtl;
  uint32_t cache_max_denial_ttl = forward::kDefaultMaxDenialTtl;
  uint32_t cache_serve_stale = 0;  // seconds; 0: never serve expired answers
  int upstream_timeout_ms = forward::kDefaultTimeoutMs;
  bool log_queries = false;
  std::string metrics;  // ADDR:PORT of /metrics /health /ready; empty: off
  std::string user;     // --user: whom to become once the sockets are bound (empty: stay)
  int lameduck_ms = 0;  // keep answering this long after SIGTERM, /ready saying 503
  KubeConfig kube;
  // Zone transfers out (server/transfer_server.h).
  std::vector<std::string> transfer_to;  // CIDRs that may AXFR/IXFR; empty: nobody
  int transfer_max = 10;                 // transfers at once
  std::vector<std::string> notify;       // ADDR[:PORT] of secondaries to NOTIFY
};

}  // namespace dnsd::server
