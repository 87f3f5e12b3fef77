// --log-queries: one line per query, as CoreDNS's log plugin writes it, through an spdlog
// async logger so a worker formats the line but never waits on I/O (a full queue drops the
// oldest line instead of blocking). Off by default: nothing of this runs then.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "dnsd/wire/query.h"

namespace dnsd::server {

// Sets up the "query" logger and the process's log format ("text" or "json").
void setUpLogging(const std::string& format, bool log_queries);

// `client ID "TYPE CLASS NAME PROTO SIZE DO BUFSIZE" RCODE FLAGS RSIZE DURATION`.
void logQuery(const sockaddr_storage& peer, const wire::QueryView& q, bool tcp, uint8_t rcode,
              const uint8_t* response, size_t response_size, uint64_t duration_ns) noexcept;

}  // namespace dnsd::server
