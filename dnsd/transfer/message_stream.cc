#include "dnsd/transfer/message_stream.h"

#include <cstring>

#include "dnsd/wire/dns.h"

namespace dnsd::transfer {
namespace {

constexpr size_t kFrame = 2;  // the TCP length before each message

}  // namespace

MessageStream::MessageStream(const wire::QueryView& q, Sink sink)
    : q_(q), sink_(std::move(sink)), buf_(kFrame + wire::kMaxMessage) {
  start();
}

// Header (the query's ID and opcode, QR and AA), the question as the client wrote it.
void MessageStream::start() {
  uint8_t* m = buf_.data() + kFrame;
  wire::store16(m, q_.id);
  m[2] = static_cast<uint8_t>(0x80 | (q_.opcode << 3) | 0x04 | (q_.rd ? 1 : 0));
  m[3] = 0;
  wire::store16(m + 4, 1);
  std::memset(m + 6, 0, 6);
  const size_t question = q_.question_end - wire::kHeaderSize;
  std::memcpy(m + wire::kHeaderSize, q_.packet + wire::kHeaderSize, question);
  size_ = kFrame + wire::kHeaderSize + question;
  count_ = 0;
  // The question is not a compression target: it has the client's case, and the records
  // keep the zone's.
  prev_labels_ = 0;
}

void MessageStream::writeOwner(const uint8_t* owner, size_t size) {
  // A node's records share their owner's bytes: a pointer to where it was written last.
  if (owner == prev_ && size == prev_size_ && prev_labels_ > 0 && prev_offsets_[0] < 0x4000) {
    wire::store16(buf_.data() + size_, static_cast<uint16_t>(0xC000 | prev_offsets_[0]));
    size_ += 2;
    return;
  }
  const auto at = static_cast<uint16_t>(size_ - kFrame);  // the owner's offset
  uint8_t starts[wire::kMaxLabels];
  size_t labels = 0;
  for (size_t i = 0; i < size && owner[i] != 0 && labels < wire::kMaxLabels; i += owner[i] + 1u)
    starts[labels++] = static_cast<uint8_t>(i);
  // Labels shared with the previous owner, counted from the right.
  size_t common = 0;
  while (common < labels && common < prev_labels_) {
    const uint8_t* a = owner + starts[labels - 1 - common];
    const uint8_t* b = prev_ + prev_starts_[prev_labels_ - 1 - common];
    if (a[0] != b[0] || std::memcmp(a + 1, b + 1, a[0]) != 0) break;
    ++common;
  }
  uint16_t offsets[wire::kMaxLabels];
  const size_t literal = labels - common;
  const uint16_t target = common ? prev_offsets_[prev_labels_ - common] : 0;
  if (common > 0 && target < 0x4000) {
    const size_t prefix = starts[literal];  // the labels before the shared suffix
    std::memcpy(buf_.data() + size_, owner, prefix);
    wire::store16(buf_.data() + size_ + prefix, static_cast<uint16_t>(0xC000 | target));
    size_ += prefix + 2;
    for (size_t i = 0; i < literal; ++i) offsets[i] = static_cast<uint16_t>(at + starts[i]);
    for (size_t i = literal; i < labels; ++i)
      offsets[i] = prev_offsets_[prev_labels_ - common + (i - literal)];
  } else {
    std::memcpy(buf_.data() + size_, owner, size);
    size_ += size;
    for (size_t i = 0; i < labels; ++i) offsets[i] = static_cast<uint16_t>(at + starts[i]);
  }
  prev_ = owner;
  prev_size_ = size;
  prev_labels_ = labels;
  std::memcpy(prev_starts_, starts, labels);
  std::memcpy(prev_offsets_, offsets, labels * sizeof offsets[0]);
}

bool MessageStream::add(const uint8_t* owner, size_t owner_size, const uint8_t* data, size_t size) {
  const size_t opt = q_.has_edns ? wire::kOptSize : 0;
  const size_t need = owner_size + size + opt;
  if (count_ > 0 && size_ + need > kFrame + kSoftLimit && !flush()) return false;
  if (size_ + need > kFrame + wire::kMaxMessage) return true;  // cannot be sent at all
  writeOwner(owner, owner_size);
  std::memcpy(buf_.data() + size_, data, size);
  size_ += size;
  ++count_;
  ++records_;
  return true;
}

bool MessageStream::flush() {
  uint8_t* m = buf_.data() + kFrame;
  wire::store16(m + 6, count_);
  if (q_.has_edns) {  // RFC 6891 §7: an OPT in each response to a query that had one
    uint8_t* o = buf_.data() + size_;
    o[0] = 0;
    wire::store16(o + 1, wire::type::OPT);
    wire::store16(o + 3, wire::kEdnsUdpSize);
    std::memset(o + 5, 0, 6);
    size_ += wire::kOptSize;
    wire::store16(m + 10, 1);
  }
  wire::store16(buf_.data(), static_cast<uint16_t>(size_ - kFrame));
  ++messages_;
  bool sent = sink_(buf_.data(), size_);
  start();
  return sent;
}

bool MessageStream::finish() { return count_ == 0 && messages_ > 0 ? true : flush(); }

}  // namespace dnsd::transfer
