#include "dnsd/server/tcp_server.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace dnsd::server {
namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr size_t kMaxPending = 256 * 1024;  // unsent responses before we stop reading

}  // namespace

TcpServer::TcpServer(std::vector<int> listen_fds, const Shared& shared, int idle_timeout_ms,
                     int max_connections)
    : listen_fds_(std::move(listen_fds)),
      stop_fd_(shared.stop_fd),
      idle_timeout_ms_(idle_timeout_ms),
      max_connections_(static_cast<size_t>(max_connections)),
      snapshot_(shared.holder),
      counters_(shared.metrics.registerWorker()) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  for (int fd : listen_fds_) {
    epoll_event ev{EPOLLIN, {.fd = fd}};
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  epoll_event ev{EPOLLIN, {.fd = stop_fd_}};
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev);
}

TcpServer::~TcpServer() {
  for (auto& [fd, c] : connections_) close(fd);
  for (int fd : listen_fds_) close(fd);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void TcpServer::run() {
  epoll_event events[64];
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, 64, 500);
    if (n < 0 && errno != EINTR) return;
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == stop_fd_) return;
      if (std::find(listen_fds_.begin(), listen_fds_.end(), fd) != listen_fds_.end()) {
        accept(fd);
        continue;
      }
      auto it = connections_.find(fd);
      if (it == connections_.end()) continue;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) {
        closeConnection(fd);
        continue;
      }
      if ((events[i].events & EPOLLOUT) && !flush(fd, it->second)) continue;
      if (events[i].events & EPOLLIN) readable(fd);
    }
    expireIdle();
  }
}

void TcpServer::accept(int listen_fd) {
  for (;;) {
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (connections_.size() >= max_connections_) {
      close(fd);  // over the cap: refuse rather than starve the others
      continue;
    }
    epoll_event ev{EPOLLIN, {.fd = fd}};
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    connections_[fd].last_active_ms = nowMs();
  }
}

void TcpServer::readable(int fd) {
  Connection& c = connections_[fd];
  uint8_t buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0) {
      // The client finished sending; answer what is complete, then close once flushed.
      answerFrames(fd, c);
      closeConnection(fd);
      return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      closeConnection(fd);
      return;
    }
    c.in.insert(c.in.end(), buf, buf + n);
    c.last_active_ms = nowMs();
    if (c.in.size() > 2 + wire::kMaxMessage) break;
  }
  answerFrames(fd, c);
}

// Answers every complete frame in the input, in order (RFC 7766 §6.2.1.1 allows reordering;
// in-order is simpler for clients).
void TcpServer::answerFrames(int fd, Connection& c) {
  size_t pos = 0;
  const zone::Snapshot* snapshot = snapshot_.current();
  while (c.in.size() - pos >= 2) {
    size_t len = wire::load16(c.in.data() + pos);
    if (c.in.size() - pos - 2 < len) break;
    uint64_t start = monotonicNs();
    size_t size = handler_.handle(c.in.data() + pos + 2, len, response_.data() + 2,
                                  wire::kMaxMessage, true, snapshot);
    pos += 2 + len;
    if (size == 0) continue;
    counters_.countRequest(admin::Proto::Tcp, handler_.query.qtype, handler_.rcode, len, size,
                           monotonicNs() - start);
    wire::store16(response_.data(), static_cast<uint16_t>(size));
    c.out.insert(c.out.end(), response_.begin(), response_.begin() + 2 + size);
  }
  c.in.erase(c.in.begin(), c.in.begin() + pos);
  flush(fd, c);
}

// Writes what is pending; false when the connection was closed.
bool TcpServer::flush(int fd, Connection& c) {
  while (c.out_done < c.out.size()) {
    ssize_t n = send(fd, c.out.data() + c.out_done, c.out.size() - c.out_done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        closeConnection(fd);
        return false;
      }
      break;
    }
    c.out_done += n;
  }
  if (c.out_done == c.out.size()) {
    c.out.clear();
    c.out_done = 0;
  }
  // Wait for room when responses are pending; stop reading when too much is.
  uint32_t want = c.out.empty() ? EPOLLIN : EPOLLOUT;
  if (!c.out.empty() && c.out.size() < kMaxPending) want |= EPOLLIN;
  epoll_event ev{want, {.fd = fd}};
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
  return true;
}

void TcpServer::closeConnection(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  connections_.erase(fd);
}

void TcpServer::expireIdle() {
  int64_t now = nowMs();
  std::vector<int> idle;
  for (const auto& [fd, c] : connections_)
    if (now - c.last_active_ms > idle_timeout_ms_) idle.push_back(fd);
  for (int fd : idle) closeConnection(fd);
}

}  // namespace dnsd::server
