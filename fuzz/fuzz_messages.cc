// libFuzzer target: every payload decoder of protocol version 1 (proto/messages.h,
// proto/log_messages.h and proto/event_messages.h) over arbitrary bytes.
//
// The first input byte picks the message; the rest is its payload. Decoders must not crash, read
// out of bounds or allocate from an unchecked count (ASan and the -rss_limit_mb of fuzz/run
// catch that). What decodes must survive a round trip: encoding it and decoding the encoding
// gives back the same encoding (trailing bytes aside, which decoders ignore by design).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <vector>

#include "proto/event_messages.h"
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

namespace p = warden::proto;

// Indexed by the input's first byte (modulo the count); the corpus files are named after them.
constexpr void (*kDecoders[])(const std::vector<uint8_t>&) = {
    &RoundTrip<p::HelloRequest>,  &RoundTrip<p::HelloReply>,      &RoundTrip<p::ErrorReply>,
    &RoundTrip<p::StatusRequest>, &RoundTrip<p::StatusReply>,     &RoundTrip<p::ActionRequest>,
    &RoundTrip<p::ActionReply>,   &RoundTrip<p::PidRequest>,      &RoundTrip<p::PidReply>,
    &RoundTrip<p::VersionReply>,  &RoundTrip<p::RereadReply>,     &RoundTrip<p::TailRequest>,
    &RoundTrip<p::TailReply>,     &RoundTrip<p::LogNamesRequest>, &RoundTrip<p::EventsRequest>,
    &RoundTrip<p::EventsReply>,   &RoundTrip<p::WaitRequest>,     &RoundTrip<p::WaitReply>,
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::vector<uint8_t> payload(data + 1, data + size);
  kDecoders[data[0] % std::size(kDecoders)](payload);
  return 0;
}
