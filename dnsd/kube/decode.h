// API JSON → the trimmed cluster objects DNS needs (CoreDNS plugin/kubernetes/object/*.go
// trims the same way): list pages item by item and watch events one at a time, so neither
// a relist nor a large object is ever held whole beside its decoded form.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "dnsd/base/result.h"
#include "dnsd/cluster/objects.h"

namespace dnsd::kube {

enum class Resource : uint8_t { Services, EndpointSlices, Namespaces, Pods };
inline constexpr int kResourceCount = 4;

// "services", "endpointslices", "namespaces", "pods": the API's plural names.
const char* nameOf(Resource resource);
// "/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices", ...; with `ns`, the
// namespaced form "/api/v1/namespaces/NS/services".
std::string pathOf(Resource resource, const std::string& ns = {});

// A Namespace keeps its name alone.
struct NamespaceObject {
  std::string name;
};

// What an API object becomes. `value` is monostate when the object exists but gives DNS
// nothing (a Pod with no IP yet or finished, a slice of FQDN addresses): then, as when it is
// rejected, an earlier version of it is forgotten.
struct Object {
  std::string key;  // "NS/NAME", or NAME for a Namespace; empty when the object has no name
  std::variant<std::monostate, cluster::Service, cluster::EndpointSlice, NamespaceObject,
               cluster::Pod>
      value;
  std::string rejected;  // why (part of) it cannot become DNS, for the one warning; counted
};

enum class EventType : uint8_t { Added, Modified, Deleted, Bookmark, Error };

struct Event {
  EventType type = EventType::Added;
  std::string resource_version;  // of the object, or the bookmark
  Object object;                 // Added, Modified, Deleted
  int code = 0;                  // Error: the Status's code (410: history expired)
  std::string message;           // Error: the Status's message
};

struct ListPage {
  std::string resource_version;
  std::string continue_token;  // empty on the last page
};

// Holds the JSON parser's buffers between calls; one per thread.
class Decoder {
 public:
  Decoder();
  ~Decoder();

  // One watch event: a line of the watch stream. An error (not JSON, not an event, an
  // object of another kind) means the stream cannot be trusted: drop it and retry.
  base::Result<Event> event(Resource resource, std::string_view line);

  // A list response. `body` gets padding appended for the parser (its size is restored).
  // Each item is passed to `item` as it is decoded.
  base::Result<ListPage> list(Resource resource, std::string& body,
                              const std::function<void(Object&&)>& item);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dnsd::kube
