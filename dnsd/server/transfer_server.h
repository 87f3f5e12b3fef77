// Zone transfers out (AXFR, IXFR) and NOTIFY to secondaries. The TCP server hands over a
// connection whose query is a transfer; each transfer then runs on a thread of its own,
// at most --transfer-max at once, reading the journal state (snapshot and IXFR diffs) it
// holds. Writes block with a timeout, so a slow reader stalls only its own thread and is
// dropped when it stops reading. A journal thread takes each published snapshot, computes
// its diffs and sends NOTIFY for the zones that changed, again until acknowledged.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dnsd/admin/metrics.h"
#include "dnsd/base/ip.h"
#include "dnsd/base/result.h"
#include "dnsd/transfer/journal.h"
#include "dnsd/transfer/responder.h"

namespace dnsd::server {

struct TransferOptions {
  std::vector<base::Cidr> allowed;  // clients that may transfer; empty: nobody
  size_t max_transfers = 10;
  std::vector<sockaddr_storage> notify;  // secondaries to NOTIFY
  int send_timeout_ms = 10000;           // a transfer whose client reads nothing this long ends
  transfer::JournalLimits limits;
};

// "--transfer-to" and "--notify" texts into options.
base::Result<TransferOptions> transferOptions(const std::vector<std::string>& transfer_to,
                                              const std::vector<std::string>& notify,
                                              int max_transfers, int send_timeout_ms);

class TransferServer {
 public:
  explicit TransferServer(TransferOptions options);
  ~TransferServer();  // ends the transfers in progress and the journal thread
  // Starts the journal thread, which takes in what was published so far and sends its
  // first NOTIFYs: called once the server answers, so that a secondary told of a zone can
  // fetch it.
  base::Status start();

  // Each snapshot served, in order (the main thread). `offered`: the secondaries get it (a
  // snapshot that kept an earlier one's serial is served but not offered). `patched`: how
  // ZoneEditor made it, when it did; the journal then diffs only the names the patches since
  // its last snapshot touched, provided they follow one another from that snapshot.
  void publish(std::shared_ptr<const zone::Snapshot> snapshot, bool offered = true,
               const transfer::Patched* patched = nullptr);

  // Takes over the TCP connection `fd` from the TCP server: sends `pending` (answers to
  // the queries before), then answers `query`, then closes it. Any thread.
  void take(int fd, const sockaddr_storage& peer, std::vector<uint8_t> query,
            std::vector<uint8_t> pending);

  std::shared_ptr<const transfer::JournalState> state() const;

  // The highest serial the --notify secondaries hold for `zone`, asked over UDP within
  // `timeout_ms`; 0 when none answers. A restart continues above it (see server.cc).
  uint32_t secondariesSerial(const wire::Name& zone, int timeout_ms) const;

  // Totals since the start, for /metrics.
  admin::TransferValues stats() const;

 private:
  // A NOTIFY not yet acknowledged; once it is, an SOA query until the secondary holds the
  // serial (`checking`), and a NOTIFY again while it does not.
  struct Pending {
    std::string apex;
    size_t target = 0;
    uint16_t id = 0;
    uint32_t serial = 0;
    std::vector<uint8_t> message;  // the NOTIFY
    int64_t next_ms = 0;
    int64_t interval_ms = 0;
    int attempts = 0;
    bool checking = false;
    int renotified = 0;
  };

  bool allows(const sockaddr_storage& peer) const;
  void serve(int fd, sockaddr_storage peer, std::vector<uint8_t> query,
             std::vector<uint8_t> pending);
  void journalLoop();
  void queueNotifies(const transfer::JournalState& state, const std::vector<int>& zones);
  void sendDue(int64_t now);
  void receiveReplies();
  bool acknowledged(Pending& p, const uint8_t* reply, size_t size);
  bool checked(Pending& p, const uint8_t* reply, size_t size);
  void count(const transfer::Summary& s);

  TransferOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::condition_variable ready_;  // the first state is made
  std::shared_ptr<const transfer::JournalState> state_;
  std::shared_ptr<const zone::Snapshot> incoming_;  // published, not yet in the journal
  std::set<int> active_;                            // fds of the connections taken, until closed
  size_t transfers_ = 0;  // transfers sending: --transfer-max counts these
  // The patches that made each snapshot served from the one before, in order; `whole` once
  // one came another way (a full build), so that the journal compares every name.
  struct Steps {
    std::vector<std::shared_ptr<const zone::Patch>> patches;
    bool whole = false;
  };
  Steps to_incoming_;    // from the journal's snapshot to incoming_
  Steps after_offered_;  // from the last snapshot offered to the last served
  // The last snapshot served.
  std::weak_ptr<const zone::Snapshot> served_;
  bool stopping_ = false;
  int wake_fd_ = -1;  // eventfd: a snapshot came, or stop
  int notify4_ = -1, notify6_ = -1;
  std::vector<Pending> notifies_;  // the journal thread's
  // For stats(): by result, as admin::TransferValues counts them.
  std::atomic<uint64_t> axfr_{0}, ixfr_{0}, ixfr_as_axfr_{0}, up_to_date_{0};
  std::atomic<uint64_t> refused_{0}, errors_{0}, cut_{0};
  std::atomic<uint64_t> notifies_sent_{0}, notifies_pending_{0};
  std::thread journal_;
};

}  // namespace dnsd::server
