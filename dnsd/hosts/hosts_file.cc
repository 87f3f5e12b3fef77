#include "dnsd/hosts/hosts_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dnsd::hosts {
namespace {

constexpr std::string_view kSpace = " \t\r";

// The next whitespace-separated field of `line`, consumed; empty at the end.
std::string_view nextField(std::string_view& line) {
  size_t start = line.find_first_not_of(kSpace);
  if (start == std::string_view::npos) return line = {}, std::string_view{};
  size_t end = line.find_first_of(kSpace, start);
  std::string_view field = line.substr(start, end == std::string_view::npos ? end : end - start);
  line = end == std::string_view::npos ? std::string_view{} : line.substr(end);
  return field;
}

// An address as hosts files write it: an IPv6 zone index ("fe80::1%eth0") means nothing
// in DNS and is dropped, as CoreDNS's parseIP does.
std::optional<base::IpAddress> parseAddress(std::string_view text) {
  if (size_t zone = text.find('%'); zone != std::string_view::npos && text.find(':') < zone)
    text = text.substr(0, zone);
  return base::IpAddress::parse(text);
}

// One line's pairs; an error for an address or a name that is not one, or an address
// alone. glibc skips such lines, but dnsd says so: a typo would otherwise hide a host.
base::Status parseLine(std::string_view line, std::vector<HostsLine>& out) {
  if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  std::string_view first = nextField(line);
  if (first.empty()) return base::Ok{};
  auto ip = parseAddress(first);
  if (!ip) return base::Error{"\"" + std::string(first) + "\" is not an IP address", ""};
  size_t names = 0;
  for (std::string_view field = nextField(line); !field.empty(); field = nextField(line)) {
    // CoreDNS also reads "*.example.com" as a wildcard; dnsd does not, and says so rather
    // than serve the literal name.
    if (field.find('*') != std::string_view::npos)
      return base::Error{"\"" + std::string(field) + "\": wildcard names are not supported", ""};
    auto name = wire::Name::parse(field);
    if (!name || field == ".")
      return base::Error{"\"" + std::string(field) + "\" is not a host name", ""};
    out.push_back(HostsLine{*ip, std::move(*name)});
    ++names;
  }
  if (names == 0) return base::Error{"address " + std::string(first) + " without a name", ""};
  return base::Ok{};
}

}  // namespace

base::Result<std::vector<HostsLine>> parseHosts(std::string_view text, const std::string& source) {
  std::vector<HostsLine> lines;
  size_t number = 0;
  while (!text.empty()) {
    ++number;
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (auto parsed = parseLine(line, lines); !parsed)
      return base::Error{parsed.error().message, source + ":" + std::to_string(number)};
  }
  return lines;
}

base::Result<FileVersion> versionOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return base::Error{std::strerror(errno), path};
  return FileVersion{static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                     static_cast<int64_t>(st.st_size), static_cast<uint64_t>(st.st_ino),
                     static_cast<uint64_t>(st.st_dev)};
}

base::Result<HostsFile> readHostsFile(const std::string& path, uint32_t ttl) {
  // The version first: a write racing the read is then seen as a change next time.
  auto version = versionOf(path);
  if (!version) return version.error();
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::Error{std::strerror(errno), path};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return base::Error{"read failed", path};
  auto lines = parseHosts(text.str(), path);
  if (!lines) return lines.error();
  return HostsFile{HostsTable::build(*lines, ttl), *version};
}

}  // namespace dnsd::hosts
