#include "dnsd/server/transfer_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <random>

#include "dnsd/base/priority.h"
#include "dnsd/server/recursion.h"
#include "dnsd/server/shared.h"
#include "dnsd/transfer/notify.h"
#include "dnsd/transfer/responder.h"
#include "dnsd/transfer/serial.h"
#include "dnsd/wire/dns.h"

namespace dnsd::server {
namespace {

int64_t nowMs() { return static_cast<int64_t>(monotonicNs() / 1000000); }

// A NOTIFY not answered is sent again after 1 s, then at doubling intervals up to a minute,
// until it is answered or a newer change of the zone replaces it (RFC 1996 §3.6 leaves the
// schedule to the primary; Knot keeps retrying a failed NOTIFY, too).
constexpr int64_t kNotifyFirstRetryMs = 1000;
constexpr int64_t kNotifyMaxRetryMs = 60000;
// After an acknowledged NOTIFY, the secondary is asked for its serial this much later. NSD's
// xfrd, sent NOTIFYs faster than it transfers, can drop a transfer it had restarted and then
// wait for the SOA's retry interval: a NOTIFY again gets it going. Knot DNS never needs it.
constexpr int64_t kNotifyCheckMs = 3000;
constexpr int kMaxRenotify = 5;
constexpr int kMaxChecks = 5;

// An SOA query for `zone` with ID `id`.
std::vector<uint8_t> soaQuery(uint16_t id, const uint8_t* zone, size_t size) {
  std::vector<uint8_t> query(wire::kHeaderSize + size + 4);
  wire::store16(query.data(), id);
  wire::store16(query.data() + 4, 1);
  std::memcpy(query.data() + wire::kHeaderSize, zone, size);
  wire::store16(query.data() + wire::kHeaderSize + size, wire::type::SOA);
  wire::store16(query.data() + wire::kHeaderSize + size + 2, wire::kClassIn);
  return query;
}

constexpr int kSendBuffer = 128 * 1024;  // the kernel doubles it

std::string addressText(const sockaddr_storage& a) {
  base::IpAddress ip = RecursionPolicy::peerAddress(a);
  uint16_t port =
      ntohs(a.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(a).sin_port
                                   : reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return (ip.v6 ? "[" + ip.str() + "]" : ip.str()) + ":" + std::to_string(port);
}

std::optional<sockaddr_storage> socketAddress(const std::string& text) {
  std::string host = text;
  uint16_t port = 53;
  if (!base::IpAddress::parse(host)) {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    std::string p = text.substr(colon + 1);
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(p) > 65535 || std::stoul(p) == 0)
      return std::nullopt;
    port = static_cast<uint16_t>(std::stoul(p));
  }
  auto ip = base::IpAddress::parse(host);
  if (!ip) return std::nullopt;
  sockaddr_storage s{};
  if (ip->v6) {
    auto& a = reinterpret_cast<sockaddr_in6&>(s);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    std::memcpy(&a.sin6_addr, ip->bytes.data(), 16);
  } else {
    auto& a = reinterpret_cast<sockaddr_in&>(s);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    std::memcpy(&a.sin_addr, ip->bytes.data(), 4);
  }
  return s;
}

bool sameAddress(const sockaddr_storage& a, const sockaddr_storage& b) {
  return addressText(a) == addressText(b);
}

// Sends all of `data` on a blocking socket: false on an error, or once the client has not
// taken the whole message within `timeout_ms`.
// SO_SNDTIMEO bounds each send() alone, and a client that reads nothing can still take a
// trickle (its receive window reopens by a few bytes now and then): each send() then returns
// a little after waiting, and without a deadline for the message the transfer, and its slot,
// would last for ever.
bool sendAll(int fd, const uint8_t* data, size_t size, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
    if (size > 0 && std::chrono::steady_clock::now() >= deadline) return false;
  }
  return true;
}

void setTimeout(int fd, int option, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

// Closes a connection whose answer is sent: the write side first, then whatever the client
// still sends is read (briefly) so that closing with unread input does not reset the
// connection before the client has read the end of the transfer.
void closeGently(int fd) {
  shutdown(fd, SHUT_WR);
  setTimeout(fd, SO_RCVTIMEO, 1000);
  uint8_t buf[4096];
  for (int i = 0; i < 64 && read(fd, buf, sizeof buf) > 0; ++i) {
  }
  close(fd);
}
}  // namespace

base::Result<TransferOptions> transferOptions(const std::vector<std::string>& transfer_to,
                                              const std::vector<std::string>& notify,
                                              int max_transfers, int send_timeout_ms) {
  TransferOptions o;
  for (const auto& text : transfer_to) {
    auto cidr = base::Cidr::parse(text);
    if (!cidr)
      if (auto ip = base::IpAddress::parse(text)) cidr = base::Cidr{*ip, ip->v6 ? 128 : 32};
    if (!cidr) return base::Error{"--transfer-to: \"" + text + "\" is not a CIDR", ""};
    o.allowed.push_back(*cidr);
  }
  for (const auto& text : notify) {
    auto address = socketAddress(text);
    if (!address) return base::Error{"--notify: \"" + text + "\" is not ADDR or ADDR:PORT", ""};
    o.notify.push_back(*address);
  }
  o.max_transfers = static_cast<size_t>(max_transfers);
  o.send_timeout_ms = send_timeout_ms;
  return o;
}

TransferServer::TransferServer(TransferOptions options)
    : options_(std::move(options)),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      notify4_(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)),
      notify6_(socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {}

TransferServer::~TransferServer() {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  ready_.notify_all();
  for (int fd : active_) shutdown(fd, SHUT_RDWR);  // ends their blocked sends
  uint64_t one = 1;
  if (wake_fd_ >= 0 && write(wake_fd_, &one, sizeof one) < 0) {
  }
  idle_.wait(lock, [this] { return active_.empty(); });
  lock.unlock();
  if (journal_.joinable()) journal_.join();
  for (int fd : {wake_fd_, notify4_, notify6_})
    if (fd >= 0) close(fd);
}

base::Status TransferServer::start() {
  if (wake_fd_ < 0) return base::Error{std::string("eventfd: ") + strerror(errno), ""};
  journal_ = std::thread([this] { journalLoop(); });
  return base::Ok{};
}

void TransferServer::publish(std::shared_ptr<const zone::Snapshot> snapshot, bool offered,
                             const transfer::Patched* patched) {
  {
    std::lock_guard lock(mutex_);
    // A patch counts only when it was applied to the snapshot served before: owner_before
    // tells two weak_ptrs' objects apart even once one is gone.
    const bool follows = patched && patched->patch && !served_.owner_before(patched->base) &&
                         !patched->base.owner_before(served_);
    if (!follows) {
      after_offered_.whole = true;
      after_offered_.patches.clear();
    } else if (!after_offered_.whole) {
      after_offered_.patches.push_back(patched->patch);
    }
    served_ = snapshot;
    if (!offered) return;
    if (after_offered_.whole) {
      to_incoming_ = std::move(after_offered_);
    } else if (!to_incoming_.whole) {
      for (auto& p : after_offered_.patches) to_incoming_.patches.push_back(std::move(p));
    }
    after_offered_ = {};
    incoming_ = std::move(snapshot);
  }
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) {
  }  // a saturated counter means a wake-up is pending already
}

std::shared_ptr<const transfer::JournalState> TransferServer::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

bool TransferServer::allows(const sockaddr_storage& peer) const {
  base::IpAddress ip = RecursionPolicy::peerAddress(peer);
  return std::any_of(options_.allowed.begin(), options_.allowed.end(),
                     [&](const base::Cidr& c) { return c.contains(ip); });
}

void TransferServer::take(int fd, const sockaddr_storage& peer, std::vector<uint8_t> query,
                          std::vector<uint8_t> pending) {
  const char* refused = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (!allows(peer))
      refused = "not in --transfer-to";
    else if (stopping_)
      refused = "stopping";
    else if (transfers_ >= options_.max_transfers)
      refused = "--transfer-max transfers in progress";
    else
      active_.insert(fd), ++transfers_;
  }
  if (refused) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    // A cluster's names are not for enumeration: REFUSED (RFC 5936 §2.2.1 leaves the policy
    // to the server), sent without waiting, as the connection is still non-blocking.
    spdlog::info("transfer: refused {} ({})", addressText(peer), refused);
    uint8_t out[2 + 512];
    if (size_t n = transfer::errorResponse(query.data(), query.size(),
                                           static_cast<uint8_t>(wire::Rcode::Refused), out)) {
      pending.insert(pending.end(), out, out + n);
      if (send(fd, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
      }  // the client is gone or not reading: nothing more is owed to it
    }
    shutdown(fd, SHUT_WR);
    close(fd);
    return;
  }
  std::thread([this, fd, peer, q = std::move(query), p = std::move(pending)]() mutable {
    serve(fd, peer, std::move(q), std::move(p));
  }).detach();
}

void TransferServer::serve(int fd, sockaddr_storage peer, std::vector<uint8_t> query,
                           std::vector<uint8_t> pending) {
  base::yieldToQueries();
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  // What the kernel holds for a client that reads slowly stays small: without this, the
  // send buffer grows to megabytes per connection.
  int buffer = kSendBuffer;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  setTimeout(fd, SO_SNDTIMEO, options_.send_timeout_ms);
  std::shared_ptr<const transfer::JournalState> state;
  {
    // Right after the start, the journal thread may still be taking in the first snapshot.
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, std::chrono::seconds(30), [this] { return state_ || stopping_; });
    state = state_;
  }
  const int64_t start = nowMs();
  transfer::Summary s;
  const int timeout = options_.send_timeout_ms;
  if (state && sendAll(fd, pending.data(), pending.size(), timeout))
    s = transfer::respond(*state, query.data(), query.size(),
                          [fd, timeout](const uint8_t* data, size_t size) {
                            return sendAll(fd, data, size, timeout);
                          });
  const std::string who = addressText(peer);
  count(s);
  if (s.rcode != 0)
    spdlog::info("transfer: {} to {}: rcode {}", s.how, who, s.rcode);
  else if (s.complete)
    spdlog::info("transfer: {} of {} serial {} to {}: {} records in {} messages, {} ms", s.how,
                 s.zone, s.serial, who, s.records, s.messages, nowMs() - start);
  else
    spdlog::warn(
        "transfer: {} of {} to {} ended after {} records: the client stopped reading "
        "or went away",
        s.how, s.zone, who, s.records);
  {
    std::lock_guard lock(mutex_);
    --transfers_;
  }
  closeGently(fd);
  std::lock_guard lock(mutex_);
  active_.erase(fd);
  idle_.notify_all();
}

void TransferServer::count(const transfer::Summary& s) {
  using Kind = transfer::Summary::Kind;
  std::atomic<uint64_t>* counter = &cut_;
  if (s.rcode == static_cast<uint8_t>(wire::Rcode::Refused))
    counter = &refused_;
  else if (s.rcode != 0)
    counter = &errors_;
  else if (s.complete)
    switch (s.kind) {
      case Kind::Axfr:
        counter = &axfr_;
        break;
      case Kind::UpToDate:
        counter = &up_to_date_;
        break;
      case Kind::Ixfr:
        counter = &ixfr_;
        break;
      case Kind::IxfrAsAxfr:
        counter = &ixfr_as_axfr_;
        break;
      case Kind::None:
        break;
    }
  counter->fetch_add(1, std::memory_order_relaxed);
}

admin::TransferValues TransferServer::stats() const {
  admin::TransferValues v;
  v.enabled = true;
  v.axfr = axfr_.load(std::memory_order_relaxed);
  v.ixfr = ixfr_.load(std::memory_order_relaxed);
  v.ixfr_as_axfr = ixfr_as_axfr_.load(std::memory_order_relaxed);
  v.up_to_date = up_to_date_.load(std::memory_order_relaxed);
  v.refused = refused_.load(std::memory_order_relaxed);
  v.errors = errors_.load(std::memory_order_relaxed);
  v.cut = cut_.load(std::memory_order_relaxed);
  v.notifies_sent = notifies_sent_.load(std::memory_order_relaxed);
  v.notifies_pending = notifies_pending_.load(std::memory_order_relaxed);
  return v;
}

uint32_t TransferServer::secondariesSerial(const wire::Name& zone, int timeout_ms) const {
  if (options_.notify.empty()) return 0;
  static std::mt19937 random{std::random_device{}()};
  const auto id = static_cast<uint16_t>(random());
  const std::vector<uint8_t> query = soaQuery(id, zone.data(), zone.size());
  for (const auto& to : options_.notify) {
    int fd = to.ss_family == AF_INET ? notify4_ : notify6_;
    socklen_t len = to.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    sendto(fd, query.data(), query.size(), 0, reinterpret_cast<const sockaddr*>(&to), len);
  }
  uint32_t highest = 0;
  size_t answers = 0;
  const int64_t deadline = nowMs() + timeout_ms;
  while (answers < options_.notify.size()) {
    const int64_t left = deadline - nowMs();
    if (left <= 0) break;
    pollfd fds[2] = {{notify4_, POLLIN, 0}, {notify6_, POLLIN, 0}};
    if (poll(fds, 2, static_cast<int>(left)) <= 0) continue;
    for (int fd : {notify4_, notify6_}) {
      uint8_t buf[512];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        uint32_t serial;
        if (!transfer::replySerial(buf, static_cast<size_t>(n), id, serial)) continue;
        ++answers;
        if (highest == 0 || transfer::serialLess(highest, serial)) highest = serial;
      }
    }
  }
  return highest;
}

void TransferServer::journalLoop() {
  // Named, so that `top -H` and /proc/PID/task/*/comm tell its CPU from the query threads'.
  pthread_setname_np(pthread_self(), "dnsd-journal");
  base::yieldToQueries();
  for (;;) {
    int64_t now = nowMs();
    int64_t wait = 1000;
    for (const auto& p : notifies_) wait = std::min(wait, std::max<int64_t>(0, p.next_ms - now));
    pollfd fds[3] = {{wake_fd_, POLLIN, 0}, {notify4_, POLLIN, 0}, {notify6_, POLLIN, 0}};
    poll(fds, 3, static_cast<int>(wait));
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      if (read(wake_fd_, &count, sizeof count) < 0) {
      }
    }
    std::shared_ptr<const zone::Snapshot> next;
    std::shared_ptr<const transfer::JournalState> previous;
    Steps steps;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      next = std::move(incoming_);
      incoming_.reset();
      steps = std::move(to_incoming_);
      to_incoming_ = {};
      previous = state_;
    }
    if (next) {
      std::vector<int> changed;
      auto state = transfer::advance(previous.get(), std::move(next), options_.limits, &changed,
                                     steps.whole ? nullptr : &steps.patches);
      {
        std::lock_guard lock(mutex_);
        state_ = state;
      }
      ready_.notify_all();
      queueNotifies(*state, changed);
    }
    receiveReplies();
    sendDue(nowMs());
    notifies_pending_.store(notifies_.size(), std::memory_order_relaxed);
  }
}

void TransferServer::queueNotifies(const transfer::JournalState& state,
                                   const std::vector<int>& zones) {
  static std::mt19937 random{std::random_device{}()};
  const zone::Snapshot& snap = *state.snapshot;
  for (int z : zones) {
    const wire::Name& apex = snap.zone(z).apex;
    const transfer::Rr soa = transfer::apexSoa(snap, z);
    for (size_t t = 0; t < options_.notify.size(); ++t) {
      std::erase_if(notifies_,
                    [&](const Pending& p) { return p.apex == apex.wire() && p.target == t; });
      Pending p;
      p.apex = apex.wire();
      p.target = t;
      p.id = static_cast<uint16_t>(random());
      p.serial = transfer::soaSerial(soa);
      p.message = transfer::notifyMessage(p.id, apex, soa);
      p.next_ms = 0;
      p.interval_ms = kNotifyFirstRetryMs;
      notifies_.push_back(std::move(p));
    }
  }
}

void TransferServer::sendDue(int64_t now) {
  std::erase_if(notifies_, [](const Pending& p) { return p.checking && p.attempts > kMaxChecks; });
  for (auto& p : notifies_) {
    if (p.next_ms > now) continue;
    const sockaddr_storage& to = options_.notify[p.target];
    int fd = to.ss_family == AF_INET ? notify4_ : notify6_;
    socklen_t len = to.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (p.checking) {
      if (++p.attempts > kMaxChecks) continue;  // not answering queries: dropped next time
      const std::vector<uint8_t> query =
          soaQuery(p.id, reinterpret_cast<const uint8_t*>(p.apex.data()), p.apex.size());
      sendto(fd, query.data(), query.size(), 0, reinterpret_cast<const sockaddr*>(&to), len);
      p.next_ms = now + p.interval_ms;
      p.interval_ms = std::min(p.interval_ms * 2, kNotifyMaxRetryMs);
      continue;
    }
    sendto(fd, p.message.data(), p.message.size(), 0, reinterpret_cast<const sockaddr*>(&to), len);
    notifies_sent_.fetch_add(1, std::memory_order_relaxed);
    if (p.attempts == 0)
      spdlog::info("notify: {} serial {} to {}", wire::Name::fromWire(p.apex).text(), p.serial,
                   addressText(to));
    else if (p.attempts % 5 == 0)
      spdlog::warn("notify: {} serial {} to {}: no answer after {} attempts, still trying",
                   wire::Name::fromWire(p.apex).text(), p.serial, addressText(to), p.attempts);
    ++p.attempts;
    p.next_ms = now + p.interval_ms;
    p.interval_ms = std::min(p.interval_ms * 2, kNotifyMaxRetryMs);
  }
}

void TransferServer::receiveReplies() {
  uint8_t buf[512];
  for (int fd : {notify4_, notify6_}) {
    for (;;) {
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      ssize_t n =
          recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) break;
      std::erase_if(notifies_, [&](Pending& p) {
        if (!sameAddress(from, options_.notify[p.target])) return false;
        return p.checking ? checked(p, buf, static_cast<size_t>(n))
                          : acknowledged(p, buf, static_cast<size_t>(n));
      });
    }
  }
}

// A reply to the NOTIFY of `p`: true when nothing more is to be done for it.
bool TransferServer::acknowledged(Pending& p, const uint8_t* reply, size_t size) {
  static std::mt19937 random{std::random_device{}()};
  uint8_t rcode = 0;
  if (!transfer::isNotifyReply(reply, size, p.id, rcode)) return false;
  const std::string zone = wire::Name::fromWire(p.apex).text();
  const std::string to = addressText(options_.notify[p.target]);
  if (rcode != 0) {
    spdlog::warn("notify: {} answered rcode {} for {}", to, rcode, zone);
    return true;
  }
  spdlog::debug("notify: {} acknowledged {} serial {}", to, zone, p.serial);
  p.checking = true;
  p.attempts = 0;
  p.id = static_cast<uint16_t>(random());
  p.next_ms = nowMs() + kNotifyCheckMs;
  p.interval_ms = kNotifyFirstRetryMs;
  return false;
}

// A reply to the SOA query of `p`: done when the secondary holds the serial notified (or a
// later one); otherwise it is notified again, a few times at most.
bool TransferServer::checked(Pending& p, const uint8_t* reply, size_t size) {
  static std::mt19937 random{std::random_device{}()};
  uint32_t held = 0;
  if (!transfer::replySerial(reply, size, p.id, held)) return false;
  if (!transfer::serialLess(held, p.serial)) return true;
  const std::string zone = wire::Name::fromWire(p.apex).text();
  const std::string to = addressText(options_.notify[p.target]);
  if (++p.renotified > kMaxRenotify) {
    spdlog::warn("notify: {} still holds {} serial {} below {}; giving up", to, zone, held,
                 p.serial);
    return true;
  }
  spdlog::info("notify: {} still holds {} serial {} below {}; notifying again", to, zone, held,
               p.serial);
  p.checking = false;
  p.id = static_cast<uint16_t>(random());
  wire::store16(p.message.data(), p.id);
  p.attempts = 0;
  p.next_ms = 0;
  p.interval_ms = kNotifyFirstRetryMs;
  return false;
}

}  // namespace dnsd::server
