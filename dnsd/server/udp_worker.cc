#include "dnsd/server/udp_worker.h"

#include <netinet/in.h>

#include <cerrno>

#include "dnsd/answer/answer.h"
#include "dnsd/server/query_log.h"

namespace dnsd::server {
namespace {

// Port 0 cannot be answered, and answering it would only serve reflection.
bool validPeer(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return reinterpret_cast<const sockaddr_in&>(ss).sin_port != 0;
  if (ss.ss_family == AF_INET6) return reinterpret_cast<const sockaddr_in6&>(ss).sin6_port != 0;
  return false;
}

}  // namespace

UdpWorker::UdpWorker(int fd, const Shared& shared)
    : fd_(fd),
      shared_(shared),
      snapshot_(shared.holder),
      counters_(shared.metrics.registerWorker()) {
  for (int i = 0; i < kBatch; ++i) {
    in_iov_[i] = {in_[i].data(), kMaxQuery};
    in_msgs_[i].msg_hdr.msg_iov = &in_iov_[i];
    in_msgs_[i].msg_hdr.msg_iovlen = 1;
    in_msgs_[i].msg_hdr.msg_name = &peers_[i];
  }
}

// The decision for datagram i, its response (if any) in `out`. A query that goes upstream
// is handed to the forwarder here, which replies on this socket itself.
Decision UdpWorker::answerOne(int i, uint8_t* out, const zone::Snapshot* snapshot) noexcept {
  const Request request{in_[i].data(), in_msgs_[i].msg_len, Transport::Udp, &peers_[i],
                        kMaxResponse};
  const Decision d = handler_.decide(request, queries_[i], status_[i], snapshot, out);
  if (d.autopath_hit) counters_.countAutopathHit();
  if (d.upstream()) {
    forward::Client client;
    client.fd = fd_;
    client.peer = peers_[i];
    client.peer_len = in_msgs_[i].msg_hdr.msg_namelen;
    handler_.submit(d, request, out, std::move(client));
    counters_.countForwarded(admin::Proto::Udp, queries_[i].qtype);
  }
  return d;
}

// The socket is blocking, and waits at most kIdle (SO_RCVTIMEO): idle for that long, the
// worker lets go of a replaced snapshot, so a reload's memory is given back even when no
// query comes (the server trims once every worker has let go).
void UdpWorker::run() {
  constexpr timeval kIdle{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &kIdle, sizeof kIdle);
  for (;;) {
    for (int i = 0; i < kBatch; ++i) {
      in_msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      in_msgs_[i].msg_hdr.msg_flags = 0;
    }
    // Waits for one datagram, then takes what else is queued, up to kBatch.
    int got = recvmmsg(fd_, in_msgs_.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (shared_.stopping.load()) return;
    if (got > 0) {
      answerBatch(got);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      snapshot_.current();
    }
  }
}

// Parses the batch's queries before any is answered, and asks for the snapshot's memory
// they will read: first every question's hash-table slot, then, as those arrive, what each
// slot points to (answer::prefetchSlots, prefetchRecords). With a zone larger than the
// cache, a lookup's misses would otherwise be waited for one query after another; this way
// they overlap.
void UdpWorker::parseBatch(int got, const zone::Snapshot* snapshot) noexcept {
  for (int i = 0; i < got; ++i) {
    answerable_[i] = validPeer(peers_[i]) && !(in_msgs_[i].msg_hdr.msg_flags & MSG_TRUNC);
    if (!answerable_[i]) continue;
    status_[i] = wire::parseQuery(in_[i].data(), in_msgs_[i].msg_len, queries_[i]);
    if (snapshot && status_[i] == wire::ParseStatus::Ok)
      answer::prefetchSlots(queries_[i], *snapshot);
  }
  if (!snapshot) return;
  for (int i = 0; i < got; ++i)
    if (answerable_[i] && status_[i] == wire::ParseStatus::Ok)
      answer::prefetchRecords(queries_[i], *snapshot);
}

// Answers datagrams [0, got) of in_msgs_. The snapshot is looked at once per batch.
void UdpWorker::answerBatch(int got) {
  const zone::Snapshot* snapshot = snapshot_.current();
  const uint64_t start = monotonicNs();
  parseBatch(got, snapshot);
  int out = 0;
  for (int i = 0; i < got; ++i) {
    if (!answerable_[i]) continue;
    const Decision d = answerOne(i, out_[out].data(), snapshot);
    if (!d.answered()) continue;
    sent_from_[out] = static_cast<uint8_t>(i);
    sent_rcode_[out] = d.rcode;
    out_iov_[out] = {out_[out].data(), d.size};
    msghdr& h = out_msgs_[out].msg_hdr;
    h = msghdr{};
    h.msg_name = &peers_[i];
    h.msg_namelen = in_msgs_[i].msg_hdr.msg_namelen;
    h.msg_iov = &out_iov_[out];
    h.msg_iovlen = 1;
    ++out;
  }
  // One clock read a batch, not one a query: each answer is counted with an even share of
  // the batch's time. The duration histogram's first bucket
  // ends at 250 µs, so the shares land where each query's own time would.
  // Counted before the answers go, so a client that has its answer sees it in /metrics.
  const uint64_t each = out ? (monotonicNs() - start) / out : 0;
  for (int k = 0; k < out; ++k) {
    const int i = sent_from_[k];
    counters_.countRequest(admin::Proto::Udp, queries_[i].qtype, sent_rcode_[k],
                           in_msgs_[i].msg_len, out_iov_[k].iov_len, each);
    if (shared_.log_queries)
      logQuery(peers_[i], queries_[i], false, sent_rcode_[k], out_[k].data(), out_iov_[k].iov_len,
               each);
  }
  for (int sent = 0; sent < out;) {
    // Never waits for room in the send buffer: a full one drops answers, as a full network
    // would, rather than stopping the worker.
    int n = sendmmsg(fd_, out_msgs_.data() + sent, out - sent, MSG_DONTWAIT);
    // A message the kernel refuses is skipped; UDP clients retry.
    sent += n > 0 ? n : 1;
  }
}

}  // namespace dnsd::server
