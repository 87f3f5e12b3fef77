#include "dnsd/server/reloader.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>

namespace dnsd::server {
namespace {

constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                           IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB | IN_MODIFY;
constexpr int kMaxBurstMs = 500;  // reload even if changes keep coming

}  // namespace

Reloader::Reloader(std::vector<std::string> paths, std::function<void()> reload, int quiet_ms)
    : paths_(std::move(paths)), reload_(std::move(reload)), quiet_ms_(quiet_ms) {}

Reloader::~Reloader() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) < 0) spdlog::warn("reloader: stop not delivered");
    thread_.join();
  }
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
}

void Reloader::start() {
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (inotify_fd_ < 0 || stop_fd_ < 0) {
    spdlog::warn("reloader: inotify unavailable; reload with SIGHUP");
    return;
  }
  watchAll();
  thread_ = std::thread([this] { run(); });
}

// Run again after every change to watch new directories: adding a watch that exists only
// returns it, and removed directories drop their watches themselves.
void Reloader::watchAll() {
  namespace fs = std::filesystem;
  for (const auto& path : paths_) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      watchTree(path);
    } else {
      // A file is watched through its directory: editors replace files by renaming.
      fs::path parent = fs::path(path).parent_path();
      watchTree(parent.empty() ? "." : parent.string());
    }
  }
}

void Reloader::watchTree(const std::string& dir) {
  namespace fs = std::filesystem;
  inotify_add_watch(inotify_fd_, dir.c_str(), kMask);
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec)) inotify_add_watch(inotify_fd_, it->path().c_str(), kMask);
}

// True when inotify had a change (events drained), false on timeout or stop. IN_IGNORED
// (a watch gone with its directory) is not a change.
bool Reloader::waitForEvents(int timeout_ms) {
  pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  if (poll(fds, 2, timeout_ms) <= 0 || (fds[1].revents & POLLIN)) return false;
  alignas(inotify_event) char buf[16384];
  bool changed = false;
  for (ssize_t n; (n = read(inotify_fd_, buf, sizeof buf)) > 0;) {
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buf + at);
      changed |= (event->mask & kMask) != 0;
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
  return changed;
}

void Reloader::run() {
  for (;;) {
    if (!waitForEvents(-1)) {
      pollfd stop{stop_fd_, POLLIN, 0};
      if (poll(&stop, 1, 0) > 0) return;
      continue;
    }
    // Coalesce the burst: wait until it has been quiet for quiet_ms_.
    for (int waited = 0; waited < kMaxBurstMs && waitForEvents(quiet_ms_); waited += quiet_ms_) {
    }
    reload_();
    watchAll();
  }
}

}  // namespace dnsd::server
