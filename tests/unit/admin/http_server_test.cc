// HttpServer: /health, /ready and /metrics over real HTTP on an ephemeral loopback port, and
// the errors and shutdowns around it.
#include "dnsd/admin/http_server.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

namespace dnsd::admin {
namespace {

// Sends `request` to 127.0.0.1:port and returns the whole answer (read until the server
// closes), or "" when nothing answers.
std::string roundTrip(uint16_t port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char chunk[4096];
    for (ssize_t n; (n = recv(fd, chunk, sizeof chunk, 0)) > 0;) answer.append(chunk, n);
  }
  close(fd);
  return answer;
}

// GET path and return "STATUS BODY", or "no answer" when the request failed; the body must
// be as long as Content-Length says.
std::string get(uint16_t port, const std::string& path) {
  const std::string answer =
      roundTrip(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n");
  const size_t end = answer.find("\r\n\r\n");
  if (!answer.starts_with("HTTP/1.1 ") || end == std::string::npos) return "no answer";
  const std::string body = answer.substr(end + 4);
  const size_t length = answer.find("\r\nContent-Length: ");
  if (length == std::string::npos || length > end ||
      std::stoul(answer.substr(length + 18)) != body.size())
    return "bad length";
  return answer.substr(9, 3) + " " + body;
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

  const std::string scraped = roundTrip(server.port(), "GET /metrics?name[]=x HTTP/1.0\r\n\r\n");
  CHECK(scraped.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") !=
        std::string::npos);
  const std::string head = roundTrip(server.port(), "HEAD /health HTTP/1.1\r\n\r\n");
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(head.ends_with("\r\n\r\n"));  // the headers alone
  CHECK(roundTrip(server.port(), "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
  CHECK(roundTrip(server.port(), "nonsense\r\n\r\n").starts_with("HTTP/1.1 400"));

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

TEST_CASE("a client that stalls or sends too much holds up no other") {
  Metrics metrics;
  HttpServer server(metrics, [] { return true; });
  REQUIRE(server.start("127.0.0.1", 0).ok());
  // A connection that sends half a request and waits.
  const int stalled = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server.port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(stalled, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(send(stalled, "GET /health HT", 14, MSG_NOSIGNAL) == 14);
  CHECK(get(server.port(), "/health") == "200 OK");
  const std::string huge = "GET /health HTTP/1.1\r\nX: " + std::string(10000, 'x') + "\r\n\r\n";
  CHECK(roundTrip(server.port(), huge).starts_with("HTTP/1.1 431"));
  close(stalled);
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
