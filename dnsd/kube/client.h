// Lists and watches the API server's Services, EndpointSlices, Namespaces (and Pods when a
// feature needs them) into a Store, as client-go's reflector does (kubernetes.io "API
// Concepts": efficient detection of changes, watch bookmarks, resource versions): a paged
// list, then a watch from its resourceVersion with bookmarks, resumed from the last version
// seen; history expired (410) relists and applies the difference; errors back off with
// jitter. HTTP is libcurl's multi interface on an epoll loop of this client's one thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/kube/credentials.h"
#include "dnsd/kube/decode.h"
#include "dnsd/kube/store.h"

namespace dnsd::kube {

struct Options {
  Credentials credentials;
  std::vector<std::string> namespaces;  // empty: every namespace
  std::string label_selector;           // sent to the server for Services, slices and Pods
  bool pods = false;                    // watch Pods too (--pods verified, --autopath)
  int page_size = 500;
  // A watch that sends no byte for this long is dead: the API server sends a bookmark
  // about once a minute, so twice that and some.
  std::chrono::milliseconds idle_timeout{150000};
  size_t max_event_bytes = 4 << 20;                // one watch event; more drops the connection
  std::chrono::milliseconds backoff_initial{800};  // client-go's reflector backoff
  std::chrono::milliseconds backoff_max{30000};
};

// Counters for /metrics, per resource; read from any thread.
struct ResourceStats {
  std::atomic<uint64_t> watch_restarts{0};
  std::atomic<uint64_t> relists{0};
  std::array<std::atomic<uint64_t>, 3> events{};  // added, modified, deleted
  std::atomic<uint64_t> rejected{0};
};

struct Stats {
  std::atomic<bool> connected{false};     // every watch is open
  std::atomic<int64_t> last_event_ns{0};  // steady clock of the last event or bookmark
  std::array<ResourceStats, kResourceCount> resources;
};

class Client {
 public:
  // `changed` is called from the client's thread after an event or a relist changed the
  // store, or when a recall it asked for is due; it must return quickly.
  Client(Options options, Store& store, std::function<void()> changed);
  ~Client();  // stops the thread, closes every connection
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  base::Status start();
  // True once every watched resource has been listed whole; never false again.
  bool synced() const { return synced_.load(); }
  bool waitSynced(std::chrono::milliseconds timeout);
  // From `changed` only: call it again at `when`, unless a change calls it before. For a
  // caller that takes changes at most so often, and leaves them in the store meanwhile.
  void recallAt(std::chrono::steady_clock::time_point when);
  const Stats& stats() const { return stats_; }
  // The resources watched, for metrics labels.
  std::vector<Resource> resources() const;

 private:
  struct Watch;
  struct Loop;
  void run();
  bool markSynced();  // true when this call completed the first sync

  Options options_;
  Store& store_;
  std::function<void()> changed_;
  Stats stats_;
  std::atomic<bool> synced_{false};
  std::mutex sync_mutex_;
  std::condition_variable sync_cv_;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
};

}  // namespace dnsd::kube
