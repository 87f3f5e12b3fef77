#include "dnsd/kube/decode.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "dnsd/cluster/names.h"

namespace dnsd::kube {

const char* nameOf(Resource resource) {
  switch (resource) {
    case Resource::Services: return "services";
    case Resource::EndpointSlices: return "endpointslices";
    case Resource::Namespaces: return "namespaces";
    case Resource::Pods: return "pods";
  }
  return "?";
}

std::string pathOf(Resource resource, const std::string& ns) {
  const std::string group =
      resource == Resource::EndpointSlices ? "/apis/discovery.k8s.io/v1" : "/api/v1";
  if (ns.empty() || resource == Resource::Namespaces) return group + "/" + nameOf(resource);
  return group + "/namespaces/" + ns + "/" + nameOf(resource);
}

namespace {

using simdjson::ondemand::array;
using simdjson::ondemand::json_type;
using simdjson::ondemand::object;
using simdjson::ondemand::value;

// The objects' `kind` in a list and in a watch event (a list says "ServiceList").
std::string_view kindOf(Resource resource) {
  switch (resource) {
    case Resource::Services: return "Service";
    case Resource::EndpointSlices: return "EndpointSlice";
    case Resource::Namespaces: return "Namespace";
    case Resource::Pods: return "Pod";
  }
  return "";
}

constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";

std::string str(value v) {
  if (v.type() != json_type::string) return {};
  return std::string(v.get_string().value());
}

// DNS names compare without case.
std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool isTrue(value v) { return v.type() == json_type::boolean && v.get_bool().value(); }

int integer(value v) {
  if (v.type() != json_type::number) return 0;
  int64_t n = v.get_int64().value();
  return n < 0 || n > 65535 ? 0 : static_cast<int>(n);
}

template <typename F>
void fields(value v, F&& f) {
  if (v.type() != json_type::object) return;
  for (simdjson::ondemand::field field : v.get_object()) f(field.unescaped_key().value(), field.value());
}

template <typename F>
void items(value v, F&& f) {
  if (v.type() != json_type::array) return;
  for (value item : v.get_array()) f(item);
}

struct Metadata {
  std::string name, ns, resource_version, service_name;
  bool deleting = false;
};

Metadata metadata(value v, bool want_service_label) {
  Metadata m;
  fields(v, [&](std::string_view key, value field) {
    if (key == "name") m.name = str(field);
    else if (key == "namespace") m.ns = str(field);
    else if (key == "resourceVersion") m.resource_version = str(field);
    else if (key == "deletionTimestamp") m.deleting = field.type() != json_type::null;
    else if (key == "labels" && want_service_label)
      fields(field, [&](std::string_view label, value text) {
        if (label == kServiceNameLabel) m.service_name = str(text);
      });
  });
  return m;
}

std::string protocol(std::string text) { return text.empty() ? "TCP" : text; }

// A Service's or a slice's ports. A slice port without a number means "all ports", which
// names nothing in DNS: dropped.
template <typename Port>
void ports(value v, std::vector<Port>& out) {
  items(v, [&](value port) {
    Port p;
    fields(port, [&](std::string_view key, value field) {
      if (key == "name") p.name = str(field);
      else if (key == "protocol") p.protocol = protocol(str(field));
      else if (key == "port") p.port = integer(field);
    });
    if (p.port > 0) out.push_back(std::move(p));
  });
}

// A decoded object in the making: its names checked, what it drops noted.
class Builder {
 public:
  explicit Builder(Resource resource) : resource_(resource) {}

  const std::string& kind() const { return kind_; }

  Object decode(value v, std::string& resource_version) {
    Object out;
    switch (resource_) {
      case Resource::Services: service(v, out); break;
      case Resource::EndpointSlices: slice(v, out); break;
      case Resource::Namespaces: namespaceObject(v, out); break;
      case Resource::Pods: pod(v, out); break;
    }
    resource_version = meta_.resource_version;
    if (!reason_.empty()) out.rejected = reason_;
    return out;
  }

 private:
  // The object's key, or false (and rejected) when its names break the API server's rules:
  // a namespace and a Service's or Namespace's name become labels of the zone and must be
  // DNS labels; a Pod's or EndpointSlice's name (`subdomain_name`) is never part of a name
  // served, and may be a DNS subdomain, dots and all, as the API server allows.
  bool named(Object& out, bool namespaced, bool subdomain_name = false) {
    out.key = namespaced ? meta_.ns + "/" + meta_.name : meta_.name;
    if (meta_.name.empty()) return reject("it has no metadata.name"), false;
    if (namespaced && !cluster::isDnsLabel(meta_.ns))
      return reject("namespace \"" + meta_.ns + "\" is not a DNS-1123 label"), false;
    if (subdomain_name && !cluster::isSubdomainName(meta_.name))
      return reject("name \"" + meta_.name + "\" is not a DNS-1123 subdomain"), false;
    if (!subdomain_name && !cluster::isDnsLabel(meta_.name))
      return reject("name \"" + meta_.name + "\" is not a DNS-1123 label"), false;
    return true;
  }
  void reject(std::string why) {
    if (reason_.empty()) reason_ = std::move(why);
  }
  cluster::Meta meta() const {
    cluster::Meta m;
    m.name = meta_.name;
    m.ns = meta_.ns;
    m.source.file = "kubernetes";
    return m;
  }

  std::optional<base::IpAddress> address(std::string_view text, std::string_view field) {
    auto ip = base::IpAddress::parse(text);
    if (!ip) reject(std::string(field) + " \"" + std::string(text) + "\" is not an IP address");
    return ip;
  }

  void service(value v, Object& out) {
    cluster::Service s;
    std::string type, cluster_ip;
    std::vector<std::string> cluster_ips, external_ips, ingress_ips;
    fields(v, [&](std::string_view key, value field) {
      if (key == "kind") kind_ = str(field);
      if (key == "metadata") meta_ = metadata(field, false);
      if (key == "status") return loadBalancer(field, ingress_ips, s.external_hostnames);
      if (key != "spec") return;
      fields(field, [&](std::string_view k, value f) {
        if (k == "type") type = str(f);
        else if (k == "clusterIP") cluster_ip = str(f);
        else if (k == "clusterIPs") items(f, [&](value ip) { cluster_ips.push_back(str(ip)); });
        else if (k == "externalIPs")
          items(f, [&](value ip) { external_ips.push_back(str(ip)); });
        else if (k == "externalName") s.external_name = str(f);
        else if (k == "publishNotReadyAddresses") s.publish_not_ready = isTrue(f);
        else if (k == "ports") ports(f, s.ports);
      });
    });
    if (!named(out, true)) return;
    s.meta = meta();
    // A bad external address or hostname is left out with a warning; the rest is served.
    for (const std::string& text : external_ips)
      if (auto ip = address(text, "spec.externalIPs")) s.external_ips.push_back(*ip);
    for (const std::string& text : ingress_ips)
      if (auto ip = address(text, "status.loadBalancer.ingress ip")) s.external_ips.push_back(*ip);
    std::erase_if(s.external_hostnames, [&](const std::string& hostname) {
      if (cluster::isDnsSubdomain(hostname)) return false;
      reject("status.loadBalancer.ingress hostname \"" + hostname +
             "\" is not a DNS-1123 subdomain");
      return true;
    });
    if (cluster_ips.empty() && !cluster_ip.empty()) cluster_ips.push_back(cluster_ip);
    if (type == "ExternalName") {
      s.type = cluster::ServiceType::ExternalName;
      std::string& target = s.external_name;
      target = lowercase(std::move(target));
      while (target.ends_with('.')) target.pop_back();
      if (target.empty()) return reject("ExternalName Service has no spec.externalName");
      out.value = std::move(s);
      return;
    }
    s.type = type == "NodePort"       ? cluster::ServiceType::NodePort
             : type == "LoadBalancer" ? cluster::ServiceType::LoadBalancer
                                      : cluster::ServiceType::ClusterIP;
    s.headless = !cluster_ips.empty() && cluster_ips.front() == "None";
    if (!s.headless) {
      for (const std::string& text : cluster_ips)
        if (auto ip = address(text, "spec.clusterIPs")) s.cluster_ips.push_back(*ip);
      // The API server always assigns one; without it the Service has no address to give.
      if (s.cluster_ips.empty()) return reject("it has no spec.clusterIP");
    }
    out.value = std::move(s);
  }

  // status.loadBalancer.ingress: an address or a hostname per entry, as the cloud's load
  // balancer controller writes them. Hostnames are compared lowercase, as DNS names are.
  static void loadBalancer(value status, std::vector<std::string>& ips,
                           std::vector<std::string>& hostnames) {
    fields(status, [&](std::string_view key, value balancer) {
      if (key != "loadBalancer") return;
      fields(balancer, [&](std::string_view k, value ingress) {
        if (k != "ingress") return;
        items(ingress, [&](value entry) {
          fields(entry, [&](std::string_view ek, value ev) {
            if (ek == "ip") {
              if (std::string ip = str(ev); !ip.empty()) ips.push_back(std::move(ip));
            } else if (ek == "hostname") {
              if (std::string name = lowercase(str(ev)); !name.empty())
                hostnames.push_back(std::move(name));
            }
          });
        });
      });
    });
  }

  void slice(value v, Object& out) {
    cluster::EndpointSlice s;
    std::string address_type;
    fields(v, [&](std::string_view key, value field) {
      if (key == "kind") kind_ = str(field);
      else if (key == "metadata") meta_ = metadata(field, true);
      else if (key == "addressType") address_type = str(field);
      else if (key == "endpoints") items(field, [&](value e) { endpoint(e, s); });
      else if (key == "ports") ports(field, s.ports);
    });
    if (!named(out, true, true)) return;
    if (address_type == "FQDN") return;  // CoreDNS skips these too: no address to serve
    if (address_type != "IPv4" && address_type != "IPv6")
      return reject("addressType \"" + address_type + "\" is not IPv4, IPv6 or FQDN");
    // A slice that belongs to no Service names nothing.
    if (meta_.service_name.empty()) return;
    if (!cluster::isDnsLabel(meta_.service_name))
      return reject("label " + std::string(kServiceNameLabel) + " \"" + meta_.service_name +
                    "\" is not a DNS-1123 label");
    s.meta = meta();
    s.service_name = meta_.service_name;
    out.value = std::move(s);
  }

  void endpoint(value v, cluster::EndpointSlice& s) {
    cluster::Endpoint e;
    fields(v, [&](std::string_view key, value field) {
      if (key == "addresses")
        items(field, [&](value a) {
          if (auto ip = address(str(a), "endpoint address")) e.addresses.push_back(*ip);
        });
      else if (key == "hostname") e.hostname = str(field);
      else if (key == "conditions")
        fields(field, [&](std::string_view c, value cv) {
          // Absent or null counts as ready (discovery.k8s.io/v1 EndpointConditions).
          if (c == "ready" && cv.type() == json_type::boolean) e.ready = cv.get_bool().value();
          else if (c == "terminating") e.terminating = isTrue(cv);
        });
      else if (key == "targetRef") {
        std::string kind, name;
        fields(field, [&](std::string_view t, value tv) {
          if (t == "kind") kind = str(tv);
          else if (t == "name") name = str(tv);
        });
        if (kind == "Pod") e.pod_name = name;
      }
    });
    if (!e.hostname.empty() && !cluster::isDnsLabel(e.hostname)) {
      reject("endpoint hostname \"" + e.hostname + "\" is not a DNS-1123 label");
      e.hostname.clear();
    }
    if (!e.addresses.empty()) s.endpoints.push_back(std::move(e));
  }

  void namespaceObject(value v, Object& out) {
    fields(v, [&](std::string_view key, value field) {
      if (key == "kind") kind_ = str(field);
      if (key == "metadata") meta_ = metadata(field, false);
    });
    if (named(out, false)) out.value = NamespaceObject{meta_.name};
  }

  // Only a running Pod's addresses matter (CoreDNS object/pod.go skips terminating Pods;
  // its watch leaves out finished ones).
  void pod(value v, Object& out) {
    cluster::Pod p;
    std::string pod_ip, phase;
    std::vector<std::string> pod_ips;
    fields(v, [&](std::string_view key, value field) {
      if (key == "kind") kind_ = str(field);
      if (key == "metadata") meta_ = metadata(field, false);
      if (key != "status") return;
      fields(field, [&](std::string_view k, value f) {
        if (k == "podIP") pod_ip = str(f);
        else if (k == "phase") phase = str(f);
        else if (k == "podIPs")
          items(f, [&](value entry) {
            fields(entry, [&](std::string_view ek, value ev) {
              if (ek == "ip") pod_ips.push_back(str(ev));
            });
          });
      });
    });
    if (!named(out, true, true)) return;
    if (pod_ips.empty() && !pod_ip.empty()) pod_ips.push_back(pod_ip);
    if (meta_.deleting || phase == "Succeeded" || phase == "Failed") return;
    for (const std::string& text : pod_ips)
      if (auto ip = address(text, "status.podIPs")) p.ips.push_back(*ip);
    if (p.ips.empty()) return;
    p.meta = meta();
    out.value = std::move(p);
  }

  Resource resource_;
  std::string kind_;
  Metadata meta_;
  std::string reason_;
};

// The object's `kind`, when it has one, must be the resource's.
bool kindMatches(std::string_view kind, Resource resource) {
  return kind.empty() || kind == kindOf(resource);
}

}  // namespace

struct Decoder::Impl {
  simdjson::ondemand::parser parser;
  std::string line;  // a padded copy of the event being parsed
};

Decoder::Decoder() : impl_(std::make_unique<Impl>()) {}
Decoder::~Decoder() = default;

base::Result<Event> Decoder::event(Resource resource, std::string_view text) {
  std::string& line = impl_->line;
  line.assign(text);
  line.reserve(line.size() + simdjson::SIMDJSON_PADDING);
  Event event;
  std::string type;
  try {
    auto document = impl_->parser.iterate(
        simdjson::padded_string_view(line.data(), line.size(), line.capacity()));
    object root = document.get_object();
    bool have_object = false;
    for (simdjson::ondemand::field field : root) {
      std::string_view key = field.unescaped_key().value();
      if (key == "type") {
        type = str(field.value());
      } else if (key == "object") {
        // The type comes first in what the API server writes; an object before it is read
        // as a change and the type checked after.
        have_object = true;
        value object_value = field.value();
        if (type == "ERROR") {
          fields(object_value, [&](std::string_view k, value v) {
            if (k == "code") event.code = static_cast<int>(v.get_int64().value());
            else if (k == "message") event.message = str(v);
          });
        } else if (type == "BOOKMARK") {
          fields(object_value, [&](std::string_view k, value v) {
            if (k == "metadata") event.resource_version = metadata(v, false).resource_version;
          });
        } else {
          Builder builder(resource);
          event.object = builder.decode(object_value, event.resource_version);
          if (!kindMatches(builder.kind(), resource))
            return base::Error{"a watch of " + std::string(nameOf(resource)) +
                                   " sent an object of kind " + builder.kind(), ""};
        }
      }
    }
    if (type == "ADDED") event.type = EventType::Added;
    else if (type == "MODIFIED") event.type = EventType::Modified;
    else if (type == "DELETED") event.type = EventType::Deleted;
    else if (type == "BOOKMARK") event.type = EventType::Bookmark;
    else if (type == "ERROR") event.type = EventType::Error;
    else return base::Error{"a watch event of unknown type \"" + type + "\"", ""};
    if (!have_object) return base::Error{"a watch event without an object", ""};
  } catch (const simdjson::simdjson_error& e) {
    return base::Error{std::string("a watch event that is not JSON: ") + e.what(), ""};
  }
  return event;
}

base::Result<ListPage> Decoder::list(Resource resource, std::string& body,
                                     const std::function<void(Object&&)>& item) {
  const size_t size = body.size();
  body.reserve(size + simdjson::SIMDJSON_PADDING);
  ListPage page;
  try {
    auto document = impl_->parser.iterate(
        simdjson::padded_string_view(body.data(), size, body.capacity()));
    object root = document.get_object();
    for (simdjson::ondemand::field field : root) {
      std::string_view key = field.unescaped_key().value();
      if (key == "kind") {
        const std::string kind = str(field.value());
        if (kind != std::string(kindOf(resource)) + "List")
          return base::Error{"a list of " + std::string(nameOf(resource)) + " came back as " +
                                 (kind.empty() ? "no kind" : kind), ""};
      } else if (key == "metadata") {
        fields(field.value(), [&](std::string_view k, value v) {
          if (k == "resourceVersion") page.resource_version = str(v);
          else if (k == "continue") page.continue_token = str(v);
        });
      } else if (key == "items") {
        items(field.value(), [&](value v) {
          std::string unused;
          item(Builder(resource).decode(v, unused));
        });
      }
    }
  } catch (const simdjson::simdjson_error& e) {
    return base::Error{std::string("a list response that is not JSON: ") + e.what(), ""};
  }
  return page;
}

}  // namespace dnsd::kube
