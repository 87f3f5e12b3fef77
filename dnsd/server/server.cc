#include "dnsd/server/server.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>

#include "dnsd/server/loader.h"
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

void reload(const Config& config, zone::SnapshotHolder& holder) {
  std::lock_guard lock(reload_mutex);
  auto current = holder.get();
  auto loaded = loadZone(config, nextSerial(current ? current->serial() : 0));
  if (!loaded) {
    spdlog::error("reload failed: {} (the previous zone keeps serving)", loaded.error().str());
    return;
  }
  holder.publish(loaded->snapshot);
  spdlog::info("reloaded: {}", loaded->summary());
}

}  // namespace

int run(const Config& config) {
  zone::SnapshotHolder holder;
  auto loaded = loadZone(config, nextSerial(0));
  if (!loaded) {
    spdlog::error("{}", loaded.error().str());
    return 1;
  }
  for (const auto& w : loaded->warnings) spdlog::warn("{}", w);
  holder.publish(loaded->snapshot);
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

  int stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&, w] { UdpWorker(sockets->udp[w], stop_fd, holder).run(); });
  threads.emplace_back([&] {
    TcpServer(sockets->tcp, stop_fd, holder, config.tcp_idle_timeout_ms,
              config.tcp_max_connections)
        .run();
  });
  Reloader reloader(config.manifests, [&] { reload(config, holder); });
  if (config.watch) reloader.start();
  std::string where;
  for (const auto& a : config.listens) where += (where.empty() ? "" : " ") + a.str();
  spdlog::info("serving {} on {} (udp, {} workers; tcp)", config.cluster_domain, where, workers);

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      reload(config, holder);
      continue;
    }
    spdlog::info("stopping on {}", sig == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  uint64_t one = 1;
  if (write(stop_fd, &one, sizeof one) != sizeof one) spdlog::warn("stop signal not delivered");
  for (auto& t : threads) t.join();
  close(stop_fd);
  return 0;
}

}  // namespace dnsd::server
