// The admin HTTP endpoint (cpp-httplib, on its own threads): GET /metrics (Prometheus text),
// /health (200 while the process is alive) and /ready (200 once ready(), 503 before).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "dnsd/admin/metrics.h"
#include "dnsd/base/result.h"

namespace httplib {
class Server;
}

namespace dnsd::admin {

class HttpServer {
 public:
  // `ready` is called from the HTTP threads, so it must be thread-safe (an atomic load);
  // `not_ready_reason` is the body of a 503 from /ready.
  HttpServer(const Metrics& metrics, std::function<bool()> ready,
             std::string not_ready_reason = "not ready: no zone published yet");
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (port 0 picks a free one) and serves from a new thread; does not block.
  // Fails, saying the address, when it cannot bind.
  base::Status start(const std::string& host, uint16_t port);
  // Closes the listening socket and joins the server's threads; a no-op when not started.
  void stop();
  // The bound port (useful after start with port 0); 0 before start.
  uint16_t port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> makeServer() const;

  const Metrics& metrics_;
  const std::function<bool()> ready_;
  const std::string not_ready_reason_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};
  uint16_t port_ = 0;
};

}  // namespace dnsd::admin
