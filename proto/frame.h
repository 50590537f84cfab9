// Framing: every message is a 16-byte header followed by its payload.
//
//   offset size field
//   0      4    magic "WRDN" (0x57 0x52 0x44 0x4E)
//   4      2    protocol version (u16, big-endian; this is version 1)
//   6      2    message type (u16)
//   8      4    request id (u32; a reply echoes the request's id)
//   12     4    payload length (u32; at most kMaxPayload)
//
// FrameDecoder is incremental and pure: it is fed bytes as they arrive and hands out complete
// frames. It never allocates based on a length it has not checked against kMaxPayload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/status.h"

namespace warden::proto {

inline constexpr uint8_t kMagic[4] = {'W', 'R', 'D', 'N'};
inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr size_t kHeaderSize = 16;
inline constexpr uint32_t kMaxPayload = 1u << 20;  // 1 MiB

struct Header {
  uint16_t version = kProtocolVersion;
  uint16_t type = 0;
  uint32_t request_id = 0;
  uint32_t payload_length = 0;
};

struct Frame {
  Header header;
  std::vector<uint8_t> payload;
};

// Header + payload as bytes on the wire.
std::vector<uint8_t> EncodeFrame(uint16_t type, uint32_t request_id,
                                 const std::vector<uint8_t>& payload);

// A reply whose payload is larger than kMaxPayload travels in pieces: PART frames (type
// kPartType, the request's id) of kMaxPayload bytes each, then the reply frame itself with the
// rest. The receiver appends the pieces in order; nothing else comes between them.
inline constexpr uint16_t kPartType = 0x7FFE;
// The frames of one reply, split as above (a single frame when the payload fits).
std::vector<uint8_t> EncodeReplyFrames(uint16_t type, uint32_t request_id,
                                       const std::vector<uint8_t>& payload);

class FrameDecoder {
 public:
  enum class Outcome {
    kNeedMore,  // no complete frame buffered yet
    kFrame,     // *frame holds the next frame
    kError,     // the stream is corrupt (bad magic, version, or length); *error says why.
                // The decoder stays in error: the connection must be closed.
  };

  void Feed(const uint8_t* data, size_t size);
  Outcome Next(Frame* frame, Status* error);

  // Feeding without a copy through a caller's buffer: WriteSpace(size) returns room for `size`
  // bytes after those buffered (to read() into), Commit(written) keeps the first `written` of
  // them (0 after a failed read). No other call may come between the two.
  uint8_t* WriteSpace(size_t size);
  void Commit(size_t written);
  // The bytes the frame in progress still lacks, known once Next() has checked its header and
  // answered kNeedMore; 0 before that, when a whole frame is buffered, or after an error.
  size_t Missing() const;

  // Bytes buffered but not yet handed out (a frame in progress).
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  void Compact();

  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
  size_t space_ = 0;          // WriteSpace's size until Commit
  size_t checked_total_ = 0;  // header + payload of the frame in progress, once checked
  bool failed_ = false;
  Status error_;
};

}  // namespace warden::proto
