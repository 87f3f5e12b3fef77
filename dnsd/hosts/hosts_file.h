// The hosts file format (hosts(5), as /etc/hosts and CoreDNS's hosts plugin read it): an
// address, then one or more names, per line; '#' starts a comment. Reading it and telling
// whether it changed since the last read.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/hosts/hosts_table.h"

namespace dnsd::hosts {

// The lines of a hosts file's text; `source` names it in errors ("FILE:LINE: ...").
base::Result<std::vector<HostsLine>> parseHosts(std::string_view text, const std::string& source);

// What identifies one version of the file: a change of any field means it was written or
// replaced (a ConfigMap volume swaps a symlink, which changes the inode).
struct FileVersion {
  int64_t mtime_ns = -1;
  int64_t size = -1;
  uint64_t inode = 0;
  uint64_t device = 0;
  auto operator<=>(const FileVersion&) const = default;
};

// The file's version now; an error when it cannot be stat'ed.
base::Result<FileVersion> versionOf(const std::string& path);

struct HostsFile {
  std::shared_ptr<const HostsTable> table;
  FileVersion version;
};

// Reads and parses `path` into a table whose records have `ttl`.
base::Result<HostsFile> readHostsFile(const std::string& path, uint32_t ttl);

}  // namespace dnsd::hosts
