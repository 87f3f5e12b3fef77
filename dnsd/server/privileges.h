// Running without root: the check made before anything starts, and the drop to --user once
// every socket is bound (port 53 needs root or CAP_NET_BIND_SERVICE only to bind).
#pragma once

#include <string>

#include "dnsd/base/result.h"

namespace dnsd::server {

// Whether dnsd may start as the user it runs as, given --user (empty: not given). As root
// it must be told whom to become; `--user root` keeps root on purpose. As anyone else,
// --user can only name that user: only root can switch.
base::Status checkUser(const std::string& user);

// Becomes `user` with its groups (initgroups, setgid, setuid) when running as root and
// `user` is not root; otherwise does nothing. Checks that root cannot be regained.
base::Status dropPrivileges(const std::string& user);

}  // namespace dnsd::server
