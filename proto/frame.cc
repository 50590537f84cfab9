// Framing. The header layout is documented in frame.h and docs/protocol.md; byte order is
// wire.h's business, this file only knows field order.
#include "proto/frame.h"

#include <algorithm>
#include <string>

#include "proto/wire.h"

namespace warden::proto {
namespace {

// magic + version + type + request id + payload length.
static_assert(kHeaderSize == sizeof(kMagic) + 2 + 2 + 4 + 4);
static_assert(kHeaderSize == 16);
static_assert(sizeof(kMagic) == 4);
static_assert(kMaxPayload == 1048576);
// A maximal frame must be representable in size_t arithmetic without care.
static_assert(kMaxPayload <= SIZE_MAX - kHeaderSize);

constexpr size_t kVersionOffset = 4;

// Once the buffer is empty, give back memory beyond this much (a large frame should not pin
// a megabyte for the rest of a long-lived connection).
constexpr size_t kKeepCapacity = 64 * 1024;

}  // namespace

std::vector<uint8_t> EncodeFrame(uint16_t type, uint32_t request_id,
                                 const std::vector<uint8_t>& payload) {
  Writer w;
  for (uint8_t b : kMagic) w.U8(b);
  w.U16(kProtocolVersion);
  w.U16(type);
  w.U32(request_id);
  // Callers keep payloads within kMaxPayload; a larger one is refused by the peer's decoder.
  w.U32(static_cast<uint32_t>(payload.size()));
  std::vector<uint8_t> out = w.Take();
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<uint8_t> EncodeReplyFrames(uint16_t type, uint32_t request_id,
                                       const std::vector<uint8_t>& payload) {
  if (payload.size() <= kMaxPayload) return EncodeFrame(type, request_id, payload);
  const size_t pieces = (payload.size() + kMaxPayload - 1) / kMaxPayload;
  std::vector<uint8_t> out;
  out.reserve(payload.size() + pieces * kHeaderSize);
  for (size_t offset = 0; offset < payload.size(); offset += kMaxPayload) {
    const size_t n = std::min<size_t>(kMaxPayload, payload.size() - offset);
    const bool last = offset + n == payload.size();
    Writer w;
    for (uint8_t b : kMagic) w.U8(b);
    w.U16(kProtocolVersion);
    w.U16(last ? type : kPartType);
    w.U32(request_id);
    w.U32(static_cast<uint32_t>(n));
    const std::vector<uint8_t>& header = w.bytes();
    out.insert(out.end(), header.begin(), header.end());
    const auto from = payload.begin() + static_cast<std::ptrdiff_t>(offset);
    out.insert(out.end(), from, from + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

void FrameDecoder::Feed(const uint8_t* data, size_t size) {
  if (failed_ || size == 0) return;  // a failed stream is never read again
  Compact();
  buf_.insert(buf_.end(), data, data + size);
}

uint8_t* FrameDecoder::WriteSpace(size_t size) {
  Compact();
  // Exactly this much: a caller asking for Missing() gets one allocation for the whole frame.
  if (buf_.capacity() - buf_.size() < size) buf_.reserve(buf_.size() + size);
  space_ = size;
  buf_.resize(buf_.size() + size);
  return buf_.data() + buf_.size() - size;
}

void FrameDecoder::Commit(size_t written) {
  const size_t kept = failed_ ? 0 : std::min(written, space_);
  buf_.resize(buf_.size() - space_ + kept);
  space_ = 0;
}

size_t FrameDecoder::Missing() const {
  const size_t avail = buf_.size() - pos_;
  return !failed_ && checked_total_ > avail ? checked_total_ - avail : 0;
}

void FrameDecoder::Compact() {
  // Drop the frames already handed out. Next() leaves pos_ > 0 only after returning a frame,
  // so each byte is moved at most once per frame it trails.
  if (pos_ > 0) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
}

FrameDecoder::Outcome FrameDecoder::Next(Frame* frame, Status* error) {
  if (failed_) {
    *error = error_;
    return Outcome::kError;
  }
  const uint8_t* p = buf_.data() + pos_;
  const size_t avail = buf_.size() - pos_;

  // Check whatever part of the fixed prefix has arrived, so a peer speaking another protocol
  // is refused at its first byte rather than after sixteen.
  const size_t magic_seen = std::min(avail, sizeof(kMagic));
  if (!std::equal(p, p + magic_seen, kMagic)) {
    failed_ = true;
    error_ = Status(ErrorCode::kProtocol, "bad magic");
    *error = error_;
    return Outcome::kError;
  }
  if (avail >= kVersionOffset + 2) {
    Reader r(p + kVersionOffset, 2);
    uint16_t version = 0;
    (void)r.U16(&version);
    if (version != kProtocolVersion) {
      failed_ = true;
      error_ =
          Status(ErrorCode::kProtocol, "unsupported protocol version " + std::to_string(version));
      *error = error_;
      return Outcome::kError;
    }
  }
  if (avail < kHeaderSize) return Outcome::kNeedMore;

  Reader r(p + sizeof(kMagic), kHeaderSize - sizeof(kMagic));
  Header h;
  (void)r.U16(&h.version);
  (void)r.U16(&h.type);
  (void)r.U32(&h.request_id);
  (void)r.U32(&h.payload_length);
  if (h.payload_length > kMaxPayload) {
    failed_ = true;
    error_ = Status(ErrorCode::kTooLarge, "payload length " + std::to_string(h.payload_length) +
                                              " exceeds the limit of " +
                                              std::to_string(kMaxPayload) + " bytes");
    *error = error_;
    return Outcome::kError;
  }
  const size_t total = kHeaderSize + h.payload_length;
  if (avail < total) {
    checked_total_ = total;
    return Outcome::kNeedMore;
  }
  checked_total_ = 0;

  frame->header = h;
  if (pos_ == 0 && total == buf_.size() && buf_.capacity() > kKeepCapacity) {
    // The buffer holds this one large frame alone and would be given back below anyway: hand
    // it over as the payload (moving the payload down over the header) instead of copying it.
    frame->payload = std::move(buf_);
    frame->payload.erase(frame->payload.begin(),
                         frame->payload.begin() + static_cast<std::ptrdiff_t>(kHeaderSize));
    buf_ = std::vector<uint8_t>();
    return Outcome::kFrame;
  }
  frame->payload.assign(p + kHeaderSize, p + total);
  pos_ += total;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
    if (buf_.capacity() > kKeepCapacity) buf_.shrink_to_fit();
  }
  return Outcome::kFrame;
}

}  // namespace warden::proto
