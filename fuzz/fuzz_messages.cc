// libFuzzer target: every payload decoder of protocol version 1 (proto/messages.h and
// proto/log_messages.h) over arbitrary bytes.
//
// The first input byte picks the message; the rest is its payload. Decoders must not crash, read
// out of bounds or allocate from an unchecked count (ASan and the -rss_limit_mb of fuzz/run
// catch that). What decodes must survive a round trip: encoding it and decoding the encoding
// gives back the same encoding (trailing bytes aside, which decoders ignore by design).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "proto/log_messages.h"
#include "proto/messages.h"

namespace {

template <typename Message>
void RoundTrip(const std::vector<uint8_t>& payload) {
  Message first;
  if (!warden::proto::Decode(payload, &first)) return;
  const std::vector<uint8_t> encoded = warden::proto::Encode(first);
  Message second;
  if (!warden::proto::Decode(encoded, &second)) std::abort();
  if (warden::proto::Encode(second) != encoded) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace p = warden::proto;
  if (size == 0) return 0;
  const uint8_t which = data[0];
  const std::vector<uint8_t> payload(data + 1, data + size);
  switch (which % 14) {
    case 0: RoundTrip<p::HelloRequest>(payload); break;
    case 1: RoundTrip<p::HelloReply>(payload); break;
    case 2: RoundTrip<p::ErrorReply>(payload); break;
    case 3: RoundTrip<p::StatusRequest>(payload); break;
    case 4: RoundTrip<p::StatusReply>(payload); break;
    case 5: RoundTrip<p::ActionRequest>(payload); break;
    case 6: RoundTrip<p::ActionReply>(payload); break;
    case 7: RoundTrip<p::PidRequest>(payload); break;
    case 8: RoundTrip<p::PidReply>(payload); break;
    case 9: RoundTrip<p::VersionReply>(payload); break;
    case 10: RoundTrip<p::RereadReply>(payload); break;
    case 11: RoundTrip<p::TailRequest>(payload); break;
    case 12: RoundTrip<p::TailReply>(payload); break;
    case 13: RoundTrip<p::LogNamesRequest>(payload); break;
  }
  return 0;
}
