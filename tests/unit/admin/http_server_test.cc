// HttpServer: /health, /ready and /metrics over real HTTP on an ephemeral loopback port, and
// the errors and shutdowns around it.
#include "dnsd/admin/http_server.h"

#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <string>

namespace dnsd::admin {
namespace {

// GET path and return "STATUS BODY", or "no answer" when the request failed.
std::string get(uint16_t port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  httplib::Result result = client.Get(path);
  if (!result) return "no answer";
  return std::to_string(result->status) + " " + result->body;
}

TEST_CASE("the HTTP server answers /health, /ready and /metrics on an ephemeral port") {
  Metrics metrics("test");
  metrics.registerWorker().countRequest(Proto::Udp, 1, 0, 40, 80, 1000);
  std::atomic<bool> ready{false};
  HttpServer server(metrics, [&ready] { return ready.load(); });
  base::Status started = server.start("127.0.0.1", 0);
  REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().str()));
  REQUIRE(server.port() != 0);

  CHECK(get(server.port(), "/health") == "200 OK");
  CHECK(get(server.port(), "/ready") == "503 not ready: no zone published yet");
  ready = true;
  CHECK(get(server.port(), "/ready") == "200 OK");
  std::string scrape = get(server.port(), "/metrics");
  CHECK(scrape.starts_with("200 # HELP"));
  CHECK(scrape.find("dnsd_dns_requests_total{proto=\"udp\",type=\"A\"} 1\n") != std::string::npos);
  CHECK(get(server.port(), "/nothing").starts_with("404"));

  httplib::Client client("127.0.0.1", server.port());
  httplib::Result result = client.Get("/metrics");
  REQUIRE(result);
  CHECK(result->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");

  server.stop();
  CHECK(get(server.port(), "/health") == "no answer");
}

TEST_CASE("starting on a port already in use fails and names the address") {
  Metrics metrics;
  HttpServer first(metrics, [] { return true; });
  REQUIRE(first.start("127.0.0.1", 0).ok());
  HttpServer second(metrics, [] { return true; });
  base::Status started = second.start("127.0.0.1", first.port());
  REQUIRE_FALSE(started.ok());
  std::string expected = "cannot listen on 127.0.0.1:" + std::to_string(first.port());
  CHECK_MESSAGE(started.error().str().find(expected) != std::string::npos, started.error().str());
  CHECK(get(first.port(), "/health") == "200 OK");  // the first one keeps serving
}

TEST_CASE("an address that is not the host's fails to start") {
  Metrics metrics;
  HttpServer server(metrics, [] { return true; });
  base::Status started = server.start("192.0.2.1", 0);  // RFC 5737 TEST-NET-1
  REQUIRE_FALSE(started.ok());
  CHECK(started.error().str().find("192.0.2.1:0") != std::string::npos);
  server.stop();  // nothing to stop
}

TEST_CASE("stop right after start returns, twice, and the server can start again") {
  Metrics metrics;
  HttpServer server(metrics, [] { return true; });
  for (int i = 0; i < 20; ++i) {
    REQUIRE(server.start("127.0.0.1", 0).ok());
    server.stop();
    server.stop();
  }
  REQUIRE(server.start("127.0.0.1", 0).ok());
  CHECK_FALSE(server.start("127.0.0.1", 0).ok());  // already started
  CHECK(get(server.port(), "/health") == "200 OK");
}  // the destructor stops the last one

}  // namespace
}  // namespace dnsd::admin
