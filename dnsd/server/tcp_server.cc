#include "dnsd/server/tcp_server.h"

#include "dnsd/server/query_log.h"
#include "dnsd/server/transfer_server.h"
#include "dnsd/transfer/responder.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
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
                     int max_connections, uint64_t max_queries)
    : listen_fds_(std::move(listen_fds)),
      stop_fd_(shared.stop_fd),
      idle_timeout_ms_(idle_timeout_ms),
      max_connections_(static_cast<size_t>(max_connections)),
      max_queries_(max_queries),
      snapshot_(shared.holder),
      counters_(shared.metrics.registerWorker()),
      shared_(shared) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  deliver_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event dev{EPOLLIN, {.fd = deliver_fd_}};
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, deliver_fd_, &dev);
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
  if (deliver_fd_ >= 0) close(deliver_fd_);
}

void TcpServer::deliver(int fd, uint64_t id, const uint8_t* reply, size_t size) {
  {
    std::lock_guard lock(deliveries_mutex_);
    deliveries_.push_back({fd, id, std::vector<uint8_t>(reply, reply + size)});
  }
  uint64_t one = 1;
  if (write(deliver_fd_, &one, sizeof one) < 0) {
  }  // the counter saturating only means a wake-up is already pending
}

void TcpServer::takeDeliveries() {
  uint64_t count;
  if (read(deliver_fd_, &count, sizeof count) < 0) {
  }
  std::vector<Delivery> ready;
  {
    std::lock_guard lock(deliveries_mutex_);
    ready.swap(deliveries_);
  }
  for (auto& d : ready) {
    auto it = connections_.find(d.fd);
    if (it == connections_.end() || it->second.id != d.id) continue;  // closed meanwhile
    uint8_t len[2];
    wire::store16(len, static_cast<uint16_t>(d.reply.size()));
    it->second.out.insert(it->second.out.end(), len, len + 2);
    it->second.out.insert(it->second.out.end(), d.reply.begin(), d.reply.end());
    flush(d.fd, it->second);
  }
}

void TcpServer::run() {
  epoll_event events[64];
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, 64, 500);
    if (n < 0 && errno != EINTR) return;
    if (n == 0) snapshot_.current();  // idle: let go of a replaced snapshot (udp_worker.cc)
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == stop_fd_) return;
      if (fd == deliver_fd_) {
        takeDeliveries();
        continue;
      }
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
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (connections_.size() >= max_connections_) {
      close(fd);  // over the cap: refuse rather than starve the others
      continue;
    }
    epoll_event ev{EPOLLIN, {.fd = fd}};
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    Connection& c = connections_[fd];
    c.last_active_ms = nowMs();
    c.id = next_id_++;
    c.peer = peer;
    c.peer_len = peer_len;
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
    if (c.in.empty()) c.frame_start_ms = nowMs();
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
  while (c.in.size() - pos >= 2 && !(max_queries_ && c.queries >= max_queries_)) {
    size_t len = wire::load16(c.in.data() + pos);
    if (c.in.size() - pos - 2 < len) break;
    if (shared_.transfers && transfer::isTransferQuery(c.in.data() + pos + 2, len))
      return handOff(fd, c, pos + 2, len);
    uint64_t start = monotonicNs();
    const Decision d = answerFrame(c.in.data() + pos + 2, len, fd, c, snapshot);
    pos += 2 + len;
    ++c.queries;
    if (!d.answered()) continue;
    const size_t size = d.size;
    const wire::QueryView& q = handler_.query();
    uint64_t took = monotonicNs() - start;
    counters_.countRequest(admin::Proto::Tcp, q.qtype, d.rcode, len, size, took);
    if (shared_.log_queries) logQuery(c.peer, q, true, d.rcode, response_.data() + 2, size, took);
    wire::store16(response_.data(), static_cast<uint16_t>(size));
    c.out.insert(c.out.end(), response_.begin(), response_.begin() + 2 + size);
  }
  c.in.erase(c.in.begin(), c.in.begin() + pos);
  if (pos) c.frame_start_ms = c.in.empty() ? 0 : nowMs();
  if (!flush(fd, c)) return;
  if (max_queries_ && c.queries >= max_queries_ && c.out.empty()) closeConnection(fd);
}

// A zone transfer runs on a thread of its own (transfer_server.h): the connection, with the
// answers not yet sent to the queries before, leaves this loop for it.
void TcpServer::handOff(int fd, Connection& c, size_t at, size_t len) {
  std::vector<uint8_t> query(c.in.begin() + static_cast<std::ptrdiff_t>(at),
                             c.in.begin() + static_cast<std::ptrdiff_t>(at + len));
  std::vector<uint8_t> pending(c.out.begin() + static_cast<std::ptrdiff_t>(c.out_done),
                               c.out.end());
  const sockaddr_storage peer = c.peer;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  connections_.erase(fd);
  shared_.transfers->take(fd, peer, std::move(query), std::move(pending));
}

// The decision for one framed query, its response (if any) in response_ after the length.
// A query that goes upstream is handed to the forwarder, whose reply arrives through
// deliver().
Decision TcpServer::answerFrame(const uint8_t* in, size_t len, int fd, const Connection& c,
                                const zone::Snapshot* snapshot) {
  uint8_t* out = response_.data() + 2;
  const Request request{in, len, Transport::Tcp, &c.peer, wire::kMaxMessage};
  const Decision d = handler_.decide(request, snapshot, out);
  if (d.autopath_hit) counters_.countAutopathHit();
  if (d.upstream()) {
    forward::Client client;
    client.fd = fd;
    client.peer = c.peer;
    client.peer_len = c.peer_len;
    client.connection = c.id;
    handler_.submit(d, request, out, std::move(client));
    counters_.countForwarded(admin::Proto::Tcp, handler_.query().qtype);
  }
  return d;
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

// Safe to call twice: an fd no longer ours may already belong to another thread's socket.
void TcpServer::closeConnection(int fd) {
  if (connections_.erase(fd) == 0) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
}

// At most every 100 ms: a sweep costs a walk over every connection.
void TcpServer::expireIdle() {
  int64_t now = nowMs();
  if (now - last_sweep_ms_ < 100) return;
  last_sweep_ms_ = now;
  std::vector<int> idle;
  for (const auto& [fd, c] : connections_) {
    bool slow = c.frame_start_ms && now - c.frame_start_ms > idle_timeout_ms_;
    bool done = max_queries_ && c.queries >= max_queries_ && c.out.empty();
    if (now - c.last_active_ms > idle_timeout_ms_ || slow || done) idle.push_back(fd);
  }
  for (int fd : idle) closeConnection(fd);
}

}  // namespace dnsd::server
