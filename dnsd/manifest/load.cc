#include "dnsd/manifest/load.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/exceptions.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <thread>

#include "dnsd/cluster/cluster.h"
#include "dnsd/manifest/document.h"
#include "dnsd/manifest/field.h"
#include "dnsd/manifest/read_object.h"

namespace dnsd::manifest {

namespace {

namespace fs = std::filesystem;

// simdjson reads up to 64 bytes past the text (SIMDJSON_PADDING); document.cc checks the
// capacity before relying on it.
constexpr size_t kReadPadding = 64;

std::string where(const std::string& file, int line) {
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

// Empty documents (`---` alone, a file of comments) are allowed; anything else must be an
// object.
void readDocument(const Tree& tree, uint32_t document, const std::string& file,
                  cluster::Inputs& into) {
  const Node& node = tree.node(document);
  if (node.kind == Node::Kind::Null) return;
  const std::string no_object;
  const Field root(tree, document, static_cast<int>(node.line), &no_object);
  if (node.kind != Node::Kind::Map) {
    root.fail("not a Kubernetes object (a map), found " + root.describe());
  }
  readObject(root, file, into);
}

bool isManifestName(const fs::path& path) {
  const std::string extension = lowercase(path.extension().string());
  return extension == ".yaml" || extension == ".yml" || extension == ".json";
}

// Hidden entries are skipped: editors' temporary files, and the `..data` and `..2024_...`
// directories of a mounted ConfigMap, whose files the visible symlinks already point to.
bool isHidden(const fs::path& path) { return path.filename().string().starts_with('.'); }

base::Result<std::vector<std::string>> directoryFiles(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code error;
  fs::recursive_directory_iterator it(dir, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (isHidden(it->path())) {
      it.disable_recursion_pending();
      continue;
    }
    // is_regular_file follows symlinks, so linked files count; linked directories are not
    // walked (the iterator's default), which also keeps symlink loops out.
    std::error_code ignored;
    if (it->is_regular_file(ignored) && isManifestName(it->path())) {
      files.push_back(it->path().string());
    }
  }
  if (error) return base::Error{"cannot read directory (" + error.message() + ")", dir};
  std::sort(files.begin(), files.end());
  return files;
}

// A path the user named: a file (any extension) or a directory to walk.
base::Result<std::vector<std::string>> manifestFiles(const std::string& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) {
    return base::Error{"no such file or directory", path};
  }
  if (error) return base::Error{"cannot read (" + error.message() + ")", path};
  if (fs::is_directory(status)) return directoryFiles(path);
  // A pipe named directly is read too: `dnsd --manifests <(kubectl get svc -A -o yaml)`.
  if (!fs::is_regular_file(status) && !fs::is_fifo(status))
    return base::Error{"not a file, pipe or directory", path};
  return std::vector<std::string>{path};
}

// The whole file in one read where its size is known (a pipe is read to its end), with
// room left for simdjson's padding so JSON is parsed without another copy.
base::Result<std::string> readFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::Error{std::string("cannot open (") + std::strerror(errno) + ")", path};
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) text.reserve(st.st_size + kReadPadding);
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return base::Error{std::string("cannot read (") + std::strerror(error) + ")", path};
    }
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

base::Status loadText(const std::string& text, const std::string& file, cluster::Inputs& into) {
  // Every exception stops here; ManifestError already carries object, field and line.
  try {
    // JSON (`kubectl get -o json`) through simdjson when it is JSON; anything simdjson
    // rejects is read as YAML, which JSON is a subset of, and whose errors carry a line.
    Tree tree;
    if (!looksLikeJson(text) || !parseJson(text, tree)) tree = parseYaml(text);
    for (const uint32_t document : tree.documents) readDocument(tree, document, file, into);
  } catch (const ManifestError& e) {
    return base::Error{e.message(), where(file, e.line())};
  } catch (const YAML::DeepRecursion& e) {
    return base::Error{"YAML nested too deeply", where(file, e.mark.line + 1)};
  } catch (const YAML::Exception& e) {
    return base::Error{"YAML: " + e.msg, where(file, e.mark.is_null() ? 0 : e.mark.line + 1)};
  } catch (const std::exception& e) {
    return base::Error{std::string("cannot load: ") + e.what(), file};
  }
  return base::Ok{};
}

namespace {

template <typename T>
void append(std::vector<T>& into, std::vector<T>& from) {
  into.insert(into.end(), std::make_move_iterator(from.begin()),
              std::make_move_iterator(from.end()));
}

void merge(cluster::Inputs& into, cluster::Inputs& from) {
  append(into.namespaces, from.namespaces);
  append(into.services, from.services);
  append(into.pods, from.pods);
  append(into.workloads, from.workloads);
  append(into.slices, from.slices);
  for (const auto& [kind, n] : from.skipped_kinds) into.skipped_kinds[kind] += n;
  for (const auto& [kind, n] : from.read_kinds) into.read_kinds[kind] += n;
}

// What identifies a file's contents without reading it; a pipe has no identity (inode 0).
struct FileId {
  uint64_t inode = 0, size = 0;
  int64_t mtime_ns = 0;
};

FileId fileId(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  return {static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

// Reads and parses files[i] for every i whose `parsed[i]` is false, on up to one thread per
// core: YAML parsing is the bulk of a large cluster's startup. Each file fills its own Inputs.
void loadEach(const std::vector<std::string>& files, const std::vector<bool>& parsed,
              std::vector<cluster::Inputs>& parts,
              std::vector<std::optional<base::Error>>& errors) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < files.size();) {
      if (parsed[i]) continue;
      base::Result<std::string> text = readFile(files[i]);
      if (!text) {
        errors[i] = text.error();
        continue;
      }
      if (base::Status status = loadText(*text, files[i], parts[i]); !status)
        errors[i] = status.error();
      else
        cluster::sortInputs(parts[i]);  // here, in parallel, rather than all in normalize()
    }
  };
  size_t threads =
      std::min<size_t>({std::max(1u, std::thread::hardware_concurrency()), files.size(), 16});
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

// The files of `paths` read as load() and loadChanges() read them: each file's identity,
// whether `unchanged` says the cache still holds it as it is on disk, and the objects of the
// others, parsed. The first error in file order, so that it never depends on timing.
struct Read {
  std::vector<std::string> files;
  std::vector<FileId> ids;
  std::vector<bool> unchanged;
  std::vector<cluster::Inputs> parts;  // empty for an unchanged file
};

template <typename Unchanged>
base::Result<Read> readChanged(const std::vector<std::string>& paths, Unchanged unchanged) {
  base::Result<std::vector<std::string>> listed = manifest::files(paths);
  if (!listed) return listed.error();
  Read read{std::move(*listed), {}, {}, {}};
  const size_t n = read.files.size();
  read.ids.resize(n);
  read.unchanged.assign(n, false);
  read.parts.resize(n);
  for (size_t i = 0; i < n; ++i) {
    read.ids[i] = fileId(read.files[i]);
    read.unchanged[i] = unchanged(read.files[i], read.ids[i]);
  }
  std::vector<std::optional<base::Error>> errors(n);
  loadEach(read.files, read.unchanged, read.parts, errors);
  for (size_t i = 0; i < n; ++i)
    if (errors[i]) return *errors[i];
  return read;
}

}  // namespace

base::Result<std::vector<std::string>> files(const std::vector<std::string>& paths) {
  std::vector<std::string> all;
  for (const std::string& path : paths) {
    base::Result<std::vector<std::string>> found = manifestFiles(path);
    if (!found) return found.error();
    append(all, *found);
  }
  return all;
}

const Cache::Entry* Cache::unchanged(const std::string& file, uint64_t inode, uint64_t size,
                                     int64_t mtime_ns) const {
  auto it = entries_.find(file);
  if (inode == 0 || it == entries_.end() || it->second.inode != inode || it->second.size != size ||
      it->second.mtime_ns != mtime_ns)
    return nullptr;
  return &it->second;
}

base::Result<cluster::Inputs> load(const std::vector<std::string>& paths, Cache* cache) {
  base::Result<Read> read = readChanged(paths, [cache](const std::string& file, FileId id) {
    return cache && cache->unchanged(file, id.inode, id.size, id.mtime_ns);
  });
  if (!read) return read.error();
  const std::vector<std::string>& files = read->files;
  const std::vector<FileId>& ids = read->ids;
  std::vector<cluster::Inputs>& parts = read->parts;
  for (size_t i = 0; i < files.size(); ++i)
    if (read->unchanged[i]) parts[i] = cache->entries_.at(files[i]).inputs;
  cluster::Inputs inputs;
  if (cache) {
    std::map<std::string, Cache::Entry> entries;
    cache->commit();
    cache->previous_ = {std::move(cache->entries_), std::move(cache->order_), cache->holds_all_,
                        true};
    cache->order_.clear();
    cache->holds_all_ = true;
    for (size_t i = 0; i < files.size(); ++i) {
      cache->holds_all_ &= ids[i].inode != 0;
      if (!ids[i].inode) continue;
      entries[files[i]] = {ids[i].inode, ids[i].size, ids[i].mtime_ns, parts[i]};
      cache->order_.push_back(files[i]);
    }
    cache->entries_ = std::move(entries);  // files gone since are forgotten
  }
  size_t services = 0, slices = 0;
  for (const cluster::Inputs& part : parts) {
    services += part.services.size();
    slices += part.slices.size();
  }
  inputs.services.reserve(services);
  inputs.slices.reserve(slices);
  for (size_t i = 0; i < files.size(); ++i) {
    merge(inputs, parts[i]);
    ++inputs.files;
  }
  return inputs;
}

base::Result<std::vector<FileChange>> loadChanges(const std::vector<std::string>& paths,
                                                  Cache& cache) {
  base::Result<Read> read = readChanged(paths, [&cache](const std::string& file, FileId id) {
    return cache.unchanged(file, id.inode, id.size, id.mtime_ns) != nullptr;
  });
  if (!read) return read.error();
  const std::vector<std::string>& files = read->files;
  const std::vector<FileId>& ids = read->ids;
  const std::vector<bool>& unchanged = read->unchanged;
  std::vector<cluster::Inputs>& parts = read->parts;
  cache.commit();
  std::vector<FileChange> changes;
  std::map<std::string, Cache::Entry> entries;
  for (size_t i = 0; i < files.size(); ++i) {
    auto old = cache.entries_.find(files[i]);
    if (unchanged[i]) {
      entries[files[i]] = std::move(old->second);
      continue;
    }
    FileChange& change = changes.emplace_back();
    change.file = files[i];
    if (old != cache.entries_.end()) change.before = std::move(old->second.inputs);
    entries[files[i]] = {ids[i].inode, ids[i].size, ids[i].mtime_ns, parts[i]};
    change.now = std::move(parts[i]);
  }
  for (auto& [file, entry] : cache.entries_)  // files gone since
    if (!entries.count(file)) changes.push_back({file, std::move(entry.inputs), {}});
  cache.entries_ = std::move(entries);
  cache.order_ = files;
  cache.holds_all_ = true;
  return changes;
}

void Cache::restore() {
  if (!previous_.kept) return;
  entries_ = std::move(previous_.entries);
  order_ = std::move(previous_.order);
  holds_all_ = previous_.holds_all;
  commit();
}

void Cache::commit() { previous_ = {}; }

cluster::Inputs cached(const Cache& cache) {
  cluster::Inputs inputs;
  for (const std::string& file : cache.order_) {
    cluster::Inputs part = cache.entries_.at(file).inputs;
    merge(inputs, part);
    ++inputs.files;
  }
  return inputs;
}

}  // namespace dnsd::manifest
