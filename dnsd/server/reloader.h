// Watches the manifest paths with inotify (files, directories recursively, new and removed
// ones) and calls `reload` once a burst of changes has been quiet for a moment. Runs on its
// own thread: reading and building the new zone never touches the workers.
#pragma once

#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace dnsd::server {

class Reloader {
 public:
  // `quiet_ms`: how long no event must arrive before a burst is taken as finished.
  Reloader(std::vector<std::string> paths, std::function<void()> reload, int quiet_ms = 20);
  ~Reloader();  // stops the thread
  void start();

 private:
  void run();
  void watchAll();
  void watchTree(const std::string& dir);
  bool waitForEvents(int timeout_ms);

  std::vector<std::string> paths_;
  std::function<void()> reload_;
  int quiet_ms_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
};

}  // namespace dnsd::server
