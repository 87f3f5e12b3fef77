// Listening sockets: one UDP socket per worker and address (SO_REUSEPORT), one TCP listener
// per address. Errors say what to do.
#pragma once

#include <string>

#include "dnsd/base/result.h"
#include "dnsd/server/config.h"

namespace dnsd::server {

base::Result<int> openUdp(const ListenAddress& address);
base::Result<int> openTcp(const ListenAddress& address);

}  // namespace dnsd::server
