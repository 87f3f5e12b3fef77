#include "dnsd/server/server.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "dnsd/admin/http_server.h"
#include "dnsd/admin/metrics.h"
#include "dnsd/base/priority.h"
#include "dnsd/hosts/hosts_file.h"
#include "dnsd/server/forwarding.h"
#include "dnsd/server/heap.h"
#include "dnsd/server/incremental_zone.h"
#include "dnsd/server/kube_source.h"
#include "dnsd/server/loader.h"
#include "dnsd/server/manifest_changes.h"
#include "dnsd/server/privileges.h"
#include "dnsd/server/reloader.h"
#include "dnsd/server/shared.h"
#include "dnsd/server/sockets.h"
#include "dnsd/server/tcp_server.h"
#include "dnsd/server/transfer_server.h"
#include "dnsd/server/udp_worker.h"
#include "dnsd/transfer/serial.h"
#include "dnsd/wire/splice.h"

namespace dnsd::server {
namespace {

// The clock's whole seconds, read from the clock nextWait() sleeps by. Not time(): glibc
// reads it from the kernel's coarse clock, which lags CLOCK_REALTIME by up to a tick (or
// longer on a busy virtual machine), so a wait that ended just after a second began could
// still find the serial held and sleep another second.
uint32_t clockSeconds() {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<uint32_t>(now.tv_sec);
}

// The serial of the publication that replaces `current` (transfer::nextSerial).
transfer::NextSerial nextSerialAfter(const std::shared_ptr<const zone::Snapshot>& current) {
  return transfer::nextSerial(current ? current->serial() : 0, clockSeconds());
}

struct Sockets {
  std::vector<int> udp;  // `workers` for each address, a worker each
  std::vector<int> tcp;
};

base::Result<Sockets> bindAll(const Config& config, int workers) {
  Sockets s;
  for (const auto& address : config.listens) {
    auto fd = openTcp(address);
    if (!fd) return fd.error();
    s.tcp.push_back(*fd);
    for (int w = 0; w < workers; ++w) {
      auto udp = openUdp(address);
      if (!udp) return udp.error();
      s.udp.push_back(*udp);
    }
  }
  return s;
}

// Reloads may come from SIGHUP and inotify at once: one at a time. With --reload-cache, the
// parsed manifests of the last load, so a reload parses only files that changed. Off by
// default: for a large cluster the objects cost more memory than the zone itself.
std::mutex reload_mutex;
manifest::Cache manifest_cache;

manifest::Cache* cacheFor(const Config& config) {
  return config.reload_cache ? &manifest_cache : nullptr;
}

// With the API as a source, the zone files as the last reload read them: API events rebuild
// from these (see ZoneFiles).
ZoneFiles zone_files;

// Does not trim the heap: reload() trims right after, run() once the workers answer, so
// that the first load's trim is not on the way to the first answer.
// Whether the zone being served was built from a complete list of the API: /ready waits for
// it, not for the client's own sync, which comes a rebuild earlier.
std::atomic<bool> served_synced{false};

// Zone transfers and NOTIFY, when --transfer-to or --notify is given: told of each
// publication.
TransferServer* transfers = nullptr;

// Set when the zone served kept the serial of an earlier publication in the same second
// (transfer::nextSerial): the main loop publishes again once that second is over, and until
// then the secondaries are offered the zone as it was when the serial was new, so that one
// serial never names two contents. Under reload_mutex.
bool serial_held = false;

void publish(const std::shared_ptr<const zone::Snapshot>& snapshot, size_t services, bool synced,
             zone::SnapshotHolder& holder, admin::Metrics& metrics, bool new_serial,
             const transfer::Patched* patched = nullptr) {
  holder.publish(snapshot);
  if (transfers) transfers->publish(snapshot, new_serial, patched);
  served_synced = synced;
  metrics.setZone(services, snapshot->recordCount(), snapshot->nodeCount(), snapshot->serial());
  metrics.reloadSucceeded(static_cast<double>(std::time(nullptr)), patched != nullptr);
}

void publish(const Loaded& loaded, zone::SnapshotHolder& holder, admin::Metrics& metrics,
             bool new_serial) {
  publish(loaded.snapshot, loaded.services, loaded.synced, holder, metrics, new_serial);
}

// API events applied one Service at a time, when the configuration allows it
// (IncrementalZone::supported). Under reload_mutex.
IncrementalZone incremental;
bool incremental_enabled = false;

// With the manifests as the only source (ManifestChanges::supported): each reload's objects,
// compared with the last reload's, give the changes applied to the zone. Under reload_mutex.
ManifestChanges manifest_changes;
bool follow_manifests = false;

// After a full build: the next API events are applied to it, or wait for another full build.
void followLoad(Loaded& loaded) {
  if (incremental_enabled && loaded.cluster && loaded.synced)
    incremental.reset(std::move(*loaded.cluster), loaded.options, std::move(loaded.own_apexes),
                      loaded.snapshot, std::move(loaded.edit));
  else
    incremental.invalidate();
  loaded.cluster.reset();
}

// The snapshot a reload replaced, until the last worker lets go of it; then the heap is
// trimmed again, since that free came after the reload's own trim. Under reload_mutex.
std::weak_ptr<const zone::Snapshot> retired;
bool retired_pending = false;

// When the API or a patch from the manifests last changed the zone. While changes keep coming,
// the heap is left as it is: each trim hands back pages the next build faults in again, which
// would cost every change more than the build itself.
std::chrono::steady_clock::time_point last_change;
constexpr auto kQuiet = std::chrono::seconds(5);

// After churn the stores' objects (the API's, or the manifests' with --reload-cache) lie
// scattered over the pages of the thread that read them, among freed ones: copied anew before
// a trim, so that it can hand those pages back.
void compactStores(KubeSource* kube) {
  const auto start = std::chrono::steady_clock::now();
  bool copied = kube && kube->compactStore();
  if (follow_manifests) {
    std::lock_guard lock(reload_mutex);
    copied = manifest_changes.compactStore() || copied;
  }
  if (copied)
    spdlog::info("the store's objects copied anew after churn in {} ms",
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count());
}

// Called about once a second: trims once the replaced snapshot is gone (and changes have
// paused for a while).
void trimAfterRetired(KubeSource* kube) {
  {
    std::lock_guard lock(reload_mutex);
    if (!retired_pending || !retired.expired()) return;
    if (std::chrono::steady_clock::now() - last_change < kQuiet) return;
    retired_pending = false;
  }
  compactStores(kube);  // outside the reload lock, which the API thread's patches take
  trimHeap();
}

// Warnings already logged: a zone rebuilt for every API event would repeat each of them.
// Bounded; forgetting them all now and then only repeats a warning once more.
class WarningLog {
 public:
  void log(const std::vector<std::string>& warnings) {
    if (seen_.size() > 10000) seen_.clear();
    for (const auto& w : warnings)
      if (seen_.insert(w).second) spdlog::warn("{}", w);
  }

 private:
  std::set<std::string> seen_;
};
WarningLog warning_log;

// What the zone is built from beside the manifests: the API's objects, when watched.
std::optional<ApiObjects> apiObjects(KubeSource* kube) {
  if (!kube) return std::nullopt;
  // Synced first: objects read after it are a whole list, never a part marked whole.
  bool synced = kube->synced();
  ApiObjects api{kube->takeInputs(), synced};
  api.keep_cluster = incremental_enabled;
  return api;
}

// --hosts, on the main thread: the table of the last good read, the version of the file it
// came from, and the last version tried, so a broken or missing file is reported once, not
// at every check.
struct HostsState {
  std::shared_ptr<const hosts::HostsTable> table;
  hosts::FileVersion tried;
  bool missing = false;
  std::chrono::steady_clock::time_point checked;
};
HostsState hosts_state;

// Reads the hosts file into hosts_state; an error leaves the last good table in place.
base::Status readHosts(const Config& config) {
  auto read = hosts::readHostsFile(config.hosts_file, config.ttl);
  if (!read) return read.error();
  hosts_state.table = read->table;
  hosts_state.tried = read->version;
  spdlog::info("hosts: {} names, {} addresses from {}", read->table->names(),
               read->table->addresses(), config.hosts_file);
  return base::Ok{};
}

// Reads the hosts file when its mtime, size or inode moved since the last read (CoreDNS
// hostsfile.go polls mtime and size every 5 s; the inode also catches a ConfigMap's symlink
// swap). A failure keeps the last good table.
void refreshHosts(const Config& config, admin::Metrics& metrics) {
  if (config.hosts_file.empty()) return;
  hosts_state.checked = std::chrono::steady_clock::now();
  auto version = hosts::versionOf(config.hosts_file);
  if (!version) {
    if (!std::exchange(hosts_state.missing, true)) {
      metrics.reloadFailed();
      spdlog::error("hosts: reload failed: {} (the previous table keeps serving)",
                    version.error().str());
    }
    return;
  }
  hosts_state.missing = false;
  if (*version == hosts_state.tried) return;
  hosts_state.tried = *version;
  if (auto read = readHosts(config); !read) {
    metrics.reloadFailed();
    spdlog::error("hosts: reload failed: {} (the previous table keeps serving)",
                  read.error().str());
  }
}

// Publishes the current snapshot again with the last hosts table read, when it serves
// another one (a new file, or a SIGHUP whose zone failed to build); the zones are not rebuilt.
void publishHosts(zone::SnapshotHolder& holder, admin::Metrics& metrics) {
  std::lock_guard lock(reload_mutex);
  auto current = holder.get();
  if (!current || current->hosts() == hosts_state.table.get()) return;
  holder.publish(current->withHosts(hosts_state.table));
  incremental.invalidate();  // the next API event builds on the new table
  metrics.reloadSucceeded(static_cast<double>(std::time(nullptr)));
  retired = current;
  retired_pending = true;
}

// Applies the changes since the last build to the zone served, API events and manifest edits
// alike: true when published, false when the zone must be built whole. `source` names them in
// the log; API events come often, so they are logged at debug.
bool applyChanges(std::string_view source, base::Result<kube::Store::Changes>&& changes,
                  zone::SnapshotHolder& holder, admin::Metrics& metrics,
                  const transfer::NextSerial& next, std::chrono::steady_clock::time_point start,
                  spdlog::level::level_enum level) {
  if (!changes) {
    spdlog::debug("{}: building the whole zone: {}", source, changes.error().message);
    return false;
  }
  auto current = holder.get();
  std::vector<std::string> warnings;
  const size_t services = changes->services.size();
  auto patched = incremental.apply(std::move(*changes), next.serial, warnings);
  if (!patched) {
    spdlog::debug("{}: building the whole zone: {}", source, patched.error().message);
    return false;
  }
  warning_log.log(warnings);
  publish(*patched, incremental.services(), true, holder, metrics, !next.held,
          &incremental.applied());
  serial_held = next.held;
  last_change = std::chrono::steady_clock::now();
  // No trim now (one walks the whole heap, and a patch frees a few pages), but once changes
  // pause, as after a build: a run of patches leaves freed pages in the heap too.
  retired = current;
  retired_pending = current != nullptr;
  spdlog::log(level, "{}: {} changed services applied to the zone, serial {}, in {:.3f} ms", source,
              services, (*patched)->serial(),
              std::chrono::duration<double, std::milli>(last_change - start).count());
  return true;
}

// The API's changes since the last publication, or why the whole zone is built instead: so
// many changes (a relist after an outage) that the zone would refuse them are not copied
// out of the store first.
base::Result<kube::Store::Changes> apiChanges(KubeSource& kube) {
  const auto [changed, total] = kube.changedServices();
  if (!IncrementalZone::takes(changed, total))
    return base::Error{std::to_string(changed) + " Services changed", ""};
  return kube.takeChanges();
}

// `from_api`: the API changed (or the serial catches up), not the manifests; logged at
// debug, as it happens often.
void reload(const Config& config, zone::SnapshotHolder& holder, admin::Metrics& metrics,
            KubeSource* kube, bool from_api) {
  std::lock_guard lock(reload_mutex);
  const auto current = holder.get();
  const transfer::NextSerial next = nextSerialAfter(current);
  if (kube && from_api && incremental.ready() &&
      applyChanges("kubernetes", apiChanges(*kube), holder, metrics, next,
                   std::chrono::steady_clock::now(), spdlog::level::debug))
    return;
  std::optional<ReadManifests> read;
  if (follow_manifests) {
    const auto start = std::chrono::steady_clock::now();
    // Only the files changed since the last read are parsed; a file that fails keeps the
    // cache and the store as they were, so the next read is compared with the zone served.
    auto files = manifest::loadChanges(config.manifests, manifest_cache);
    if (!files) {
      metrics.reloadFailed();
      spdlog::error("reload failed: {} (the previous zone keeps serving)", files.error().str());
      return;
    }
    auto changes = manifest_changes.apply(*files, manifest_cache);
    if (incremental.ready() && applyChanges("manifests", std::move(changes), holder, metrics, next,
                                            start, spdlog::level::info))
      return;
    read = ReadManifests{manifest::cached(manifest_cache), true};
  }
  auto api = apiObjects(kube);
  // With the API as a source, the files are read for a reload only: an API event must not
  // cost a parse of every file, nor fail on one caught mid-edit.
  if (api) api->event = from_api;
  auto loaded = loadZone(config, next.serial, kube ? &manifest_cache : cacheFor(config),
                         api ? &*api : nullptr, hosts_state.table, kube ? &zone_files : nullptr,
                         read ? &*read : nullptr);
  if (!loaded) {
    incremental.invalidate();
    metrics.reloadFailed();
    spdlog::error("reload failed: {} (the previous zone keeps serving)", loaded.error().str());
    return;
  }
  warning_log.log(loaded->warnings);
  publish(*loaded, holder, metrics, !next.held);
  followLoad(*loaded);
  serial_held = next.held;
  // Trimming costs milliseconds: for API events, which may come many a second, it waits
  // until they pause (trimAfterRetired) instead of delaying the next change.
  if (from_api)
    last_change = std::chrono::steady_clock::now();
  else
    trimHeap();
  retired = current;
  retired_pending = current != nullptr;
  if (from_api)
    spdlog::debug("kubernetes: published {}", loaded->summary());
  else
    spdlog::info("reloaded: {}", loaded->summary());
}

// Once changes have paused for a while, a zone that patches have grown is built whole
// again, as a SIGHUP would: the arena's dead regions and the pages the patches copied go,
// and the trim that follows the build hands them back to the system.
void compactWhenQuiet(const Config& config, zone::SnapshotHolder& holder, admin::Metrics& metrics,
                      KubeSource* kube) {
  {
    std::lock_guard lock(reload_mutex);
    if (!incremental.grown() || std::chrono::steady_clock::now() - last_change < kQuiet) return;
    incremental.invalidate();
  }
  spdlog::info("changes paused; building whole the zone that patches have grown");
  // Churn that grew the zone churned the store too: copied anew first, the build's trim
  // hands back its old pages as well (trimAfterRetired would, a wake-up later).
  compactStores(kube);
  reload(config, holder, metrics, kube, false);
}

int fail(const base::Error& error) {
  spdlog::error("{}", error.str());
  return 1;
}

// A running forwarder whose replies go straight to the UDP client, or through the TCP
// server to its connection; null when there is no upstream. --no-forward turns off the
// default upstreams; forward zones, named one by one, still apply.
base::Result<std::unique_ptr<forward::Forwarder>> startForwarder(const Config& config,
                                                                 TcpServer& tcp) {
  auto list = config.forward
                  ? upstreams(config)
                  : base::Result<std::vector<forward::Upstream>>(std::vector<forward::Upstream>{});
  if (!list) return list.error();
  auto zones = forwardZones(config);
  if (!zones) return zones.error();
  if (list->empty() && zones->empty()) return std::unique_ptr<forward::Forwarder>();
  forward::Options options;
  options.upstreams = *list;
  options.zones = *zones;
  options.timeout_ms = config.upstream_timeout_ms;
  options.cache_capacity = config.cache_capacity;
  options.max_success_ttl = config.cache_max_success_ttl;
  options.max_denial_ttl = config.cache_max_denial_ttl;
  options.serve_stale = config.cache_serve_stale;
  auto deliver = [&tcp](const forward::Client& c, const uint8_t* reply, size_t size) {
    std::vector<uint8_t> spliced;
    if (!c.prefix.empty()) {  // a chased CNAME: our part, then the upstream's answer
      const size_t capacity = c.tcp ? wire::kMaxMessage : c.limit;
      spliced.resize(std::max(capacity, c.prefix.size()));
      size = wire::spliceReply(c.prefix.data(), c.prefix.size(), reply, size, spliced.data(),
                               capacity, !c.tcp);
      reply = spliced.data();
    }
    if (c.tcp) return tcp.deliver(c.fd, c.connection, reply, size);
    sendto(c.fd, reply, size, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&c.peer), c.peer_len);
  };
  auto forwarder = std::make_unique<forward::Forwarder>(options, deliver);
  auto started = forwarder->start();
  if (!started) return started.error();
  std::string names;
  for (const auto& u : *list) names += (names.empty() ? "" : " ") + u.str();
  if (!names.empty()) spdlog::info("forwarding names that are not ours to {}", names);
  for (const auto& zone : *zones) {
    std::string to;
    for (const auto& u : zone.upstreams) to += (to.empty() ? "" : " ") + u.str();
    spdlog::info("forwarding {} to {}", zone.domain, to);
  }
  return forwarder;
}

void publishForwardStats(const forward::Forwarder* forwarder, admin::Metrics& metrics) {
  if (!forwarder) return;
  auto s = forwarder->stats();
  metrics.setCacheStats(s.coalesced, s.stale, s.prefetches);
  metrics.setForwardStats(s.requests, s.failures, s.cache_hits, s.cache_misses,
                          static_cast<double>(s.latency_us_sum) / 1e6, s.latency_count);
}

// Set by the API client's thread when it changed the store and has signalled; cleared by the
// main thread right before it reads the store, so a change during a rebuild signals again.
// Events arriving while a zone builds, or while a publication waits out its pause, are
// thereby published together by the next one.
std::atomic<bool> api_changed{false};

// After a publication of API changes, the next waits four times as long as that one took
// (at most kApiMaxPause): the first change after a quiet spell goes out at once, a burst's
// changes go out together at the end of the pause, and publishing takes at most about a
// fifth of a core, which it may share with a worker. A cheap patch pauses a fraction of a
// millisecond (a change that closely follows another waits that long); a whole-zone build,
// which costs more, coalesces more.
constexpr int kApiPauseFactor = 4;
constexpr auto kApiMaxPause = std::chrono::milliseconds(20);
// When the pause after the last publication of API changes ends (steady clock, ns).
std::atomic<int64_t> api_pause_end{0};

int64_t steadyNs(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// `cost`: what the publication took, which the pause is four times (at most kApiMaxPause).
void pauseAfterApi(std::chrono::nanoseconds cost) {
  api_pause_end = steadyNs(std::chrono::steady_clock::now()) +
                  std::min<std::chrono::nanoseconds>(kApiPauseFactor * cost, kApiMaxPause).count();
}

// The calling thread's CPU time.
std::chrono::nanoseconds threadCpu() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

// What the API client's thread needs to patch the zone itself; set while waitForSignals()
// runs, under reload_mutex.
struct ApiPatcher {
  zone::SnapshotHolder* holder = nullptr;
  admin::Metrics* metrics = nullptr;
  KubeSource* kube = nullptr;
};
ApiPatcher api_patcher;
std::atomic<bool> api_patching{false};

// On the API client's thread, after a change to the store or at a recall it asked for. A
// change into a zone that patches is patched there and then: handing it to the main thread
// would cost a signal and two more thread switches an event, as much as the patch itself.
// During the pause after a publication the changes wait in the store, and this thread is
// called again when the pause is over (kube::Client::recallAt) to patch them together. The
// rest (a change while the main thread publishes, or one that needs a whole build) is
// signalled to the main thread, which publishes it as before; builds stay off the thread
// that reads the watches.
void onApiChange() {
  if (api_changed.load()) return;  // the main thread will take it
  if (api_patching.load()) {
    std::unique_lock lock(reload_mutex, std::try_to_lock);
    if (lock.owns_lock() && api_patching.load() && incremental.ready() && !api_changed.load()) {
      const ApiPatcher& p = api_patcher;
      const auto start = std::chrono::steady_clock::now();
      if (const int64_t end = api_pause_end.load(); steadyNs(start) < end) {
        p.kube->recallAt(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(end)));
        return;
      }
      // The pause counts the patch's CPU, not its time on the clock: this thread yields to
      // the workers (base::yieldToQueries), and a patch stretched by their queries must not
      // hold back the next change four times as long.
      const auto cpu = threadCpu();
      auto changes = apiChanges(*p.kube);
      // A recall after the main thread took the changes (to move a held serial on).
      if (changes && changes->empty()) return;
      const transfer::NextSerial next = nextSerialAfter(p.holder->get());
      const bool was_held = serial_held;
      if (applyChanges("kubernetes", std::move(changes), *p.holder, *p.metrics, next, start,
                       spdlog::level::debug)) {
        pauseAfterApi(threadCpu() - cpu);
        // The main thread, waiting up to a second, moves a held serial on: it is told
        // (SIGUSR1 with api_changed clear) so that it wakes when the second is over.
        if (serial_held && !was_held) ::kill(::getpid(), SIGUSR1);
        return;
      }
      // The changes are taken: the main thread builds the whole zone from the store.
      incremental.invalidate();
    }
  }
  if (!api_changed.exchange(true)) ::kill(::getpid(), SIGUSR1);
}

// How long to wait for a signal: a second, or until the next second begins while the
// serial is held (and a little after, so the clock has surely passed it).
timespec nextWait() {
  {
    std::lock_guard lock(reload_mutex);
    if (!serial_held) return {1, 0};
  }
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const long ns = 1'000'000'000L - now.tv_nsec + 5'000'000L;
  return {ns / 1'000'000'000L, ns % 1'000'000'000L};
}

// The serial held since a publication earlier in this second moves on once the clock has
// passed it, with a publication of the current data.
bool serialDue(const zone::SnapshotHolder& holder) {
  std::lock_guard lock(reload_mutex);
  const auto current = holder.get();
  return serial_held && current && !nextSerialAfter(current).held;
}

// Waits for SIGHUP (reload), SIGUSR1 (the API changed) and SIGINT/SIGTERM (stop, 0). Once
// a second it refreshes the forwarder's and the API client's figures and checks for a
// forwarding loop (1: stop with an error). A held serial moves on in the next second.
int waitForSignals(const sigset_t& signals, const Config& config, zone::SnapshotHolder& holder,
                   admin::Metrics& metrics, forward::Forwarder* forwarder, KubeSource* kube) {
  // Builds and patches are background work to the workers, started by now on this core
  // and the other: a query's wake-up preempts them (the threads a build starts inherit it).
  base::yieldToQueries();
  if (kube && incremental_enabled) {
    std::lock_guard lock(reload_mutex);
    api_patcher = {&holder, &metrics, kube};
    api_patching = true;
  }
  // The API client's thread patches no more once this returns (what run() stops next).
  struct StopPatching {
    ~StopPatching() {
      std::lock_guard lock(reload_mutex);
      api_patching = false;
    }
  } stop_patching;
  bool api_deferred = false;
  auto publishApi = [&] {
    api_deferred = false;
    api_changed = false;
    const auto start = std::chrono::steady_clock::now();
    reload(config, holder, metrics, kube, true);
    pauseAfterApi(std::chrono::steady_clock::now() - start);
  };
  for (;;) {
    timespec wait = nextWait();
    if (api_deferred) {
      const long ns =
          std::max<int64_t>(0, api_pause_end.load() - steadyNs(std::chrono::steady_clock::now()));
      if (ns < wait.tv_sec * 1'000'000'000L + wait.tv_nsec) wait = {0, ns};
    }
    int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGUSR1 && api_changed.load()) {
      // api_changed stays set while the pause runs: the events that come meanwhile need no
      // signal, the publication at its end takes them all.
      if (steadyNs(std::chrono::steady_clock::now()) < api_pause_end.load())
        api_deferred = true;
      else
        publishApi();
    } else if (sig < 0 && api_deferred) {  // the wait ran out: the burst's interval is over
      publishApi();
    } else if ((sig < 0 || sig == SIGUSR1) && serialDue(holder)) {
      // The held serial's second is over, whatever woke this: the wait, or the API thread
      // telling of a patch that held the serial (nextWait then waits for the second's end).
      reload(config, holder, metrics, kube, true);
    }
    publishForwardStats(forwarder, metrics);
    if (kube) metrics.setKubernetes(kube->values());
    if (transfers) metrics.setTransfers(transfers->stats());
    if (kube || follow_manifests) compactWhenQuiet(config, holder, metrics, kube);
    trimAfterRetired(kube);
    if (forwarder && forwarder->loopDetected()) {
      spdlog::error(
          "forwarding loop detected: the probe {} came back to dnsd; an upstream "
          "forwards to dnsd (e.g. a node's 127.0.0.53). Give --upstream. Stopping.",
          forwarder->loopProbeName());
      return 1;
    }
    if (sig == SIGHUP) {
      refreshHosts(config, metrics);  // the zone built next serves the table read now
      reload(config, holder, metrics, kube, false);
    } else if (config.watch &&
               std::chrono::steady_clock::now() - hosts_state.checked >= std::chrono::seconds(1)) {
      refreshHosts(config, metrics);
    }
    publishHosts(holder, metrics);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("stopping on {}", sig == SIGINT ? "SIGINT" : "SIGTERM");
      return 0;
    }
  }
}

// /metrics, /health and /ready; started before the zone loads so /ready can say 503.
// Ready once answering and, with the API as a source, once the zone served was built from
// every resource's list (CoreDNS's ready plugin asks the kubernetes plugin's HasSynced).
base::Result<std::unique_ptr<admin::HttpServer>> startHttp(const Config& config,
                                                           const admin::Metrics& metrics,
                                                           const std::atomic<bool>& ready) {
  if (config.metrics.empty()) return std::unique_ptr<admin::HttpServer>();
  auto address = ListenAddress::parse(config.metrics);
  if (!address)
    return base::Error{"--metrics \"" + config.metrics + "\": expected ADDR:PORT, e.g. :9153", ""};
  auto http = std::make_unique<admin::HttpServer>(
      metrics, [&ready] { return ready.load() && served_synced.load(); });
  auto status = http->start(address->any ? "0.0.0.0" : address->ip.str(), address->port);
  if (!status) return status.error();
  return http;
}

// The first zone, loaded and published before any socket is bound: never serve before the
// data is there.
// The first serial. A serial is never ahead of the clock that chose it (transfer::nextSerial),
// so the clock is above every serial served before the restart, but for one served in the
// second the process started: with secondaries, the first serial is the next second's, and
// the first zone is published no sooner (loadFirstZone). A secondary holding a higher serial
// (a clock set back, or an older dnsd that let bursts run ahead of the clock) is continued
// from, so that it is never asked to go back.
uint32_t firstSerial(const Config& config, const TransferServer* secondaries, uint32_t started) {
  if (!secondaries) return clockSeconds();
  uint32_t serial = started + 1;
  auto zone = wire::Name::parse(config.cluster_domain);
  if (!zone) return serial;
  uint32_t held = secondaries->secondariesSerial(*zone, 1000);
  if (held != 0 && !transfer::serialLess(held, serial)) {
    spdlog::info("serial: a secondary holds {}, above the clock's {}: continuing from {}", held,
                 serial, held + 1);
    serial = held + 1;
  }
  return serial;
}

bool loadFirstZone(const Config& config, zone::SnapshotHolder& holder, admin::Metrics& metrics,
                   KubeSource* kube, uint32_t serial) {
  auto api = apiObjects(kube);
  std::optional<ReadManifests> read;
  if (follow_manifests) {
    auto files = manifest::loadChanges(config.manifests, manifest_cache);
    if (!files) {
      spdlog::error("{}", files.error().str());
      return false;
    }
    static_cast<void>(manifest_changes.apply(*files, manifest_cache));  // built whole below
    read = ReadManifests{manifest::cached(manifest_cache), true};
  }
  if (!config.hosts_file.empty())
    if (auto read = readHosts(config); !read) {
      spdlog::error("--hosts: {}", read.error().str());
      return false;
    }
  auto loaded =
      loadZone(config, serial, kube ? &manifest_cache : cacheFor(config), api ? &*api : nullptr,
               hosts_state.table, kube ? &zone_files : nullptr, read ? &*read : nullptr);
  if (!loaded) {
    spdlog::error("{}", loaded.error().str());
    return false;
  }
  warning_log.log(loaded->warnings);
  // Not before the clock reaches the serial (the next second, at most; a serial continued
  // from a secondary far ahead is not waited for).
  for (uint32_t now = clockSeconds(); transfer::serialLess(now, serial) && serial - now <= 1;
       now = clockSeconds())
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  publish(*loaded, holder, metrics, true);
  followLoad(*loaded);
  spdlog::info("{}", loaded->summary());
  loaded->snapshot.reset();  // the holder and the workers own it now: a reload can free it
  return true;
}

// Signals go to the main thread only: blocked before any other thread starts, then taken
// by waitForSignals().
sigset_t blockSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// Lame duck (CoreDNS health lameduck): not ready, still answering, so a rollout drains.
void lameDuck(const Config& config, std::atomic<bool>& ready) {
  ready = false;
  if (config.lameduck_ms <= 0) return;
  spdlog::info("lame duck: answering for {} ms more", config.lameduck_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(config.lameduck_ms));
}

void stopWorkers(Shared& shared, const std::vector<int>& udp, std::vector<std::thread>& threads) {
  uint64_t one = 1;
  shared.stopping = true;
  if (write(shared.stop_fd, &one, sizeof one) != sizeof one) spdlog::warn("stop not delivered");
  // Ends the UDP workers' waits in recvmmsg (the call fails with ENOTCONN on a socket with no
  // peer, yet wakes the readers); the forwarder can still send on these sockets.
  for (int fd : udp) shutdown(fd, SHUT_RD);
  for (auto& t : threads) t.join();
}

// Starts the API client and waits, up to --kube-sync-timeout, for every resource's first
// list; then the server starts either way (CoreDNS startup_timeout), cluster names getting
// SERVFAIL until the lists are in.
base::Status startKube(const Config& config, KubeSource& kube) {
  if (auto started = kube.start(onApiChange); !started) return started;
  spdlog::info("kubernetes: listing and watching {}", kube.server());
  const auto timeout = std::chrono::seconds(config.kube.sync_timeout_s);
  if (kube.waitSynced(timeout)) {
    api_changed = false;  // the first zone is built from what is listed now
    spdlog::info("kubernetes: synced");
  } else {
    spdlog::warn(
        "kubernetes: starting with unsynced Kubernetes API after {} s: cluster names "
        "get SERVFAIL and /ready says 503 until every resource is listed",
        config.kube.sync_timeout_s);
  }
  return base::Ok{};
}

}  // namespace

int run(const Config& config) {
  const uint32_t start_time = clockSeconds();
  // Before any thread starts, so that every thread inherits the mask and the signals reach
  // the main thread's sigtimedwait() alone.
  sigset_t signals = blockSignals();
  zone::SnapshotHolder holder;
  admin::Metrics metrics(DNSD_VERSION);
  std::atomic<bool> ready{false};
  std::unique_ptr<KubeSource> kube;
  if (config.kube.enabled()) {
    auto created = KubeSource::create(config);
    if (!created) return fail(created.error());
    kube = std::move(*created);
    incremental_enabled = IncrementalZone::supported(config);
  } else {
    follow_manifests = ManifestChanges::supported(config);
    incremental_enabled = follow_manifests;
  }
  auto http = startHttp(config, metrics, ready);
  if (!http) {
    spdlog::error("{}", http.error().str());
    return 1;
  }
  if (kube)
    if (auto started = startKube(config, *kube); !started) return fail(started.error());
  std::unique_ptr<TransferServer> transfer;
  if (!config.transfer_to.empty() || !config.notify.empty()) {
    auto options = transferOptions(config.transfer_to, config.notify, config.transfer_max,
                                   config.tcp_idle_timeout_ms);
    if (!options) return fail(options.error());
    transfer = std::make_unique<TransferServer>(std::move(*options));
    transfers = transfer.get();
  }
  if (!loadFirstZone(config, holder, metrics, kube.get(),
                     firstSerial(config, transfer.get(), start_time)))
    return 1;
  // The first load's garbage, given back before the threads that outlive it start: a new
  // thread takes over the malloc arena of a thread that ended, and one of the load's arenas
  // held by a worker would keep its unused top resident (see trimHeap()), more or less of
  // it as the load's threads happened to overlap.
  trimHeap();
  if (kube) metrics.setKubernetes(kube->values());

  int workers =
      config.threads > 0 ? config.threads : std::max(1u, std::thread::hardware_concurrency());
  auto sockets = bindAll(config, workers);
  if (!sockets) {
    spdlog::error("{}", sockets.error().str());
    return 1;
  }
  // Every listening socket is bound (the admin server's too): root is no longer needed.
  if (auto dropped = dropPrivileges(config.user); !dropped) return fail(dropped.error());
  if (!config.user.empty()) spdlog::info("running as {} (uid {})", config.user, getuid());

  auto policy = recursionPolicy(config);
  if (!policy) return fail(policy.error());
  Shared shared{eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
                holder,
                metrics,
                {nullptr, &*policy},
                config.log_queries,
                transfer.get()};
  TcpServer tcp(sockets->tcp, shared, config.tcp_idle_timeout_ms, config.tcp_max_connections,
                config.tcp_max_queries);
  auto forwarder = startForwarder(config, tcp);
  if (!forwarder) return fail(forwarder.error());
  shared.policy.forwarder = forwarder->get();

  // A change seen by the watcher is reloaded by the main thread, as SIGHUP is: every load
  // then builds in the main arena, which malloc_trim() shrinks whole (see trimHeap()).
  // Watching starts before answering, so a change made once an answer came is seen (its
  // SIGHUP waits, blocked, for waitForSignals()).
  // Zone files too: CoreDNS's `file` reloads a changed zone, and a file outside the
  // manifests' directories would otherwise need a SIGHUP.
  std::vector<std::string> watched = config.manifests;
  watched.insert(watched.end(), config.zone_files.begin(), config.zone_files.end());
  Reloader reloader(std::move(watched), [] { ::kill(::getpid(), SIGHUP); });
  if (config.watch) reloader.start();
  std::vector<std::thread> threads;
  for (int fd : sockets->udp) threads.emplace_back([&, fd] { UdpWorker(fd, shared).run(); });
  threads.emplace_back([&] { tcp.run(); });
  std::string where;
  for (const auto& a : config.listens) where += (where.empty() ? "" : " ") + a.str();
  spdlog::info("serving {} on {} (udp, {} workers{}; tcp)", config.cluster_domain, where, workers,
               config.listens.size() > 1 ? " each" : "");
  if (*http) spdlog::info("metrics, health and readiness on http://{}", config.metrics);
  if (transfer)
    if (auto started = transfer->start(); !started) return fail(started.error());
  ready = true;

  int status =
      waitForSignals(signals, config, holder, metrics, shared.policy.forwarder, kube.get());
  if (status == 0) lameDuck(config, ready);
  ready = false;
  stopWorkers(shared, sockets->udp, threads);
  // The forwarder may still send on the UDP sockets and into the TCP server: stop it first.
  forwarder->reset();
  for (int fd : sockets->udp) close(fd);
  close(shared.stop_fd);
  transfers = nullptr;
  transfer.reset();
  return status;
}

}  // namespace dnsd::server
