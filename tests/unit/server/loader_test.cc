// The zone files kept across loads: a load that reuses them reads nothing from the disk, and
// one that reads them keeps what it read only when the whole load succeeds.
#include "dnsd/server/loader.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;
using dnsd::server::ZoneFiles;

void writeZone(const fs::path& path, const std::string& www) {
  std::ofstream(path) << "$ORIGIN corp.test.\n$TTL 60\n"
                         "@ IN SOA ns.corp.test. admin.corp.test. 1 7200 900 1209600 30\n"
                         "@ IN NS ns\nns IN A 10.10.0.53\nwww IN A " +
                             www + "\n";
}

// The address of www.corp.test in the kept zones, dotted; empty when there is none.
std::string keptWww(const ZoneFiles& files) {
  const auto www = dnsd::wire::Name::parse("www.corp.test");
  for (const auto& zone : files.zones)
    for (const auto& rr : zone.records)
      if (rr.owner == *www && rr.type == 1 && rr.rdata.size() == 4) {
        std::string text;
        for (unsigned char byte : rr.rdata)
          text += (text.empty() ? "" : ".") + std::to_string(byte);
        return text;
      }
  return "";
}

}  // namespace

TEST_CASE("API rebuilds reuse the zone files of the last good read; a broken file fails a read") {
  const fs::path dir = fs::temp_directory_path() / ("dnsd-zonefiles-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path path = dir / "corp.zone";
  dnsd::server::Config config;
  config.zone_files = {path.string()};

  writeZone(path, "10.10.0.1");
  ZoneFiles files;
  REQUIRE(dnsd::server::loadZone(config, 1, nullptr, nullptr, nullptr, &files).ok());
  CHECK(files.kept);
  CHECK(keptWww(files) == "10.10.0.1");

  std::ofstream(path) << "$ORIGIN corp.test.\nwww IN A not-an-address\n";
  files.reuse = true;
  auto reused = dnsd::server::loadZone(config, 2, nullptr, nullptr, nullptr, &files);
  CHECK_MESSAGE(reused.ok(), "a reusing load does not read the broken file");
  CHECK(keptWww(files) == "10.10.0.1");

  files.reuse = false;
  auto read = dnsd::server::loadZone(config, 3, nullptr, nullptr, nullptr, &files);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().str().find("corp.zone") != std::string::npos);
  CHECK_MESSAGE(keptWww(files) == "10.10.0.1", "a failed read keeps the last good zones");
  files.reuse = true;
  CHECK(dnsd::server::loadZone(config, 4, nullptr, nullptr, nullptr, &files).ok());

  ZoneFiles none;
  none.reuse = true;
  CHECK_MESSAGE(!dnsd::server::loadZone(config, 5, nullptr, nullptr, nullptr, &none).ok(),
                "with nothing kept, even a reusing load reads the files");

  writeZone(path, "10.10.0.2");
  files.reuse = false;
  CHECK(dnsd::server::loadZone(config, 6, nullptr, nullptr, nullptr, &files).ok());
  CHECK(keptWww(files) == "10.10.0.2");
  fs::remove_all(dir);
}
