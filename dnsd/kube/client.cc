#include "dnsd/kube/client.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <random>

#include "dnsd/base/priority.h"
#include "dnsd/kube/curl_library.h"

namespace dnsd::kube {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Bounds on what one response may hold before it is taken for garbage.
constexpr size_t kMaxPageBytes = 512u << 20;
constexpr size_t kMaxErrorBody = 64u << 10;

int64_t nanos(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// "https://host:port" split so that the URL can name tls-server-name while the connection
// goes to the host (CURLOPT_CONNECT_TO): the certificate is checked against that name.
struct ServerUrl {
  std::string scheme, host, port;
  static ServerUrl parse(const std::string& url) {
    ServerUrl u;
    const size_t colon_slashes = url.find("://");
    u.scheme = url.substr(0, colon_slashes);
    std::string rest = url.substr(colon_slashes + 3);
    rest = rest.substr(0, rest.find('/'));
    const size_t bracket = rest.find(']');
    const size_t colon = rest.rfind(':');
    if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
      u.host = rest.substr(0, colon);
      u.port = rest.substr(colon + 1);
    } else {
      u.host = rest;
      u.port = u.scheme == "https" ? "443" : "80";
    }
    return u;
  }
};

std::string statusMessage(const std::string& body) {
  // A Status object's message, without a JSON parser for an error path: good enough for a log.
  const size_t key = body.find("\"message\":\"");
  if (key == std::string::npos) return body.substr(0, 200);
  const size_t start = key + 11;
  size_t end = start;
  while (end < body.size() && body[end] != '"') end += body[end] == '\\' ? 2 : 1;
  return body.substr(start, std::min(end, body.size()) - start);
}

}  // namespace

// One list-then-watch of a resource (in one namespace, or all).
struct Client::Watch {
  Resource resource;
  std::string ns;
  enum class Phase { Listing, Watching } phase = Phase::Listing;
  bool listed = false;     // listed whole at least once
  bool relisting = false;  // the list under way replaces an earlier one
  std::string rv;          // where a watch resumes
  bool rv_match = false;   // list at `rv` (NotOlderThan), after a 410 ends a watch
  std::string continue_token;

  Loop* loop = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  curl_slist* connect_to = nullptr;
  std::string body;    // a list page, or the watch bytes not yet a whole event
  size_t scanned = 0;  // of `body`, bytes known to hold no newline
  long code = 0;
  Clock::time_point started, last_byte, retry_at;
  uint64_t events = 0;   // events and bookmarks on this watch
  std::string abort;     // why the write callback dropped the connection
  bool expired = false;  // an ERROR 410 ended the watch: relist
  milliseconds backoff{0};
  bool changed = false;  // during one write callback
};

struct Client::Loop {
  Client& client;
  const CurlLibrary& curl;
  int epoll = -1;
  int stop = -1;
  CURLM* multi = nullptr;
  Clock::time_point timer = Clock::time_point::max();
  Clock::time_point recall = Clock::time_point::max();  // Client::recallAt()
  bool precise_wait = true;  // epoll_pwait2() works (Linux 5.11 and later)
  std::vector<std::unique_ptr<Watch>> watches;
  Decoder decoder;
  TokenSource tokens;
  ServerUrl url;
  std::mt19937 random{std::random_device{}()};

  Loop(Client& c, const CurlLibrary& library)
      : client(c),
        curl(library),
        tokens(c.options_.credentials),
        url(ServerUrl::parse(c.options_.credentials.server)) {}
  ~Loop() {
    for (auto& w : watches) release(*w);
    if (multi) curl.multi_cleanup(multi);
    if (epoll >= 0) close(epoll);
    if (stop >= 0) close(stop);
  }

  const Options& options() const { return client.options_; }

  // The store changed, or a recall is due: a recall asked for before is answered by this.
  void changed() {
    recall = Clock::time_point::max();
    client.changed_();
  }

  // ---- curl's callbacks ----

  static int onSocket(CURL*, curl_socket_t fd, int what, void* self, void* assigned) {
    auto* loop = static_cast<Loop*>(self);
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(loop->epoll, EPOLL_CTL_DEL, fd, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.data.fd = fd;
    if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
    if (assigned) {
      epoll_ctl(loop->epoll, EPOLL_CTL_MOD, fd, &ev);
    } else {
      epoll_ctl(loop->epoll, EPOLL_CTL_ADD, fd, &ev);
      loop->curl.multi_assign(loop->multi, fd, loop);
    }
    return 0;
  }

  static int onTimer(CURLM*, long timeout_ms, void* self) {
    auto* loop = static_cast<Loop*>(self);
    loop->timer =
        timeout_ms < 0 ? Clock::time_point::max() : Clock::now() + milliseconds(timeout_ms);
    return 0;
  }

  // ---- requests ----

  std::string query(const Watch& w, bool watch) {
    CURL* escaper = w.easy;
    auto esc = [&](const std::string& text) {
      char* e = curl.easy_escape(escaper, text.c_str(), static_cast<int>(text.size()));
      std::string out(e);
      curl.free(e);
      return out;
    };
    std::string q;
    auto add = [&](const std::string& key, const std::string& value) {
      q += (q.empty() ? "?" : "&") + key + "=" + esc(value);
    };
    std::string labels = options().label_selector;
    if (w.resource == Resource::EndpointSlices)  // slices of no Service name nothing
      labels = "kubernetes.io/service-name" + (labels.empty() ? "" : "," + labels);
    if (w.resource != Resource::Namespaces && !labels.empty()) add("labelSelector", labels);
    if (w.resource == Resource::Namespaces && !w.ns.empty())
      add("fieldSelector", "metadata.name=" + w.ns);
    if (w.resource == Resource::Pods)  // CoreDNS's pod watch leaves finished Pods out too
      add("fieldSelector", "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown");
    if (watch) {
      add("watch", "1");
      add("allowWatchBookmarks", "true");
      add("resourceVersion", w.rv);
      // client-go draws it from [5, 10) minutes so that watches do not end together.
      std::uniform_int_distribution<int> minutes(300, 599);
      add("timeoutSeconds", std::to_string(minutes(random)));
    } else {
      add("limit", std::to_string(options().page_size));
      if (!w.continue_token.empty())
        add("continue", w.continue_token);
      else if (w.rv_match) {
        add("resourceVersion", w.rv);
        add("resourceVersionMatch", "NotOlderThan");
      }
    }
    return q;
  }

  void request(Watch& w) {
    w.easy = curl.easy_init();
    CURL* e = w.easy;
    const bool watch = w.phase == Watch::Phase::Watching;
    const Credentials& c = options().credentials;
    std::string base = c.server;
    if (!c.tls_server_name.empty()) {
      base = url.scheme + "://" + c.tls_server_name + ":" + url.port;
      const std::string to = c.tls_server_name + ":" + url.port + ":" + url.host + ":" + url.port;
      w.connect_to = curl.slist_append(nullptr, to.c_str());
      curl.easy_setopt(e, CURLOPT_CONNECT_TO, w.connect_to);
    }
    const std::string target = base + pathOf(w.resource, w.ns) + query(w, watch);
    curl.easy_setopt(e, CURLOPT_URL, target.c_str());
    curl.easy_setopt(e, CURLOPT_PRIVATE, &w);
    curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, &Loop::write);
    curl.easy_setopt(e, CURLOPT_WRITEDATA, &w);
    curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    // One connection per watch: under HTTP/2 they would share one, and one stalled
    // connection would stall every resource.
    curl.easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl.easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl.easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl.easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 30L);
    if (!watch) {
      curl.easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // large lists come gzipped
      curl.easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl.easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
    }
    if (!c.ca_file.empty()) curl.easy_setopt(e, CURLOPT_CAINFO, c.ca_file.c_str());
    if (!c.ca_data.empty()) {
      curl_blob blob{const_cast<char*>(c.ca_data.data()), c.ca_data.size(), CURL_BLOB_COPY};
      curl.easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (c.insecure) {
      curl.easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
      curl.easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!c.cert_file.empty()) curl.easy_setopt(e, CURLOPT_SSLCERT, c.cert_file.c_str());
    if (!c.key_file.empty()) curl.easy_setopt(e, CURLOPT_SSLKEY, c.key_file.c_str());
    if (!c.cert_data.empty()) {
      curl_blob blob{const_cast<char*>(c.cert_data.data()), c.cert_data.size(), CURL_BLOB_COPY};
      curl.easy_setopt(e, CURLOPT_SSLCERT_BLOB, &blob);
      curl.easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (!c.key_data.empty()) {
      curl_blob blob{const_cast<char*>(c.key_data.data()), c.key_data.size(), CURL_BLOB_COPY};
      curl.easy_setopt(e, CURLOPT_SSLKEY_BLOB, &blob);
      curl.easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    w.headers = curl.slist_append(w.headers, "Accept: application/json");
    w.headers = curl.slist_append(w.headers, "User-Agent: dnsd");
    const std::string& token = tokens.get();
    if (!token.empty())
      w.headers = curl.slist_append(w.headers, ("Authorization: Bearer " + token).c_str());
    curl.easy_setopt(e, CURLOPT_HTTPHEADER, w.headers);

    if (!watch && w.continue_token.empty()) {
      if (w.listed && !w.relisting) {
        w.relisting = true;
        client.stats_.resources[static_cast<size_t>(w.resource)].relists++;
      }
      client.store_.begin(w.resource, w.ns);
    }
    w.body.clear();
    w.scanned = 0;
    w.code = 0;
    w.events = 0;
    w.abort.clear();
    w.expired = false;
    w.started = w.last_byte = Clock::now();
    curl.multi_add_handle(multi, e);
  }

  void release(Watch& w) {
    if (w.easy) {
      curl.multi_remove_handle(multi, w.easy);
      curl.easy_cleanup(w.easy);
      w.easy = nullptr;
    }
    curl.slist_free_all(w.headers);
    curl.slist_free_all(w.connect_to);
    w.headers = w.connect_to = nullptr;
  }

  // ---- responses ----

  static size_t write(char* data, size_t size, size_t count, void* self) {
    auto* w = static_cast<Watch*>(self);
    return w->loop->received(*w, data, size * count);
  }

  ResourceStats& statsOf(const Watch& w) {
    return client.stats_.resources[static_cast<size_t>(w.resource)];
  }

  void warnRejected(const Watch& w, const Object& object) {
    statsOf(w).rejected++;
    spdlog::warn("kubernetes: {} {}: {}; skipped", nameOf(w.resource),
                 object.key.empty() ? "(unnamed)" : object.key, object.rejected);
  }

  size_t received(Watch& w, const char* data, size_t n) {
    w.last_byte = Clock::now();
    if (w.code == 0) curl.easy_getinfo(w.easy, CURLINFO_RESPONSE_CODE, &w.code);
    if (w.code != 200) {  // a Status explaining the error: kept for the log
      if (w.body.size() < kMaxErrorBody) w.body.append(data, std::min(n, kMaxErrorBody));
      return n;
    }
    w.body.append(data, n);
    if (w.phase == Watch::Phase::Listing) {
      if (w.body.size() > kMaxPageBytes) return w.abort = "a list page over 512 MiB", 0;
      return n;
    }
    // Watch events are framed one per line (the API server ends each with a newline).
    size_t start = 0;
    w.changed = false;
    for (;;) {
      const size_t newline = w.body.find('\n', std::max(start, w.scanned));
      if (newline == std::string::npos) break;
      std::string_view line(w.body.data() + start, newline - start);
      start = newline + 1;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      if (!event(w, line)) return 0;
    }
    w.body.erase(0, start);
    w.scanned = w.body.size();
    if (w.changed) changed();
    if (w.body.size() > options().max_event_bytes)
      return w.abort =
                 "a watch event over " + std::to_string(options().max_event_bytes >> 20) + " MiB",
             0;
    return n;
  }

  // False when the watch must end (curl then ends the transfer).
  bool event(Watch& w, std::string_view line) {
    auto decoded = decoder.event(w.resource, line);
    if (!decoded) {
      w.abort = decoded.error().message;
      return false;
    }
    Event& e = *decoded;
    // A watch that delivers is a healthy connection: the next failure backs off from the
    // start again (client-go's backoff manager forgets after a quiet period likewise).
    if (w.events++ == 0) w.backoff = milliseconds(0);
    client.stats_.last_event_ns = nanos(Clock::now());
    if (e.type == EventType::Error) {
      if (e.code == 410) {
        spdlog::info("kubernetes: {}: watch history expired ({}); listing again",
                     nameOf(w.resource), e.message);
        w.expired = true;
      } else {
        w.abort = "the watch sent error " + std::to_string(e.code) + ": " + e.message;
      }
      return false;
    }
    if (!e.resource_version.empty()) w.rv = e.resource_version;
    if (e.type == EventType::Bookmark) return true;
    statsOf(w).events[static_cast<size_t>(e.type)]++;
    if (!e.object.rejected.empty()) warnRejected(w, e.object);
    w.changed |= client.store_.apply(w.resource, e.type, std::move(e.object));
    return true;
  }

  void retryLater(Watch& w, const std::string& why) {
    w.backoff = w.backoff.count() == 0 ? options().backoff_initial
                                       : std::min(w.backoff * 2, options().backoff_max);
    // Jitter of up to the backoff again (client-go's jitter factor 1.0).
    std::uniform_real_distribution<double> jitter(1.0, 2.0);
    const auto wait = milliseconds(static_cast<int64_t>(w.backoff.count() * jitter(random)));
    w.retry_at = Clock::now() + wait;
    spdlog::warn("kubernetes: {}{}: {}; retrying in {:.1f} s", nameOf(w.resource),
                 w.ns.empty() ? "" : " in " + w.ns, why, wait.count() / 1000.0);
  }

  void httpError(Watch& w, long code, curl_off_t retry_after) {
    const std::string message = statusMessage(w.body);
    const Credentials& c = options().credentials;
    if (code == 401) {
      tokens.reload();  // the kubelet may have rotated it since the last read
      std::string credential = !c.token_file.empty() ? "the token in " + c.token_file
                               : !c.token.empty()    ? "the token of " + c.origin
                               : !c.cert_file.empty() || !c.cert_data.empty()
                                   ? "the client certificate of " + c.origin
                                   : "no credentials (" + c.origin + " has none)";
      return retryLater(w, "401 Unauthorized: the API server refused " + credential);
    }
    if (code == 403)
      return retryLater(w, "403 Forbidden: " + message + " (dnsd needs list and watch on " +
                               nameOf(w.resource) + ": see deploy/rbac.yaml)");
    if (code == 429 && retry_after > 0) {
      w.retry_at = Clock::now() + std::chrono::seconds(retry_after);
      spdlog::warn("kubernetes: {}: 429 Too Many Requests; retrying after {} s as asked",
                   nameOf(w.resource), static_cast<long>(retry_after));
      return;
    }
    retryLater(w, "HTTP " + std::to_string(code) + (message.empty() ? "" : ": " + message));
  }

  void listDone(Watch& w) {
    bool changed = false;
    auto page = decoder.list(w.resource, w.body, [&](Object&& object) {
      if (!object.rejected.empty()) warnRejected(w, object);
      changed |= client.store_.listed(w.resource, w.ns, std::move(object));
    });
    w.body.clear();
    w.body.shrink_to_fit();  // a page's text is not kept beside its objects
    if (!page) return retryLater(w, page.error().message);
    if (!page->continue_token.empty()) {
      w.continue_token = page->continue_token;
      if (changed) this->changed();
      return request(w);
    }
    w.continue_token.clear();
    changed |= client.store_.end(w.resource, w.ns);
    w.rv = page->resource_version;
    w.rv_match = false;
    w.listed = true;
    w.relisting = false;
    w.backoff = milliseconds(0);
    // The list that completes the sync changes what is served even when it is empty: the
    // zone built so far answers SERVFAIL, as unsynced.
    if (client.markSynced() || changed) this->changed();
    w.phase = Watch::Phase::Watching;
    request(w);
  }

  void done(Watch& w, CURLcode result) {
    long code = 0;
    curl.easy_getinfo(w.easy, CURLINFO_RESPONSE_CODE, &code);
    curl_off_t retry_after = 0;
    curl.easy_getinfo(w.easy, CURLINFO_RETRY_AFTER, &retry_after);
    release(w);
    const bool listing = w.phase == Watch::Phase::Listing;
    if (w.expired) {  // 410 on the watch: relist from where it was
      w.phase = Watch::Phase::Listing;
      w.rv_match = true;
      w.relisting = false;
      return request(w);
    }
    if (!w.abort.empty()) {
      if (!listing) statsOf(w).watch_restarts++;
      w.phase = w.listed ? Watch::Phase::Watching : Watch::Phase::Listing;
      return retryLater(w, w.abort);
    }
    if (result != CURLE_OK) {
      if (!listing && w.events > 0) statsOf(w).watch_restarts++;
      return retryLater(w, curl.easy_strerror(result));
    }
    if (code == 410 && listing) {  // the continue token or the resourceVersion expired
      spdlog::info("kubernetes: {}: list expired ({}); listing again from the start",
                   nameOf(w.resource), statusMessage(w.body));
      w.continue_token.clear();
      w.rv_match = false;
      return request(w);
    }
    if (code != 200) {
      if (listing) w.continue_token.clear();
      return httpError(w, code, retry_after);
    }
    if (listing) return listDone(w);
    // A watch that ends in under a second having sent nothing is an error (client-go's
    // "very short watch"): reconnecting at once would spin.
    statsOf(w).watch_restarts++;
    if (w.events == 0 && Clock::now() - w.started < std::chrono::seconds(1))
      return retryLater(w, "the watch ended at once with no event");
    w.backoff = milliseconds(0);
    request(w);
  }

  // ---- the loop ----

  base::Status init() {
    epoll = epoll_create1(EPOLL_CLOEXEC);
    stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    multi = curl.multi_init();
    if (epoll < 0 || stop < 0 || !multi)
      return base::Error{"kubernetes: cannot start the client", ""};
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = stop;
    epoll_ctl(epoll, EPOLL_CTL_ADD, stop, &ev);
    curl.multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Loop::onSocket);
    curl.multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl.multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Loop::onTimer);
    curl.multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    const std::vector<std::string> all{std::string()};
    const auto& scopes = options().namespaces.empty() ? all : options().namespaces;
    for (Resource r : client.resources())
      for (const std::string& ns : scopes) {
        auto w = std::make_unique<Watch>();
        w->resource = r;
        w->ns = ns;
        w->loop = this;
        watches.push_back(std::move(w));
      }
    return base::Ok{};
  }

  void finished() {
    int left = 0;
    while (CURLMsg* message = curl.multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      Watch* w = nullptr;
      curl.easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &w);
      done(*w, message->data.result);
    }
  }

  // Starts what is due, drops dead watches; the time until the next thing to do.
  Clock::duration housekeeping() {
    const auto now = Clock::now();
    auto next = now + std::chrono::seconds(1);
    bool connected = true;
    for (auto& w : watches) {
      if (!w->easy && now >= w->retry_at) request(*w);
      if (!w->easy) {
        next = std::min(next, w->retry_at);
        connected = false;
        continue;
      }
      if (w->phase != Watch::Phase::Watching || w->code != 200) connected = false;
      if (w->phase == Watch::Phase::Watching && now - w->last_byte > options().idle_timeout) {
        // No byte, not even a bookmark, for this long: the connection is dead.
        statsOf(*w).watch_restarts++;
        release(*w);
        spdlog::warn("kubernetes: {}: the watch was silent for {} s; reconnecting",
                     nameOf(w->resource), options().idle_timeout.count() / 1000);
        request(*w);
      }
    }
    client.stats_.connected = connected;
    next = std::min({next, timer, recall});
    return std::max(next - now, Clock::duration(0));
  }

  // epoll_wait() for at most `wait`: to the microsecond where the kernel has epoll_pwait2(),
  // as a recall a fraction of a millisecond away needs; else rounded up to milliseconds.
  int waitEvents(epoll_event* events, int size, Clock::duration wait) {
    if (precise_wait) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
      const timespec t{static_cast<time_t>(ns / 1'000'000'000),
                       static_cast<long>(ns % 1'000'000'000)};
      const int n = epoll_pwait2(epoll, events, size, &t, nullptr);
      if (n >= 0 || errno != ENOSYS) return n;
      precise_wait = false;
    }
    const auto ms = std::chrono::duration_cast<milliseconds>(wait).count() + 1;
    return epoll_wait(epoll, events, size, static_cast<int>(ms));
  }

  void run() {
    int running = 0;
    epoll_event events[16];
    for (;;) {
      const int n = waitEvents(events, 16, housekeeping());
      for (int i = 0; i < n; ++i) {
        if (events[i].data.fd == stop) return;
        int flags = 0;
        if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
        if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
        if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
        curl.multi_socket_action(multi, events[i].data.fd, flags, &running);
      }
      if (Clock::now() >= timer) {
        timer = Clock::time_point::max();
        curl.multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
      }
      finished();
      if (Clock::now() >= recall) changed();
    }
  }
};

Client::Client(Options options, Store& store, std::function<void()> changed)
    : options_(std::move(options)), store_(store), changed_(std::move(changed)) {}

Client::~Client() {
  if (loop_ && loop_->stop >= 0) {
    uint64_t one = 1;
    if (write(loop_->stop, &one, sizeof one) != sizeof one) spdlog::warn("kubernetes: stop lost");
  }
  if (thread_.joinable()) thread_.join();
  loop_.reset();
}

std::vector<Resource> Client::resources() const {
  std::vector<Resource> out{Resource::Services, Resource::EndpointSlices, Resource::Namespaces};
  if (options_.pods) out.push_back(Resource::Pods);
  return out;
}

base::Status Client::start() {
  const base::Result<const CurlLibrary*> curl = loadCurl();
  if (!curl) return curl.error();
  loop_ = std::make_unique<Loop>(*this, **curl);
  if (auto status = loop_->init(); !status) return status;
  thread_ = std::thread([this] {
    // Named, so that `top -H` and /proc/PID/task/*/comm tell its CPU from the workers'.
    pthread_setname_np(pthread_self(), "dnsd-kube");
    base::yieldToQueries();  // decoding events is background work to the queries
    loop_->run();
  });
  return base::Ok{};
}

void Client::recallAt(std::chrono::steady_clock::time_point when) { loop_->recall = when; }

bool Client::markSynced() {
  for (const auto& w : loop_->watches)
    if (!w->listed) return false;
  if (synced_.exchange(true)) return false;
  std::lock_guard lock(sync_mutex_);
  sync_cv_.notify_all();
  return true;
}

bool Client::waitSynced(std::chrono::milliseconds timeout) {
  std::unique_lock lock(sync_mutex_);
  return sync_cv_.wait_for(lock, timeout, [this] { return synced_.load(); });
}

}  // namespace dnsd::kube
