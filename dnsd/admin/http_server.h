// The admin HTTP endpoint, on a thread of its own: GET /metrics (Prometheus text), /health
// (200 while the process is alive) and /ready (200 once ready(), 503 before). HTTP/1.1, one
// request per connection (every answer says `Connection: close`).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "dnsd/admin/metrics.h"
#include "dnsd/base/result.h"

namespace dnsd::admin {

class HttpServer {
 public:
  // `ready` is called from the HTTP thread, so it must be thread-safe (an atomic load);
  // `not_ready_reason` is the body of a 503 from /ready.
  HttpServer(const Metrics& metrics, std::function<bool()> ready,
             std::string not_ready_reason = "not ready: no zone published yet");
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (a numeric IPv4 or IPv6 address; port 0 picks a free one) and serves
  // from a new thread; does not block. Fails, saying the address, when it cannot bind.
  base::Status start(const std::string& host, uint16_t port);
  // Closes the listening socket and every connection and joins the thread; a no-op when
  // not started.
  void stop();
  // The bound port (useful after start with port 0); 0 before start.
  uint16_t port() const { return port_; }

 private:
  void serve();  // the thread: accepts, reads requests, writes answers, until stop()
  std::string respond(const std::string& request) const;

  const Metrics& metrics_;
  const std::function<bool()> ready_;
  const std::string not_ready_reason_;
  int listener_ = -1;
  int wake_ = -1;  // an eventfd: stop() writes it to end serve()
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace dnsd::admin
