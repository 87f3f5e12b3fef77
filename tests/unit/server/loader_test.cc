// The files kept across loads for the Kubernetes API source: a rebuild for an API event takes
// the manifests and zone files as the last load found them, reading nothing from the disk;
// a load that reads them keeps the zone files only when the whole load succeeds.
#include "dnsd/server/loader.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;
using dnsd::server::ApiObjects;
using dnsd::server::ZoneFiles;

void writeZone(const fs::path& path, const std::string& www) {
  std::ofstream(path) << "$ORIGIN corp.test.\n$TTL 60\n"
                         "@ IN SOA ns.corp.test. admin.corp.test. 1 7200 900 1209600 30\n"
                         "@ IN NS ns\nns IN A 10.10.0.53\nwww IN A " +
                             www + "\n";
}

std::string service(const std::string& name, const std::string& cluster_ip = "None") {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name +
         "}\nspec: {clusterIP: " + cluster_ip + "}\n";
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

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("dnsd-loader-" + std::to_string(getpid()));
  fs::path zone = dir / "corp.zone";
  fs::path manifest = dir / "svc.yaml";
  dnsd::server::Config config;
  dnsd::manifest::Cache cache;
  ZoneFiles files;

  Fixture() {
    fs::create_directories(dir);
    config.zone_files = {zone.string()};
    config.manifests = {manifest.string()};
  }
  ~Fixture() { fs::remove_all(dir); }

  // A load as the server runs it with the API as a source; `event`: for an API event.
  dnsd::base::Result<dnsd::server::Loaded> load(bool event, ZoneFiles* kept) {
    ApiObjects api;
    api.event = event;
    return dnsd::server::loadZone(config, 1, &cache, &api, nullptr, kept);
  }
};

}  // namespace

TEST_CASE("API events reuse the files of the last good read; a broken file fails a read only") {
  Fixture f;
  writeZone(f.zone, "10.10.0.1");
  std::ofstream(f.manifest) << service("web");
  auto first = f.load(false, &f.files);
  REQUIRE(first.ok());
  CHECK(first->services == 1);
  CHECK(keptWww(f.files) == "10.10.0.1");

  std::ofstream(f.zone) << "$ORIGIN corp.test.\nwww IN A not-an-address\n";
  std::ofstream(f.manifest) << "kind: Service\nmetadata: {name: [\n";
  auto event = f.load(true, &f.files);
  REQUIRE_MESSAGE(event.ok(), "an API event reads neither broken file");
  CHECK(event->services == 1);
  CHECK(event->snapshot->recordCount() == first->snapshot->recordCount());

  auto read = f.load(false, &f.files);
  REQUIRE_FALSE(read.ok());
  std::ofstream(f.manifest) << service("web");
  read = f.load(false, &f.files);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().str().find("corp.zone") != std::string::npos);
  CHECK_MESSAGE(keptWww(f.files) == "10.10.0.1", "a failed read keeps the last good zones");
  CHECK(f.load(true, &f.files).ok());

  ZoneFiles none;
  CHECK_MESSAGE(!f.load(true, &none).ok(), "with nothing kept, an API event reads the files");

  writeZone(f.zone, "10.10.0.2");
  auto fixed = f.load(false, &f.files);
  REQUIRE(fixed.ok());
  CHECK(keptWww(f.files) == "10.10.0.2");
  // An edit no reload has read yet stays unseen by API events.
  std::ofstream(f.manifest) << service("web") + "---\n" + service("db");
  CHECK(f.load(true, &f.files)->services == 1);
  CHECK(f.load(false, &f.files)->services == 2);
}

TEST_CASE("manifests that parse but fail to build leave API events the last good ones") {
  Fixture f;
  f.config.zone_files.clear();
  std::ofstream(f.manifest) << service("web");
  REQUIRE(f.load(false, nullptr).ok());
  // Two Services with one ClusterIP: each file parses, the cluster does not build.
  std::ofstream(f.manifest) << service("a", "10.96.0.50") + "---\n" + service("b", "10.96.0.50");
  REQUIRE_FALSE(f.load(false, nullptr).ok());
  auto event = f.load(true, nullptr);
  REQUIRE_MESSAGE(event.ok(), "an API event builds from the manifests of the last good load");
  CHECK(event->services == 1);
}
