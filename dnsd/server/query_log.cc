#include "dnsd/server/query_log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace dnsd::server {
namespace {

std::shared_ptr<spdlog::logger> query_logger;

// %j: the message escaped for a JSON string.
class JsonMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        fmt::format_to(std::back_inserter(dest), "\\u{:04x}", static_cast<int>(c));
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessage>();
  }
};

std::string typeName(uint16_t t) {
  switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 255: return "ANY";
    default: return "TYPE" + std::to_string(t);
  }
}

const char* rcodeName(uint8_t r) {
  static const char* kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                 "NOTIMP",  "REFUSED"};
  return r < 6 ? kNames[r] : (r == 16 ? "BADVERS" : "RCODE");
}

std::string peerText(const sockaddr_storage& peer) {
  char ip[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (peer.ss_family == AF_INET) {
    const auto& s = reinterpret_cast<const sockaddr_in&>(peer);
    inet_ntop(AF_INET, &s.sin_addr, ip, sizeof ip);
    port = ntohs(s.sin_port);
    return std::string(ip) + ":" + std::to_string(port);
  }
  const auto& s = reinterpret_cast<const sockaddr_in6&>(peer);
  inet_ntop(AF_INET6, &s.sin6_addr, ip, sizeof ip);
  return "[" + std::string(ip) + "]:" + std::to_string(ntohs(s.sin6_port));
}

// The question name as the client wrote it.
std::string qnameText(const wire::QueryView& q) {
  std::string out;
  const uint8_t* p = q.packet + wire::kHeaderSize;
  for (size_t i = 0; p[i] != 0; i += p[i] + 1u) out.append(reinterpret_cast<const char*>(p + i + 1), p[i]).push_back('.');
  return out.empty() ? "." : out;
}

std::string flagsText(const uint8_t* r) {
  std::string f;
  auto add = [&f](bool on, const char* name) {
    if (on) f += (f.empty() ? "" : ",") + std::string(name);
  };
  add(r[2] & 0x80, "qr");
  add(r[2] & 0x04, "aa");
  add(r[2] & 0x02, "tc");
  add(r[2] & 0x01, "rd");
  add(r[3] & 0x80, "ra");
  return f;
}

}  // namespace

void setUpLogging(const std::string& format, bool log_queries) {
  if (format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JsonMessage>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e","level":"%l","logger":"%n","msg":"%j"})");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  if (!log_queries) return;
  spdlog::init_thread_pool(65536, 1);
  query_logger = spdlog::create_async_nb<spdlog::sinks::stdout_sink_mt>("query");
  if (format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JsonMessage>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e","level":"%l","logger":"%n","msg":"%j"})");
    query_logger->set_formatter(std::move(formatter));
  } else {
    query_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e query %v");
  }
}

void logQuery(const sockaddr_storage& peer, const wire::QueryView& q, bool tcp, uint8_t rcode,
              const uint8_t* response, size_t response_size, uint64_t duration_ns) noexcept {
  if (!query_logger || !q.has_question) return;
  try {
    query_logger->info("{} - {} \"{} IN {} {} {} {} {}\" {} {} {} {:.6f}s", peerText(peer), q.id,
                       typeName(q.qtype), qnameText(q), tcp ? "tcp" : "udp", q.size,
                       q.do_bit ? "true" : "false", q.has_edns ? q.udp_size : 512,
                       rcodeName(rcode), flagsText(response), response_size,
                       static_cast<double>(duration_ns) / 1e9);
  } catch (...) {
    // A log line is never worth a failed answer.
  }
}

}  // namespace dnsd::server
