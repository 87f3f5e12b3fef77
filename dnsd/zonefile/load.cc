#include "dnsd/zonefile/load.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "dnsd/zonefile/rr_reader.h"
#include "dnsd/zonefile/zone_checks.h"

namespace dnsd::zonefile {
namespace {

struct FileClose {
  void operator()(FILE* fp) const { fclose(fp); }
};

base::Result<std::string> readFile(const std::string& path) {
  std::unique_ptr<FILE, FileClose> fp(fopen(path.c_str(), "rb"));
  if (!fp) return base::Error{std::string("cannot open zone file (") + strerror(errno) + ")", path};
  std::string text;
  char buffer[65536];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, fp.get())) > 0) text.append(buffer, n);
  if (ferror(fp.get()))
    return base::Error{std::string("cannot read zone file (") + strerror(errno) + ")", path};
  return text;
}

}  // namespace

base::Result<Zone> parse(std::string_view text, const std::string& file,
                         const std::string& origin) {
  std::optional<wire::Name> origin_name;
  if (!origin.empty()) {
    origin_name = wire::Name::parse(origin);
    if (!origin_name) return base::Error{"origin '" + origin + "' is not a domain name", file};
  }
  auto records = readRecords(text, file, origin_name ? origin_name->text() : "");
  if (!records) return records.error();
  auto apex = findApex(*records, origin_name, file);
  if (!apex) return apex.error();
  const base::Status checked = checkRecords(*records, *apex, file);
  if (!checked) return checked.error();
  return Zone{*apex, normalizeRrsets(std::move(*records))};
}

base::Result<Zone> load(const std::string& path, const std::string& origin) {
  auto text = readFile(path);
  if (!text) return text.error();
  return parse(*text, path, origin);
}

}  // namespace dnsd::zonefile
