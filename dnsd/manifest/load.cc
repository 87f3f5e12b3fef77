#include "dnsd/manifest/load.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "dnsd/manifest/field.h"
#include "dnsd/manifest/read_object.h"

namespace dnsd::manifest {

namespace {

namespace fs = std::filesystem;

std::string where(const std::string& file, int line) {
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

// Empty documents (`---` alone, a file of comments) are allowed; anything else must be an
// object.
void readDocument(const YAML::Node& document, const std::string& file, cluster::Inputs& into) {
  if (!document.IsDefined() || document.IsNull()) return;
  const std::string no_object;
  const Field root(document, "", document.Mark().line + 1, &no_object);
  if (!document.IsMap()) {
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

base::Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::Error{std::string("cannot open (") + std::strerror(errno) + ")", path};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return base::Error{"cannot read", path};
  return text.str();
}

}  // namespace

base::Status loadText(const std::string& text, const std::string& file, cluster::Inputs& into) {
  // Every exception stops here; ManifestError already carries object, field and line.
  try {
    for (const YAML::Node& document : YAML::LoadAll(text)) readDocument(document, file, into);
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

base::Result<cluster::Inputs> load(const std::vector<std::string>& paths) {
  cluster::Inputs inputs;
  for (const std::string& path : paths) {
    base::Result<std::vector<std::string>> files = manifestFiles(path);
    if (!files) return files.error();
    for (const std::string& file : *files) {
      base::Result<std::string> text = readFile(file);
      if (!text) return text.error();
      ++inputs.files;
      if (base::Status status = loadText(*text, file, inputs); !status) return status.error();
    }
  }
  return inputs;
}

}  // namespace dnsd::manifest
