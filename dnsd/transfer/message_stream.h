// The messages of one zone transfer (RFC 5936 §2.2): each carries the question and as many
// records as fit in about 16 KiB, each owner name compressed against the one before it in
// the message (compression pointers reach only the first 16 KiB of a message). A zone goes
// out in canonical order, so an owner shares its longest suffix with its predecessor: a
// sibling, a parent or the same name. Each message
// goes to the sink framed for TCP, with its 2-byte length.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dnsd/transfer/zone_walk.h"
#include "dnsd/wire/query.h"

namespace dnsd::transfer {

// Sends one framed message; false stops the transfer (the client went away or is too slow).
using Sink = std::function<bool(const uint8_t* data, size_t size)>;

class MessageStream {
 public:
  static constexpr size_t kSoftLimit = 16384;

  // Answers `q` (a parsed AXFR or IXFR query); its packet must outlive the stream. Owners
  // and rdata given to add() must too.
  MessageStream(const wire::QueryView& q, Sink sink);
  bool add(const Rr& rr) { return add(rr.owner, rr.owner_size, rr.data, rr.size); }
  bool add(const uint8_t* owner, size_t owner_size, const uint8_t* data, size_t size);
  // Sends the last message.
  bool finish();
  size_t messages() const { return messages_; }
  size_t records() const { return records_; }

 private:
  void start();
  bool flush();
  void writeOwner(const uint8_t* owner, size_t size);

  const wire::QueryView& q_;
  Sink sink_;
  std::vector<uint8_t> buf_;  // the 2-byte length, then the message
  size_t size_ = 0;           // bytes used in buf_
  uint16_t count_ = 0;        // records in the current message
  size_t messages_ = 0, records_ = 0;
  // The previous owner of this message (lowercase wire bytes held by the caller): its
  // labels' starts, and where each of its labels is found in the message.
  const uint8_t* prev_ = nullptr;
  size_t prev_size_ = 0;
  size_t prev_labels_ = 0;
  uint8_t prev_starts_[wire::kMaxLabels] = {};
  uint16_t prev_offsets_[wire::kMaxLabels] = {};
};

}  // namespace dnsd::transfer
