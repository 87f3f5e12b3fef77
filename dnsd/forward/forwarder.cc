#include "dnsd/forward/forwarder.h"

#include <ares.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "dnsd/forward/cache.h"
#include "dnsd/forward/reply.h"
#include "dnsd/wire/name.h"
#include "dnsd/wire/query.h"

namespace dnsd::forward {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxUpstreams = 15;  // CoreDNS forward's limit
constexpr uint16_t kTypeHinfo = 13;
constexpr int kMaxEvents = 64;

// Random bits from getrandom(2), drawn in blocks so a query costs no system call.
class RandomPool {
 public:
  uint16_t next16() noexcept {
    if (next_ == kSize) refill();
    return pool_[next_++];
  }
  uint32_t next32() noexcept { return uint32_t{next16()} << 16 | next16(); }

 private:
  static constexpr size_t kSize = 256;
  void refill() noexcept {
    next_ = 0;
    if (getrandom(pool_, sizeof pool_, 0) == static_cast<ssize_t>(sizeof pool_)) return;
    // No getrandom (very old kernel): xorshift from the clock beats a constant.
    uint64_t x = static_cast<uint64_t>(Clock::now().time_since_epoch().count()) | 1;
    for (auto& v : pool_) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      v = static_cast<uint16_t>(x);
    }
  }
  uint16_t pool_[kSize];
  size_t next_ = kSize;
};

// A query handed over by a worker.
struct Queued {
  std::vector<uint8_t> query;
  Client client;
};

// The HINFO query for `name`, RD set (an upstream must forward it to show the loop).
std::vector<uint8_t> probeQuery(const wire::Name& name, uint16_t id) {
  std::vector<uint8_t> q(wire::kHeaderSize, 0);
  wire::store16(q.data(), id);
  q[2] = 0x01;                     // RD
  wire::store16(q.data() + 4, 1);  // QDCOUNT
  q.insert(q.end(), name.data(), name.data() + name.size());
  uint8_t tail[4];
  wire::store16(tail, kTypeHinfo);
  wire::store16(tail + 2, wire::kClassIn);
  q.insert(q.end(), tail, tail + 4);
  return q;
}

// Fire and forget: the answer does not matter, only whether the query comes back to us.
void sendProbe(const Upstream& upstream, const std::vector<uint8_t>& query) noexcept {
  sockaddr_storage to;
  socklen_t to_len = toSockaddr(upstream, to);
  int fd = socket(to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  (void)sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&to), to_len);
  close(fd);
}

std::string errnoText() { return std::strerror(errno); }

}  // namespace

std::string Options::validate() const {
  if (upstreams.empty() && zones.empty()) return "no upstream";
  if (upstreams.size() > kMaxUpstreams) return "more than 15 upstreams";
  for (const ForwardZone& zone : zones) {
    if (zone.upstreams.empty()) return "forward zone " + zone.domain + " has no upstream";
    if (zone.upstreams.size() > kMaxUpstreams)
      return "forward zone " + zone.domain + " has more than 15 upstreams";
    if (!wire::Name::parse(zone.domain)) return "\"" + zone.domain + "\" is not a domain";
  }
  if (timeout_ms <= 0) return "timeout must be positive";
  if (tries <= 0) return "tries must be positive";
  if (max_concurrent == 0 || max_queued == 0)
    return "max_concurrent and max_queued must be positive";
  return "";
}

class Forwarder::Impl {
 public:
  Impl(Options options, Deliver deliver);
  ~Impl();
  base::Status start();
  void submit(const uint8_t* query, size_t size, const Client& client) noexcept;
  size_t answerFromCache(const wire::QueryView& q, const uint8_t* query, size_t query_size,
                         uint8_t* out, size_t udp_limit) noexcept;
  Stats stats() const noexcept;

  const std::string& probeText() const { return probe_text_; }
  void sawLoopProbe() noexcept { loop_detected_.store(true, std::memory_order_relaxed); }
  bool loopDetected() const noexcept { return loop_detected_.load(std::memory_order_relaxed); }

 private:
  // Another client asking the same question while it is in flight upstream.
  struct Waiter {
    std::vector<uint8_t> query;
    Client client;
    QueryFacts facts;
  };

  // An upstream query: what is needed to answer the client when c-ares calls back.
  struct Inflight {
    Impl* impl;
    std::vector<uint8_t> query;  // as the client sent it
    Client client;
    QueryFacts facts;
    std::string key;
    Clock::time_point sent;
    std::vector<Waiter> waiters;  // answered with the same reply
  };

  struct Channel;
  base::Status initChannels();
  base::Status initChannel(Channel& c);
  base::Status setServers(Channel& c);
  Channel* channelFor(const uint8_t* name, size_t size) noexcept;
  base::Status initLoop();
  void stop() noexcept;
  void run() noexcept;
  int timeoutMs() noexcept;
  void dispatch(const epoll_event& event) noexcept;
  void drainQueue() noexcept;
  void handle(Queued& item) noexcept;
  void sendUpstream(Channel& channel, Queued& item, const QueryFacts& facts,
                    std::string key) noexcept;
  void complete(Inflight& f, const uint8_t* reply, size_t size) noexcept;
  void deliverAll(const Inflight& f, const uint8_t* reply, size_t size) noexcept;
  void deliverShort(const Client& client, const uint8_t* query, const QueryFacts& facts,
                    wire::Rcode rcode) noexcept;
  void watch(int fd, bool readable, bool writable) noexcept;
  static void onSocketState(void* data, ares_socket_t fd, int readable, int writable);
  static void onReply(void* arg, int status, int timeouts, unsigned char* abuf, int alen);

  Options options_;
  CacheLimits limits_;
  Deliver deliver_;
  // One c-ares channel per upstream list: [0] the default (may have no servers), then one
  // per forward zone, longest domain first; each fails over within its own list.
  struct Channel {
    Impl* impl = nullptr;
    ares_channel channel = nullptr;
    std::string domain;  // lowercase wire form; empty for the default
    std::vector<Upstream> upstreams;
  };
  std::vector<std::unique_ptr<Channel>> channels_;
  std::unordered_map<int, ares_channel> socket_channel_;  // which channel owns a socket
  int epoll_ = -1, wake_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  // Workers → thread. The thread swaps the whole vector out (one lock per batch).
  std::mutex mutex_;
  std::vector<Queued> queue_;

  // Forwarder thread only.
  std::vector<Queued> batch_;
  std::vector<uint8_t> send_buffer_, cached_;
  std::unordered_set<int> watched_;
  SharedCache cache_;  // also read by the workers (answerFromCache)
  // Questions in flight upstream by cache key: an identical one joins instead of being sent
  // again (CoreDNS and Unbound coalesce too), so a popular name that expires costs the
  // upstream one query, not one per asker.
  std::unordered_map<std::string, Inflight*> pending_;
  RandomPool random_;
  size_t inflight_ = 0;

  std::string probe_text_;  // "<rand>.<rand>.dnsd-loop-probe."
  wire::Name probe_name_;
  std::atomic<bool> loop_detected_{false};
  std::atomic<uint64_t> requests_{0}, failures_{0}, misses_{0}, coalesced_{0}, stale_{0},
      prefetches_{0}, refused_{0}, dropped_{0},
      latency_us_{0}, latency_count_{0};
};

// ---- Setup and teardown ----

Forwarder::Impl::Impl(Options options, Deliver deliver)
    : options_(std::move(options)),
      limits_{options_.max_success_ttl, options_.max_denial_ttl},
      deliver_(std::move(deliver)),
      cache_(options_.cache_capacity, options_.serve_stale) {
  probe_text_ = std::to_string(random_.next32()) + "." + std::to_string(random_.next32()) +
                ".dnsd-loop-probe.";
  probe_name_ = *wire::Name::parse(probe_text_);
}

Forwarder::Impl::~Impl() {
  stop();
  // Calls back every query still in flight with ARES_EDESTRUCTION (freed, not answered) and
  // reports its sockets closed, so the epoll fd must still be open.
  for (auto& c : channels_)
    if (c->channel) ares_destroy(c->channel);
  if (epoll_ >= 0) close(epoll_);
  if (wake_ >= 0) close(wake_);
}

base::Status Forwarder::Impl::start() {
  if (!channels_.empty()) return base::Error{"forwarder: already started", ""};
  if (std::string why = options_.validate(); !why.empty())
    return base::Error{"forwarder: " + why, ""};
  if (auto s = initLoop(); !s) return s;
  if (auto s = initChannels(); !s) return s;
  std::vector<uint8_t> probe = probeQuery(probe_name_, random_.next16());
  for (const Upstream& u : options_.upstreams) sendProbe(u, probe);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    return base::Error{std::string("forwarder: cannot start its thread (") + e.what() + ")", ""};
  }
  return base::Ok{};
}

base::Status Forwarder::Impl::initLoop() {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_ < 0 || wake_ < 0)
    return base::Error{"forwarder: epoll/eventfd (" + errnoText() + ")", ""};
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = wake_;
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &event) != 0)
    return base::Error{"forwarder: epoll_ctl (" + errnoText() + ")", ""};
  return base::Ok{};
}

base::Status Forwarder::Impl::initChannels() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  auto add = [this](std::string domain, std::vector<Upstream> upstreams) -> base::Status {
    auto c = std::make_unique<Channel>();
    c->impl = this;
    c->domain = std::move(domain);
    c->upstreams = std::move(upstreams);
    if (auto s = initChannel(*c); !s) return s;
    channels_.push_back(std::move(c));
    return base::Ok{};
  };
  if (auto s = add("", options_.upstreams); !s) return s;
  std::vector<const ForwardZone*> zones;
  for (const ForwardZone& z : options_.zones) zones.push_back(&z);
  std::stable_sort(zones.begin(), zones.end(), [](const ForwardZone* a, const ForwardZone* b) {
    return wire::Name::parse(a->domain)->size() > wire::Name::parse(b->domain)->size();
  });
  for (const ForwardZone* z : zones) {
    if (auto s = add(wire::Name::parse(z->domain)->wire(), z->upstreams); !s) return s;
  }
  return base::Ok{};
}

base::Status Forwarder::Impl::initChannel(Channel& c) {
  ares_options o{};
  // NOCHECKRESP: SERVFAIL/REFUSED are the upstream's answer, passed on as CoreDNS does. Not
  // IGNTC: a truncated UDP reply makes c-ares ask again over TCP. Not EDNS: with ares_send
  // that flag makes 1.18 cut 11 bytes off the query after a SERVFAIL, channel-wide.
  o.flags = ARES_FLAG_NOCHECKRESP;
  o.timeout = options_.timeout_ms;
  o.tries = options_.tries;
  o.sock_state_cb = &Impl::onSocketState;
  o.sock_state_cb_data = &c;
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
             ARES_OPT_NOROTATE;  // the first upstream is preferred
  if (int rc = ares_init_options(&c.channel, &o, mask); rc != ARES_SUCCESS) {
    c.channel = nullptr;
    return base::Error{std::string("forwarder: c-ares init failed (") + ares_strerror(rc) + ")",
                       ""};
  }
  return setServers(c);
}

base::Status Forwarder::Impl::setServers(Channel& c) {
  std::vector<ares_addr_port_node> nodes(c.upstreams.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Upstream& u = c.upstreams[i];
    nodes[i].next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
    nodes[i].family = u.ip.v6 ? AF_INET6 : AF_INET;
    std::memcpy(&nodes[i].addr, u.ip.bytes.data(), u.ip.size());
    nodes[i].udp_port = nodes[i].tcp_port = u.port;
  }
  if (nodes.empty()) return base::Ok{};
  if (int rc = ares_set_servers_ports(c.channel, nodes.data()); rc != ARES_SUCCESS)
    return base::Error{std::string("forwarder: c-ares servers (") + ares_strerror(rc) + ")", ""};
  return base::Ok{};
}

// The channel for a lowercase wire qname: the longest forward zone it is in, else the
// default; nullptr when that has no upstream.
Forwarder::Impl::Channel* Forwarder::Impl::channelFor(const uint8_t* name,
                                                      size_t size) noexcept {
  for (size_t i = 1; i < channels_.size(); ++i) {
    const std::string& domain = channels_[i]->domain;
    if (wire::isSubdomain(name, size, reinterpret_cast<const uint8_t*>(domain.data()),
                          domain.size()))
      return channels_[i].get();
  }
  return channels_.front()->upstreams.empty() ? nullptr : channels_.front().get();
}

void Forwarder::Impl::stop() noexcept {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  uint64_t one = 1;
  (void)write(wake_, &one, sizeof one);
  thread_.join();
}

// ---- The forwarder thread: epoll over the wake eventfd and c-ares's sockets ----

void Forwarder::Impl::run() noexcept {
  epoll_event events[kMaxEvents];
  while (!stopping_.load(std::memory_order_acquire)) {
    int n = epoll_wait(epoll_, events, kMaxEvents, timeoutMs());
    for (int i = 0; i < n; ++i) dispatch(events[i]);
    // Timeouts (and failover) happen in here, also when no socket was ready.
    for (auto& c : channels_) ares_process_fd(c->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  }
}

int Forwarder::Impl::timeoutMs() noexcept {
  int soonest = -1;  // nothing in flight: sleep until a query is queued
  for (auto& c : channels_) {
    timeval tv{};
    timeval* next = ares_timeout(c->channel, nullptr, &tv);
    if (!next) continue;
    int ms = static_cast<int>(next->tv_sec * 1000 + (next->tv_usec + 999) / 1000);
    if (soonest < 0 || ms < soonest) soonest = ms;
  }
  return soonest;
}

void Forwarder::Impl::dispatch(const epoll_event& event) noexcept {
  int fd = event.data.fd;
  if (fd == wake_) return drainQueue();
  // An error or hangup is reported as readable: c-ares reads, sees it and fails over.
  bool readable = event.events & (EPOLLIN | EPOLLERR | EPOLLHUP);
  bool writable = event.events & EPOLLOUT;
  auto owner = socket_channel_.find(fd);
  if (owner == socket_channel_.end()) return;
  ares_process_fd(owner->second, readable ? fd : ARES_SOCKET_BAD,
                  writable ? fd : ARES_SOCKET_BAD);
}

// c-ares says which of its sockets to watch for what; (0, 0) comes just before it closes one.
void Forwarder::Impl::onSocketState(void* data, ares_socket_t fd, int readable, int writable) {
  auto* c = static_cast<Channel*>(data);
  if (readable || writable)
    c->impl->socket_channel_[fd] = c->channel;
  else
    c->impl->socket_channel_.erase(fd);
  c->impl->watch(fd, readable != 0, writable != 0);
}

void Forwarder::Impl::watch(int fd, bool readable, bool writable) noexcept {
  if (!readable && !writable) {
    if (watched_.erase(fd)) epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
    return;
  }
  epoll_event event{};
  event.events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
  event.data.fd = fd;
  // If a socket was ever closed without a (0, 0) first, the kernel dropped it from the epoll
  // set while we still remember its number: fall back to the other operation.
  bool known = !watched_.insert(fd).second;
  if (epoll_ctl(epoll_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event) != 0)
    epoll_ctl(epoll_, known ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event);
}

// ---- Queries ----

void Forwarder::Impl::submit(const uint8_t* query, size_t size, const Client& client) noexcept {
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (size < wire::kHeaderSize || size > wire::kMaxMessage) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  bool was_empty;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.max_queued) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    was_empty = queue_.empty();
    queue_.push_back(Queued{{query, query + size}, client});
  }
  // The thread reads the eventfd before it swaps the queue out, so no wakeup is lost.
  uint64_t one = 1;
  if (was_empty) (void)write(wake_, &one, sizeof one);
}

void Forwarder::Impl::drainQueue() noexcept {
  uint64_t count;
  (void)read(wake_, &count, sizeof count);
  batch_.clear();
  {
    std::lock_guard lock(mutex_);
    batch_.swap(queue_);
  }
  for (Queued& item : batch_) handle(item);
}

// Cache first; the loop probe is answered, never forwarded again; then upstream.
void Forwarder::Impl::handle(Queued& item) noexcept {
  wire::QueryView q;
  if (wire::parseQuery(item.query.data(), item.query.size(), q) != wire::ParseStatus::Ok) {
    dropped_.fetch_add(1, std::memory_order_relaxed);  // the server forwards only valid ones
    return;
  }
  QueryFacts facts{q.question_end, q.has_edns, q.do_bit};
  if (q.qname_size == probe_name_.size() &&
      std::memcmp(q.qname_lower, probe_name_.data(), q.qname_size) == 0) {
    sawLoopProbe();
    return deliverShort(item.client, item.query.data(), facts, wire::Rcode::ServFail);
  }
  std::string key = cacheKey(q);
  if (item.client.prefetch) {
    // The entry is still live: go upstream, unless the name is on its way already.
    if (pending_.count(key)) return;
    prefetches_.fetch_add(1, std::memory_order_relaxed);
  } else if (cache_.lookup(key, Clock::now(), cached_)) {
    fitForClient(cached_, item.query.data(), facts, item.client.tcp, item.client.limit);
    return deliver_(item.client, cached_.data(), cached_.size());
  }
  if (auto joined = pending_.find(key); joined != pending_.end()) {
    coalesced_.fetch_add(1, std::memory_order_relaxed);
    joined->second->waiters.push_back(Waiter{std::move(item.query), item.client, facts});
    return;
  }
  Channel* channel = channelFor(q.qname_lower, q.qname_size);
  if (!channel || inflight_ >= options_.max_concurrent) {  // no upstream for it, or too many
    refused_.fetch_add(1, std::memory_order_relaxed);
    return deliverShort(item.client, item.query.data(), facts, wire::Rcode::Refused);
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  sendUpstream(*channel, item, facts, std::move(key));
}

void Forwarder::Impl::sendUpstream(Channel& channel, Queued& item, const QueryFacts& facts,
                                   std::string key) noexcept {
  // The client's bytes as they are, under an ID of ours: a client's (maybe predictable) ID
  // must not be what an off-path spoofer has to guess. c-ares may call back from inside
  // ares_send, so the count goes up first.
  send_buffer_ = item.query;
  wire::store16(send_buffer_.data(), random_.next16());
  auto* f = new Inflight{this, std::move(item.query), item.client, facts, std::move(key),
                         Clock::now(), {}};
  pending_[f->key] = f;
  ++inflight_;
  ares_send(channel.channel, send_buffer_.data(), static_cast<int>(send_buffer_.size()),
            &onReply, f);
}

void Forwarder::Impl::onReply(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                              int alen) {
  std::unique_ptr<Inflight> f(static_cast<Inflight*>(arg));
  Impl& self = *f->impl;
  --self.inflight_;
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;  // shutting down
  if (auto it = self.pending_.find(f->key); it != self.pending_.end() && it->second == f.get())
    self.pending_.erase(it);
  bool ok = status == ARES_SUCCESS && abuf && alen > 0;
  self.complete(*f, ok ? abuf : nullptr, ok ? static_cast<size_t>(alen) : 0);
}

// A reply (or nullptr: every upstream failed) for `f`: checked, cached, given the client's
// ID and question, sized for the client.
void Forwarder::Impl::complete(Inflight& f, const uint8_t* reply, size_t size) noexcept {
  auto now = Clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - f.sent).count();
  latency_us_.fetch_add(static_cast<uint64_t>(us), std::memory_order_relaxed);
  latency_count_.fetch_add(1, std::memory_order_relaxed);
  ReplyInfo info;
  std::vector<uint16_t> ttl_offsets;
  if (!acceptReply(reply, size, f.query.data(), f.facts, info, &ttl_offsets)) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    // RFC 8767: an answer that expired a little while ago beats SERVFAIL.
    std::vector<uint8_t> stale;
    if (cache_.lookupStale(f.key, now, stale)) {
      stale_.fetch_add(1, std::memory_order_relaxed);
      return deliverAll(f, stale.data(), stale.size());
    }
    deliverShort(f.client, f.query.data(), f.facts, wire::Rcode::ServFail);
    for (const Waiter& w : f.waiters)
      deliverShort(w.client, w.query.data(), w.facts, wire::Rcode::ServFail);
    return;
  }
  cache_.insert(f.key, reply, size, std::move(ttl_offsets), cacheLifetime(info, limits_), now);
  deliverAll(f, reply, size);
}

// `reply` to the asker of `f` and to each waiter: they asked the same question (the key
// ignores only case), each gets its own ID, case and size limit.
void Forwarder::Impl::deliverAll(const Inflight& f, const uint8_t* reply, size_t size) noexcept {
  std::vector<uint8_t> out(reply, reply + size);
  if (!f.client.prefetch) {
    fitForClient(out, f.query.data(), f.facts, f.client.tcp, f.client.limit);
    deliver_(f.client, out.data(), out.size());
  }
  for (const Waiter& w : f.waiters) {
    out.assign(reply, reply + size);
    fitForClient(out, w.query.data(), w.facts, w.client.tcp, w.client.limit);
    deliver_(w.client, out.data(), out.size());
  }
}

void Forwarder::Impl::deliverShort(const Client& client, const uint8_t* query,
                                   const QueryFacts& facts, wire::Rcode rcode) noexcept {
  if (client.prefetch) return;  // nobody is waiting
  std::vector<uint8_t> reply = shortReply(query, facts, rcode);
  deliver_(client, reply.data(), reply.size());
}

// A hit answered by the calling worker: the same bytes the forwarder's thread would send,
// without the trip through its queue. A reply larger than the client's UDP limit is left to
// the forwarder, which cuts it.
size_t Forwarder::Impl::answerFromCache(const wire::QueryView& q, const uint8_t* query,
                                        size_t query_size, uint8_t* out,
                                        size_t udp_limit) noexcept {
  if (options_.cache_capacity == 0) return 0;
  char key[kMaxKey];
  bool refresh = false;
  size_t size = cache_.lookup(cacheKey(q, key), Clock::now(), out, udp_limit, &refresh);
  if (size == 0) return 0;
  restoreClientQuestion(out, query, QueryFacts{q.question_end, q.has_edns, q.do_bit});
  if (refresh) {
    Client prefetch;
    prefetch.prefetch = true;
    submit(query, query_size, prefetch);
  }
  return size;
}

Forwarder::Stats Forwarder::Impl::stats() const noexcept {
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return Stats{get(requests_), get(failures_), cache_.hits(),    get(misses_),
               get(refused_),  get(dropped_),  get(latency_us_), get(latency_count_),
               get(coalesced_), get(stale_), get(prefetches_)};
}

// ---- The public face ----

Forwarder::Forwarder(Options options, Deliver deliver)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(deliver))) {}
Forwarder::~Forwarder() = default;
base::Status Forwarder::start() { return impl_->start(); }
void Forwarder::submit(const uint8_t* query, size_t size, const Client& client) noexcept {
  impl_->submit(query, size, client);
}
Forwarder::Stats Forwarder::stats() const noexcept { return impl_->stats(); }
size_t Forwarder::answerFromCache(const wire::QueryView& q, const uint8_t* query,
                                  size_t query_size, uint8_t* out, size_t udp_limit) noexcept {
  return impl_->answerFromCache(q, query, query_size, out, udp_limit);
}
std::string Forwarder::loopProbeName() const { return impl_->probeText(); }
void Forwarder::sawLoopProbe() noexcept { impl_->sawLoopProbe(); }
bool Forwarder::loopDetected() const noexcept { return impl_->loopDetected(); }

}  // namespace dnsd::forward
