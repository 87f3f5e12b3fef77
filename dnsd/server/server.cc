#include "dnsd/server/server.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>

#include "dnsd/admin/http_server.h"
#include "dnsd/admin/metrics.h"
#include "dnsd/server/loader.h"
#include "dnsd/server/shared.h"
#include "dnsd/server/reloader.h"
#include "dnsd/server/sockets.h"
#include "dnsd/server/tcp_server.h"
#include "dnsd/server/udp_worker.h"

namespace dnsd::server {
namespace {

// Serials rise with every published zone: the clock, or one more than the last.
uint32_t nextSerial(uint32_t last) {
  auto now = static_cast<uint32_t>(std::time(nullptr));
  return now > last ? now : last + 1;
}

struct Sockets {
  std::vector<std::vector<int>> udp;  // per worker
  std::vector<int> tcp;
};

base::Result<Sockets> bindAll(const Config& config, int workers) {
  Sockets s;
  s.udp.resize(workers);
  for (const auto& address : config.listens) {
    auto fd = openTcp(address);
    if (!fd) return fd.error();
    s.tcp.push_back(*fd);
    for (int w = 0; w < workers; ++w) {
      auto udp = openUdp(address);
      if (!udp) return udp.error();
      s.udp[w].push_back(*udp);
    }
  }
  return s;
}

// Reloads may come from SIGHUP and inotify at once: one at a time.
std::mutex reload_mutex;

void publish(const Loaded& loaded, zone::SnapshotHolder& holder, admin::Metrics& metrics) {
  holder.publish(loaded.snapshot);
  const auto& snap = *loaded.snapshot;
  metrics.setZone(loaded.services, snap.recordCount(), snap.nodeCount(), snap.serial());
  metrics.reloadSucceeded(static_cast<double>(std::time(nullptr)));
}

void reload(const Config& config, zone::SnapshotHolder& holder, admin::Metrics& metrics) {
  std::lock_guard lock(reload_mutex);
  auto current = holder.get();
  auto loaded = loadZone(config, nextSerial(current ? current->serial() : 0));
  if (!loaded) {
    metrics.reloadFailed();
    spdlog::error("reload failed: {} (the previous zone keeps serving)", loaded.error().str());
    return;
  }
  for (const auto& w : loaded->warnings) spdlog::warn("{}", w);
  publish(*loaded, holder, metrics);
  spdlog::info("reloaded: {}", loaded->summary());
}

// /metrics, /health and /ready; started before the zone loads so /ready can say 503.
base::Result<std::unique_ptr<admin::HttpServer>> startHttp(const Config& config,
                                                           const admin::Metrics& metrics,
                                                           const std::atomic<bool>& ready) {
  if (config.metrics.empty()) return std::unique_ptr<admin::HttpServer>();
  auto address = ListenAddress::parse(config.metrics);
  if (!address)
    return base::Error{"--metrics \"" + config.metrics + "\": expected ADDR:PORT, e.g. :9153", ""};
  auto http = std::make_unique<admin::HttpServer>(metrics, [&ready] { return ready.load(); });
  auto status = http->start(address->any ? "0.0.0.0" : address->ip.str(), address->port);
  if (!status) return status.error();
  return http;
}

}  // namespace

int run(const Config& config) {
  zone::SnapshotHolder holder;
  admin::Metrics metrics(DNSD_VERSION);
  std::atomic<bool> ready{false};
  auto http = startHttp(config, metrics, ready);
  if (!http) {
    spdlog::error("{}", http.error().str());
    return 1;
  }
  auto loaded = loadZone(config, nextSerial(0));
  if (!loaded) {
    spdlog::error("{}", loaded.error().str());
    return 1;
  }
  for (const auto& w : loaded->warnings) spdlog::warn("{}", w);
  publish(*loaded, holder, metrics);
  spdlog::info("{}", loaded->summary());

  int workers = config.threads > 0 ? config.threads
                                   : std::max(1u, std::thread::hardware_concurrency());
  auto sockets = bindAll(config, workers);
  if (!sockets) {
    spdlog::error("{}", sockets.error().str());
    return 1;
  }
  // Signals go to this thread only: block them before any worker starts.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Shared shared{eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), holder, metrics};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&, w] { UdpWorker(sockets->udp[w], shared).run(); });
  threads.emplace_back([&] {
    TcpServer(sockets->tcp, shared, config.tcp_idle_timeout_ms, config.tcp_max_connections)
        .run();
  });
  Reloader reloader(config.manifests, [&] { reload(config, holder, metrics); });
  if (config.watch) reloader.start();
  std::string where;
  for (const auto& a : config.listens) where += (where.empty() ? "" : " ") + a.str();
  spdlog::info("serving {} on {} (udp, {} workers; tcp)", config.cluster_domain, where, workers);
  if (*http) spdlog::info("metrics, health and readiness on http://{}", config.metrics);
  ready = true;

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      reload(config, holder, metrics);
      continue;
    }
    spdlog::info("stopping on {}", sig == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  // Lame duck (CoreDNS health lameduck): not ready, still answering, so a rollout drains.
  ready = false;
  if (config.lameduck_ms > 0) {
    spdlog::info("lame duck: answering for {} ms more", config.lameduck_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(config.lameduck_ms));
  }
  uint64_t one = 1;
  if (write(shared.stop_fd, &one, sizeof one) != sizeof one) spdlog::warn("stop not delivered");
  for (auto& t : threads) t.join();
  close(shared.stop_fd);
  return 0;
}

}  // namespace dnsd::server
