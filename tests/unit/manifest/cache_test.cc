// The manifest cache: a reload re-parses only files whose identity (inode, size, mtime)
// changed, and forgets files that are gone; cached() gives the last load's objects.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "dnsd/manifest/load.h"

namespace {

namespace fs = std::filesystem;

std::string service(const std::string& name) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + "}\nspec: {clusterIP: None}\n";
}

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::vector<std::string> names(const dnsd::cluster::Inputs& inputs) {
  std::vector<std::string> out;
  for (const auto& s : inputs.services) out.push_back(s.meta.name);
  return out;
}

}  // namespace

TEST_CASE("a cached load parses again only the files that changed") {
  fs::path dir = fs::temp_directory_path() / ("dnsd-cache-" + std::to_string(getpid()));
  fs::create_directories(dir);
  write(dir / "a.yaml", service("aaaa"));
  write(dir / "b.yaml", service("bbbb"));
  dnsd::manifest::Cache cache;
  auto first = dnsd::manifest::load({dir.string()}, &cache);
  REQUIRE(first.ok());
  CHECK(names(*first) == std::vector<std::string>{"aaaa", "bbbb"});
  CHECK(cache.size() == 2);

  // Same size, same mtime, same inode, other content: taken from the cache, so not re-read.
  struct stat before {};
  stat((dir / "a.yaml").c_str(), &before);
  {
    std::fstream f(dir / "a.yaml", std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(service("aaaa").find("aaaa")));
    f << "zzzz";
  }
  timespec times[2] = {before.st_atim, before.st_mtim};
  utimensat(AT_FDCWD, (dir / "a.yaml").c_str(), times, 0);
  // b.yaml changes visibly (a new file replacing it).
  write(dir / "b2.tmp", service("cccc-longer"));
  fs::rename(dir / "b2.tmp", dir / "b.yaml");
  auto second = dnsd::manifest::load({dir.string()}, &cache);
  REQUIRE(second.ok());
  CHECK(names(*second) == std::vector<std::string>{"aaaa", "cccc-longer"});

  // Without the cache the truth is read.
  auto fresh = dnsd::manifest::load({dir.string()});
  CHECK(names(*fresh) == std::vector<std::string>{"zzzz", "cccc-longer"});

  fs::remove(dir / "b.yaml");
  auto third = dnsd::manifest::load({dir.string()}, &cache);
  CHECK(cache.size() == 1);
  CHECK(third->files == 1);
  fs::remove_all(dir);
}

TEST_CASE("cached() gives the objects of the last good load without the disk") {
  fs::path dir = fs::temp_directory_path() / ("dnsd-cached-" + std::to_string(getpid()));
  fs::create_directories(dir);
  write(dir / "b.yaml", service("bbbb"));
  write(dir / "a.yaml", service("aaaa"));
  dnsd::manifest::Cache cache;
  REQUIRE(dnsd::manifest::load({dir.string()}, &cache).ok());
  CHECK(cache.holdsAll());
  write(dir / "a.yaml", "kind: Service\nmetadata: {name: [\n");
  CHECK_FALSE(dnsd::manifest::load({dir.string()}, &cache).ok());
  fs::remove_all(dir);
  // The failed load left the cache as the good one filled it.
  const dnsd::cluster::Inputs inputs = dnsd::manifest::cached(cache);
  CHECK(names(inputs) == std::vector<std::string>{"aaaa", "bbbb"});  // in the load's order
  CHECK(inputs.files == 2);
}

TEST_CASE("restore() undoes a load's change to the cache, until commit()") {
  fs::path dir = fs::temp_directory_path() / ("dnsd-restore-" + std::to_string(getpid()));
  fs::create_directories(dir);
  write(dir / "a.yaml", service("aaaa"));
  dnsd::manifest::Cache cache;
  REQUIRE(dnsd::manifest::load({dir.string()}, &cache).ok());
  write(dir / "a.yaml", service("aaaa-2"));
  REQUIRE(dnsd::manifest::load({dir.string()}, &cache).ok());
  cache.restore();
  CHECK(names(dnsd::manifest::cached(cache)) == std::vector<std::string>{"aaaa"});
  REQUIRE(dnsd::manifest::load({dir.string()}, &cache).ok());
  cache.commit();
  cache.restore();
  CHECK(names(dnsd::manifest::cached(cache)) == std::vector<std::string>{"aaaa-2"});
  fs::remove_all(dir);
}
