// Kubernetes manifests (YAML or JSON, files or directories) into cluster::Inputs.
// yaml-cpp stays behind this boundary: its exceptions become base::Error with file and line.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dnsd/base/result.h"
#include "dnsd/cluster/objects.h"

namespace dnsd::manifest {

// Reads every path: a file, or a directory walked recursively for *.yaml, *.yml, *.json
// (sorted, so the order is stable). Multi-document YAML, `kind: List`. Unknown kinds are
// counted in Inputs::skipped_kinds. The first error stops the load and names file, line,
// object and field: "apps.yaml:12: Service default/web: spec.ports[0].port: not a number".
//
// With a cache, a file whose inode, size and modification time are unchanged since the last
// load is not parsed again: a reload after one file changed parses that file only.
class Cache;
base::Result<cluster::Inputs> load(const std::vector<std::string>& paths, Cache* cache = nullptr);

// The files load() reads for `paths`, in the order it reads them.
base::Result<std::vector<std::string>> files(const std::vector<std::string>& paths);

// The objects of the files the last successful load with `cache` read, in its order, without
// looking at the disk: a file changed since, even one broken mid-edit, is not seen. Only for a
// cache that holds every file of that load (a pipe is never cached).
cluster::Inputs cached(const Cache& cache);

// One file whose objects differ from the cache's: as the cache held them (empty: new) and as
// read now (empty: removed).
struct FileChange {
  std::string file;
  cluster::Inputs before, now;
};

// Reads the files of `paths` as load() does with `cache`, parsing only those that changed,
// but gives the files that changed instead of every object, and keeps them in the cache at
// once (no restore(): the caller follows the files, not a zone). A pipe counts as changed at
// every call. An error (a file that does not parse) leaves the cache as it was.
base::Result<std::vector<FileChange>> loadChanges(const std::vector<std::string>& paths,
                                                  Cache& cache);

class Cache {
 public:
  size_t size() const { return entries_.size(); }
  // The last successful load's files are all in the cache, so cached() gives what it read.
  bool holdsAll() const { return holds_all_; }
  // A load keeps what it replaced until one of these: restore() puts it back (the zone built
  // from the load failed, and cached() must give what the last good zone was built from),
  // commit() frees it.
  void restore();
  void commit();
  // Each file's objects, in the order read.
  template <typename F>
  void forEachFile(F f) const {
    for (const std::string& file : order_) f(file, entries_.at(file).inputs);
  }

 private:
  friend base::Result<cluster::Inputs> load(const std::vector<std::string>&, Cache*);
  friend cluster::Inputs cached(const Cache&);
  friend base::Result<std::vector<FileChange>> loadChanges(const std::vector<std::string>&, Cache&);
  struct Entry {
    uint64_t inode = 0, size = 0;
    int64_t mtime_ns = 0;
    cluster::Inputs inputs;
  };
  // The entry of `file` if it is still that file's (same inode, size and modification
  // time), else null.
  const Entry* unchanged(const std::string& file, uint64_t inode, uint64_t size,
                         int64_t mtime_ns) const;
  std::map<std::string, Entry> entries_;
  std::vector<std::string> order_;  // the files in the order the load read them
  bool holds_all_ = false;
  struct {
    std::map<std::string, Entry> entries;
    std::vector<std::string> order;
    bool holds_all = false;
    bool kept = false;  // a load replaced these, and neither restore() nor commit() came yet
  } previous_;
};

// One YAML/JSON text; `file` is only used in messages. Appends to `into`.
base::Status loadText(const std::string& text, const std::string& file, cluster::Inputs& into);

}  // namespace dnsd::manifest
