#include "dnsd/server/forwarding.h"

#include <spdlog/spdlog.h>

namespace dnsd::server {
namespace {

bool isOwnAddress(const Config& config, const forward::Upstream& u) {
  for (const auto& l : config.listens)
    if (forward::sameEndpoint(u, l.ip, l.port)) return true;
  return false;
}

}  // namespace

base::Result<RecursionPolicy> recursionPolicy(const Config& config) {
  if (config.allow_recursion.empty())
    return RecursionPolicy(
        RecursionPolicy::defaults(config.cluster.service_cidr, config.cluster.pod_cidr));
  std::vector<base::Cidr> cidrs;
  for (const auto& text : config.allow_recursion) {
    auto cidr = base::Cidr::parse(text);
    if (!cidr) return base::Error{"--allow-recursion: \"" + text + "\" is not a CIDR", ""};
    cidrs.push_back(*cidr);
  }
  return RecursionPolicy(std::move(cidrs));
}

base::Result<std::vector<forward::Upstream>> upstreams(const Config& config) {
  std::vector<forward::Upstream> out;
  if (!config.upstreams.empty()) {
    for (const auto& text : config.upstreams) {
      auto u = forward::parseUpstream(text);
      if (!u) return base::Error{"--upstream: \"" + text + "\" is not ADDR[:PORT]", ""};
      // Forwarding to ourselves would loop (CoreDNS loop plugin; CoreDNS loop README).
      if (isOwnAddress(config, *u))
        return base::Error{"--upstream " + u->str() + " is dnsd's own listen address (a loop)", ""};
      out.push_back(*u);
    }
    return out;
  }
  auto from_file = forward::upstreamsFromResolvConf(config.resolv_conf);
  if (!from_file) {
    spdlog::warn("forwarding off: {} (give --upstream)", from_file.error().str());
    return out;
  }
  for (const auto& u : *from_file) {
    if (isOwnAddress(config, u)) {
      spdlog::warn("forward: skipping {} from {}: it is dnsd's own listen address", u.str(),
                   config.resolv_conf);
      continue;
    }
    out.push_back(u);
  }
  if (out.empty()) spdlog::warn("forwarding off: no usable nameserver in {}", config.resolv_conf);
  return out;
}

}  // namespace dnsd::server
