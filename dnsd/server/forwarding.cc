#include "dnsd/server/forwarding.h"

#include <spdlog/spdlog.h>

#include "dnsd/wire/name.h"

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

base::Result<std::vector<forward::ForwardZone>> forwardZones(const Config& config) {
  std::vector<forward::ForwardZone> zones;
  for (const auto& text : config.forward_zones) {
    const size_t equals = text.find('=');
    auto fail = [&](const std::string& why) {
      return base::Error{"--forward-zone \"" + text + "\": " + why, ""};
    };
    if (equals == std::string::npos || equals == 0)
      return fail("expected DOMAIN=ADDR[:PORT][,ADDR...]");
    forward::ForwardZone zone;
    zone.domain = text.substr(0, equals);
    auto name = wire::Name::parse(zone.domain);
    if (!name || name->isRoot()) return fail("\"" + zone.domain + "\" is not a domain");
    std::string_view rest = std::string_view(text).substr(equals + 1);
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      auto u = forward::parseUpstream(item);
      if (!u) return fail("\"" + std::string(item) + "\" is not ADDR[:PORT]");
      if (isOwnAddress(config, *u))
        return fail(u->str() + " is dnsd's own listen address (a loop)");
      zone.upstreams.push_back(*u);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    if (zone.upstreams.empty()) return fail("no upstream");
    zones.push_back(std::move(zone));
  }
  return zones;
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
