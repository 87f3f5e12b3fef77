// Serving /metrics, /health and /ready with cpp-httplib.
#include "dnsd/admin/http_server.h"

#include <signal.h>

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace dnsd::admin {
namespace {

// Scrapes and probes are rare and short; a few threads are plenty (httplib's default is one
// per core, at least 8).
constexpr size_t kHttpThreads = 4;

// SO_REUSEADDR only: httplib's default sets SO_REUSEPORT, with which a second dnsd would
// share the port silently instead of failing to start.
void setSocketOptions(int socket) {
  int yes = 1;
  setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

std::string hostPort(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

base::Error bindError(const std::string& host, uint16_t port, int error) {
  std::string reason = error != 0 ? std::strerror(error) : "address not available";
  return base::Error{
      "admin HTTP server: cannot listen on " + hostPort(host, port) + " (" + reason + ")", ""};
}

}  // namespace

HttpServer::HttpServer(const Metrics& metrics, std::function<bool()> ready,
                       std::string not_ready_reason)
    : metrics_(metrics), ready_(std::move(ready)), not_ready_reason_(std::move(not_ready_reason)) {}

HttpServer::~HttpServer() { stop(); }

std::unique_ptr<httplib::Server> HttpServer::makeServer() const {
  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
  server->set_socket_options(setSocketOptions);
  server->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server->Get("/health", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("OK", "text/plain");
  });
  server->Get("/ready", [this](const httplib::Request&, httplib::Response& response) {
    bool ready = ready_();
    response.status = ready ? 200 : 503;
    response.set_content(ready ? "OK" : not_ready_reason_, "text/plain");
  });
  return server;
}

base::Status HttpServer::start(const std::string& host, uint16_t port) {
  if (thread_.joinable()) return base::Error{"admin HTTP server: already started", ""};
  std::unique_ptr<httplib::Server> server = makeServer();
  errno = 0;
  int bound =
      port == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, port) ? port : -1);
  if (bound < 0) return bindError(host, port, errno);
  server_ = std::move(server);
  port_ = static_cast<uint16_t>(bound);
  listen_returned_ = false;
  thread_ = std::thread([this] {
    // This thread, and the pool it starts, never take the process's signals: SIGTERM and
    // SIGHUP wait for the main thread's sigwait (server.cc). The server starts before the
    // main thread blocks them, and a SIGTERM taken here would end the process at once,
    // without the lame duck or a clean exit.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  return base::Ok{};
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  // httplib's stop() does nothing until listen_after_bind() has marked the server running, so
  // a stop() right after start() waits for that (or for the listener to have given up).
  while (!server_->is_running() && !listen_returned_) std::this_thread::yield();
  server_->stop();
  thread_.join();
  server_.reset();
}

}  // namespace dnsd::admin
