// DNS over TCP (RFC 7766): 2-byte length framing, pipelined queries answered in order, an
// idle timeout and a cap on connections. One thread drives every connection with epoll.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "dnsd/admin/worker_counters.h"
#include "dnsd/server/handler.h"
#include "dnsd/server/shared.h"
#include "dnsd/zone/snapshot_holder.h"

namespace dnsd::server {

class TcpServer {
 public:
  TcpServer(std::vector<int> listen_fds, const Shared& shared, int idle_timeout_ms,
            int max_connections);
  ~TcpServer();
  void run();  // returns when stop_fd becomes readable

 private:
  struct Connection {
    std::vector<uint8_t> in;
    std::vector<uint8_t> out;
    size_t out_done = 0;
    int64_t last_active_ms = 0;
  };

  void accept(int listen_fd);
  void readable(int fd);
  void answerFrames(int fd, Connection& c);
  bool flush(int fd, Connection& c);
  void closeConnection(int fd);
  void expireIdle();

  std::vector<int> listen_fds_;
  int stop_fd_;
  int epoll_fd_ = -1;
  int idle_timeout_ms_;
  size_t max_connections_;
  zone::SnapshotReader snapshot_;
  admin::WorkerCounters& counters_;
  Handler handler_;
  std::unordered_map<int, Connection> connections_;
  std::vector<uint8_t> response_ = std::vector<uint8_t>(2 + wire::kMaxMessage);
};

}  // namespace dnsd::server
