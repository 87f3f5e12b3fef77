// DNS over TCP (RFC 7766): 2-byte length framing, pipelined queries answered in order, an
// idle timeout and a cap on connections. One thread drives every connection with epoll.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "dnsd/admin/worker_counters.h"
#include "dnsd/server/handler.h"
#include "dnsd/server/shared.h"
#include "dnsd/zone/snapshot_holder.h"

namespace dnsd::server {

class TcpServer {
 public:
  // A connection is closed when idle for `idle_timeout_ms`, when one query takes longer than
  // that to arrive (a slow sender holds no slot for long), or after `max_queries`.
  TcpServer(std::vector<int> listen_fds, const Shared& shared, int idle_timeout_ms,
            int max_connections, uint64_t max_queries = 0);
  ~TcpServer();
  void run();  // returns when stop_fd becomes readable
  // Thread-safe: a forwarded reply for connection (fd, id); dropped if it has closed since.
  void deliver(int fd, uint64_t id, const uint8_t* reply, size_t size);

 private:
  struct Connection {
    std::vector<uint8_t> in;
    std::vector<uint8_t> out;
    size_t out_done = 0;
    int64_t last_active_ms = 0;
    int64_t frame_start_ms = 0;  // first byte of the query being received; 0: none
    uint64_t queries = 0;
    uint64_t id = 0;  // unique for the process: fds are reused, ids are not
    sockaddr_storage peer{};  // the client, from accept()
    socklen_t peer_len = 0;
  };
  struct Delivery {
    int fd;
    uint64_t id;
    std::vector<uint8_t> reply;
  };

  void accept(int listen_fd);
  void readable(int fd);
  void answerFrames(int fd, Connection& c);
  void handOff(int fd, Connection& c, size_t at, size_t len);
  bool flush(int fd, Connection& c);
  void closeConnection(int fd);
  void expireIdle();
  void takeDeliveries();
  Decision answerFrame(const uint8_t* in, size_t len, int fd, const Connection& c,
                       const zone::Snapshot* snapshot);

  std::vector<int> listen_fds_;
  int stop_fd_;
  int epoll_fd_ = -1;
  int idle_timeout_ms_;
  size_t max_connections_;
  uint64_t max_queries_;  // 0: no cap
  int64_t last_sweep_ms_ = 0;
  zone::SnapshotReader snapshot_;
  admin::WorkerCounters& counters_;
  std::unordered_map<int, Connection> connections_;
  const Shared& shared_;
  Handler handler_{shared_.policy};
  uint64_t next_id_ = 1;
  int deliver_fd_ = -1;  // eventfd: forwarded replies are waiting
  std::mutex deliveries_mutex_;
  std::vector<Delivery> deliveries_;
  std::vector<uint8_t> response_ = std::vector<uint8_t>(2 + wire::kMaxMessage);
};

}  // namespace dnsd::server
