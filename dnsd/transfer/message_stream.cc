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
  names_.clear();
}

void MessageStream::writeOwner(const uint8_t* owner, size_t size) {
  const size_t at = size_ - kFrame;  // the owner's offset in the message
  size_t label = 0;
  while (owner[label] != 0) {
    std::string_view suffix(reinterpret_cast<const char*>(owner + label), size - label);
    if (auto it = names_.find(suffix); it != names_.end()) {
      std::memcpy(buf_.data() + size_, owner, label);
      wire::store16(buf_.data() + size_ + label, static_cast<uint16_t>(0xC000 | it->second));
      size_ += label + 2;
      break;
    }
    if (at + label < 0x4000) names_.emplace(suffix, static_cast<uint16_t>(at + label));
    label += owner[label] + 1u;
  }
  if (owner[label] == 0) {  // no suffix was known: the whole name
    std::memcpy(buf_.data() + size_, owner, size);
    size_ += size;
  }
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
