// Serving /metrics, /health and /ready: a poll() loop on one thread. A scrape or a probe is
// one short GET now and then, so the server reads one request per connection, answers and
// closes; several connections are served at once, so a client that stalls holds up nobody,
// and each has a deadline.
#include "dnsd/admin/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

namespace dnsd::admin {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxRequest = 8192;    // a request's line and headers; no body is read
constexpr size_t kMaxConnections = 64;  // more wait in the listen backlog
constexpr auto kDeadline = std::chrono::seconds(5);  // from accept to the last byte sent

std::string hostPort(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

base::Error bindError(const std::string& host, uint16_t port, int error) {
  std::string reason = error != 0 ? std::strerror(error) : "address not available";
  return base::Error{
      "admin HTTP server: cannot listen on " + hostPort(host, port) + " (" + reason + ")", ""};
}

// A listening socket on host:port, or -1 with errno set (EINVAL: not a numeric address).
int listenOn(const std::string& host, uint16_t port) {
  sockaddr_storage address{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof *v6;
  } else {
    errno = EINVAL;
    return -1;
  }
  const int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // SO_REUSEADDR only: with SO_REUSEPORT a second dnsd would share the port silently
  // instead of failing to start.
  int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 || listen(fd, 64) != 0) {
    const int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

uint16_t boundPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

std::string answer(int status, std::string_view reason, std::string_view type,
                   const std::string& body, bool head, std::string_view extra = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                    "\r\nContent-Type: " + std::string(type) +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
                    std::string(extra) + "Connection: close\r\n\r\n";
  if (!head) out += body;
  return out;
}

struct Connection {
  int fd = -1;
  Clock::time_point deadline;
  std::string in;   // the request so far
  std::string out;  // the answer, once the request is whole
  size_t sent = 0;
  // Answered and shut down for writing: what the client still sends is read and dropped
  // until it closes. Closing with unread bytes would send a reset, which can destroy the
  // answer before the client has read it (an over-long request).
  bool draining = false;
};

}  // namespace

HttpServer::HttpServer(const Metrics& metrics, std::function<bool()> ready,
                       std::string not_ready_reason)
    : metrics_(metrics), ready_(std::move(ready)), not_ready_reason_(std::move(not_ready_reason)) {}

HttpServer::~HttpServer() { stop(); }

// The request line decides; headers are read (up to kMaxRequest) and ignored.
std::string HttpServer::respond(const std::string& request) const {
  const std::string_view line(request.data(), request.find("\r\n"));
  const size_t method_end = line.find(' ');
  const size_t target_end = line.find(' ', method_end + 1);
  if (method_end == std::string_view::npos || target_end == std::string_view::npos ||
      !line.substr(target_end + 1).starts_with("HTTP/1."))
    return answer(400, "Bad Request", "text/plain", "Bad Request", false);
  const std::string_view method = line.substr(0, method_end);
  std::string_view path = line.substr(method_end + 1, target_end - method_end - 1);
  path = path.substr(0, path.find('?'));
  const bool head = method == "HEAD";
  if (method != "GET" && !head)
    return answer(405, "Method Not Allowed", "text/plain", "Method Not Allowed", false,
                  "Allow: GET, HEAD\r\n");
  if (path == "/metrics")
    return answer(200, "OK", "text/plain; version=0.0.4; charset=utf-8", metrics_.render(), head);
  if (path == "/health") return answer(200, "OK", "text/plain", "OK", head);
  if (path == "/ready") {
    const bool ready = ready_();
    return ready ? answer(200, "OK", "text/plain", "OK", head)
                 : answer(503, "Service Unavailable", "text/plain", not_ready_reason_, head);
  }
  return answer(404, "Not Found", "text/plain", "Not Found", head);
}

base::Status HttpServer::start(const std::string& host, uint16_t port) {
  if (thread_.joinable()) return base::Error{"admin HTTP server: already started", ""};
  errno = 0;
  const int listener = listenOn(host, port);
  if (listener < 0) return bindError(host, port, errno);
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    const int error = errno;
    close(listener);
    return bindError(host, port, error);
  }
  listener_ = listener;
  wake_ = wake;
  port_ = boundPort(listener);
  thread_ = std::thread([this] {
    // This thread never takes the process's signals: SIGTERM and SIGHUP wait for the main
    // thread's sigwait (server.cc). The server starts before the main thread blocks them,
    // and a SIGTERM taken here would end the process at once, without the lame duck or a
    // clean exit.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    serve();
  });
  return base::Ok{};
}

void HttpServer::serve() {
  std::vector<Connection> connections;
  std::vector<pollfd> polled;
  for (;;) {
    polled.clear();
    polled.push_back({wake_, POLLIN, 0});
    if (connections.size() < kMaxConnections) polled.push_back({listener_, POLLIN, 0});
    const size_t first = polled.size();
    auto now = Clock::now();
    auto next = Clock::time_point::max();
    for (const Connection& c : connections) {
      const bool writing = !c.out.empty() && !c.draining;
      polled.push_back({c.fd, static_cast<short>(writing ? POLLOUT : POLLIN), 0});
      next = std::min(next, c.deadline);
    }
    const int timeout = next == Clock::time_point::max()
                            ? -1
                            : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(
                                                   std::max(next - now, Clock::duration{}))
                                                   .count());
    if (poll(polled.data(), polled.size(), timeout) < 0 && errno != EINTR) break;
    if (polled[0].revents) break;  // stop()
    now = Clock::now();
    for (size_t i = first; i < polled.size(); ++i) {
      Connection& c = connections[i - first];
      const short events = polled[i].revents;
      bool done = now >= c.deadline;
      if (!done && c.draining && (events & (POLLIN | POLLHUP | POLLERR))) {
        char chunk[2048];
        const ssize_t n = recv(c.fd, chunk, sizeof chunk, 0);
        done = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
      } else if (!done && c.out.empty() && (events & (POLLIN | POLLHUP | POLLERR))) {
        char chunk[2048];
        const ssize_t n = recv(c.fd, chunk, sizeof chunk, 0);
        if (n > 0) {
          c.in.append(chunk, static_cast<size_t>(n));
          if (c.in.size() > kMaxRequest)
            c.out = answer(431, "Request Header Fields Too Large", "text/plain",
                           "Request Header Fields Too Large", false);
          else if (c.in.find("\r\n\r\n") != std::string::npos)
            c.out = respond(c.in);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          done = true;
        }
      } else if (!done && !c.out.empty() && (events & (POLLOUT | POLLHUP | POLLERR))) {
        const ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (n > 0) c.sent += static_cast<size_t>(n);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
          done = true;
        } else if (c.sent == c.out.size()) {
          shutdown(c.fd, SHUT_WR);
          c.draining = true;
        }
      }
      if (done) {
        close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(connections, [](const Connection& c) { return c.fd < 0; });
    if (connections.size() < kMaxConnections && polled.size() > 1 && polled[1].fd == listener_ &&
        polled[1].revents) {
      while (connections.size() < kMaxConnections) {
        const int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        connections.push_back({fd, now + kDeadline, {}, {}, 0, false});
      }
    }
  }
  for (const Connection& c : connections) close(c.fd);
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = write(wake_, &one, sizeof one);
  thread_.join();
  close(listener_);
  close(wake_);
  listener_ = wake_ = -1;
}

}  // namespace dnsd::admin
