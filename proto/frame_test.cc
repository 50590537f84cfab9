#include "proto/frame.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace warden::proto {
namespace {

using Bytes = std::vector<uint8_t>;
using Outcome = FrameDecoder::Outcome;

void FeedAll(FrameDecoder& d, const Bytes& b) { d.Feed(b.data(), b.size()); }

Bytes Header(uint16_t version, uint16_t type, uint32_t request_id, uint32_t length) {
  Bytes b = {'W', 'R', 'D', 'N'};
  b.push_back(static_cast<uint8_t>(version >> 8));
  b.push_back(static_cast<uint8_t>(version));
  b.push_back(static_cast<uint8_t>(type >> 8));
  b.push_back(static_cast<uint8_t>(type));
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(request_id >> s));
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(length >> s));
  return b;
}

TEST(EncodeFrameTest, ExactHeaderBytes) {
  const Bytes got = EncodeFrame(0x8002, 0x01020304, Bytes{0xAA, 0xBB, 0xCC});
  const Bytes want = {
      0x57, 0x52, 0x44, 0x4E,  // "WRDN"
      0x00, 0x01,              // version 1
      0x80, 0x02,              // type: STATUS reply
      0x01, 0x02, 0x03, 0x04,  // request id
      0x00, 0x00, 0x00, 0x03,  // payload length
      0xAA, 0xBB, 0xCC,        // payload
  };
  EXPECT_EQ(got, want);
}

TEST(EncodeFrameTest, EmptyPayloadIsJustTheHeader) {
  const Bytes got = EncodeFrame(8, 0xFFFFFFFF, {});
  EXPECT_EQ(got.size(), kHeaderSize);
  EXPECT_EQ(got, Header(1, 8, 0xFFFFFFFF, 0));
}

TEST(FrameDecoderTest, DecodesOneFrame) {
  FrameDecoder d;
  FeedAll(d, EncodeFrame(2, 77, Bytes{1, 2, 3}));
  Frame f;
  Status err;
  ASSERT_EQ(d.Next(&f, &err), Outcome::kFrame);
  EXPECT_EQ(f.header.version, 1);
  EXPECT_EQ(f.header.type, 2);
  EXPECT_EQ(f.header.request_id, 77u);
  EXPECT_EQ(f.header.payload_length, 3u);
  EXPECT_EQ(f.payload, (Bytes{1, 2, 3}));
  EXPECT_EQ(d.Next(&f, &err), Outcome::kNeedMore);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoderTest, EmptyInputNeedsMore) {
  FrameDecoder d;
  Frame f;
  Status err;
  EXPECT_EQ(d.Next(&f, &err), Outcome::kNeedMore);
  d.Feed(nullptr, 0);
  EXPECT_EQ(d.Next(&f, &err), Outcome::kNeedMore);
}

TEST(FrameDecoderTest, ByteAtATime) {
  const Bytes wire = EncodeFrame(6, 9, Bytes{'a', 'b', 'c', 'd', 'e'});
  FrameDecoder d;
  Frame f;
  Status err;
  for (size_t i = 0; i + 1 < wire.size(); ++i) {
    d.Feed(&wire[i], 1);
    ASSERT_EQ(d.Next(&f, &err), Outcome::kNeedMore) << "after byte " << i;
    EXPECT_EQ(d.buffered(), i + 1);
  }
  d.Feed(&wire.back(), 1);
  ASSERT_EQ(d.Next(&f, &err), Outcome::kFrame);
  EXPECT_EQ(f.header.type, 6);
  EXPECT_EQ(f.header.request_id, 9u);
  EXPECT_EQ(f.payload, (Bytes{'a', 'b', 'c', 'd', 'e'}));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoderTest, TwoFramesInOneFeed) {
  Bytes wire = EncodeFrame(1, 1, Bytes{0x11});
  const Bytes second = EncodeFrame(2, 2, Bytes{0x22, 0x22});
  wire.insert(wire.end(), second.begin(), second.end());
  FrameDecoder d;
  FeedAll(d, wire);
  Frame f;
  Status err;
  ASSERT_EQ(d.Next(&f, &err), Outcome::kFrame);
  EXPECT_EQ(f.header.request_id, 1u);
  EXPECT_EQ(f.payload, (Bytes{0x11}));
  ASSERT_EQ(d.Next(&f, &err), Outcome::kFrame);
  EXPECT_EQ(f.header.request_id, 2u);
  EXPECT_EQ(f.payload, (Bytes{0x22, 0x22}));
  EXPECT_EQ(d.Next(&f, &err), Outcome::kNeedMore);
}

TEST(FrameDecoderTest, SplitAtEveryPosition) {
  Bytes wire = EncodeFrame(3, 10, Bytes{1, 2, 3, 4});
  const Bytes second = EncodeFrame(4, 11, {});
  wire.insert(wire.end(), second.begin(), second.end());
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    FrameDecoder d;
    d.Feed(wire.data(), cut);
    std::vector<uint32_t> ids;
    Frame f;
    Status err;
    Outcome o;
    while ((o = d.Next(&f, &err)) == Outcome::kFrame) ids.push_back(f.header.request_id);
    ASSERT_EQ(o, Outcome::kNeedMore);
    d.Feed(wire.data() + cut, wire.size() - cut);
    while ((o = d.Next(&f, &err)) == Outcome::kFrame) ids.push_back(f.header.request_id);
    ASSERT_EQ(o, Outcome::kNeedMore);
    EXPECT_EQ(ids, (std::vector<uint32_t>{10, 11})) << "cut at " << cut;
    EXPECT_EQ(d.buffered(), 0u);
  }
}

TEST(FrameDecoderTest, BadMagicDetectedAtFirstByte) {
  FrameDecoder d;
  const uint8_t g = 'G';  // e.g. "GET / HTTP/1.1"
  d.Feed(&g, 1);
  Frame f;
  Status err;
  ASSERT_EQ(d.Next(&f, &err), Outcome::kError);
  EXPECT_EQ(err.code(), ErrorCode::kProtocol);
  EXPECT_EQ(err.message(), "bad magic");
}

TEST(FrameDecoderTest, BadMagicDetectedAtFourthByte) {
  FrameDecoder d;
  const Bytes b = {'W', 'R', 'D'};
  FeedAll(d, b);
  Frame f;
  Status err;
  EXPECT_EQ(d.Next(&f, &err), Outcome::kNeedMore);
  const uint8_t x = 'X';
  d.Feed(&x, 1);
  ASSERT_EQ(d.Next(&f, &err), Outcome::kError);
  EXPECT_EQ(err.code(), ErrorCode::kProtocol);
  EXPECT_EQ(err.message(), "bad magic");
}

TEST(FrameDecoderTest, CorruptMagicInFullFrame) {
  for (size_t i = 0; i < 4; ++i) {
    Bytes wire = EncodeFrame(2, 1, {});
    wire[i] ^= 0x20;  // "wRDN", "WrDN", ...
    FrameDecoder d;
    FeedAll(d, wire);
    Frame f;
    Status err;
    ASSERT_EQ(d.Next(&f, &err), Outcome::kError) << "byte " << i;
    EXPECT_EQ(err.code(), ErrorCode::kProtocol);
    EXPECT_EQ(err.message(), "bad magic");
  }
}

TEST(FrameDecoderTest, BadMagicInSecondFrame) {
  Bytes wire = EncodeFrame(2, 1, {});
  wire.insert(wire.end(), {'X', 'X', 'X', 'X'});
  FrameDecoder d;
  FeedAll(d, wire);
  Frame f;
  Status err;
  ASSERT_EQ(d.Next(&f, &err), Outcome::kFrame);
  ASSERT_EQ(d.Next(&f, &err), Outcome::kError);
  EXPECT_EQ(err.message(), "bad magic");
}

TEST(FrameDecoderTest, UnsupportedVersionDetectedBeforeFullHeader) {
  for (uint16_t version : {uint16_t{0}, uint16_t{2}, uint16_t{0x0100}, uint16_t{0xFFFF}}) {
    const Bytes header = Header(version, 1, 1, 0);
    FrameDecoder d;
    d.Feed(header.data(), 6);  // magic + version only
    Frame f;
    Status err;
    ASSERT_EQ(d.Next(&f, &err), Outcome::kError);
    EXPECT_EQ(err.code(), ErrorCode::kProtocol);
    EXPECT_EQ(err.message(), "unsupported protocol version " + std::to_string(version));
  }
}

TEST(FrameDecoderTest, OversizedLengthIsRefusedWithoutWaitingForIt) {
  for (uint32_t length : {kMaxPayload + 1, 0x7FFFFFFFu, 0xFFFFFFFFu}) {
    FrameDecoder d;
    FeedAll(d, Header(1, 2, 3, length));
    Frame f;
    Status err;
    ASSERT_EQ(d.Next(&f, &err), Outcome::kError) << length;
    EXPECT_EQ(err.code(), ErrorCode::kTooLarge);
    EXPECT_NE(err.message().find(std::to_string(length)), std::string::npos) << err.message();
    EXPECT_TRUE(f.payload.empty());  // nothing was allocated for it
    EXPECT_LE(d.buffered(), kHeaderSize);
  }
}

TEST(FrameDecoderTest, MaximalPayloadIsAccepted) {
  const Bytes payload(kMaxPayload, 0x5A);
  const Bytes wire = EncodeFrame(2, 5, payload);
  FrameDecoder d;
  // In socket-sized pieces, as a connection would deliver it.
  for (size_t off = 0; off < wire.size(); off += 65536) {
    const size_t n = std::min<size_t>(65536, wire.size() - off);
    d.Feed(wire.data() + off, n);
  }
  Frame f;
  Status err;
  ASSERT_EQ(d.Next(&f, &err), Outcome::kFrame);
  EXPECT_EQ(f.header.payload_length, kMaxPayload);
  EXPECT_EQ(f.payload.size(), kMaxPayload);
  EXPECT_EQ(f.payload, payload);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoderTest, ErrorIsSticky) {
  FrameDecoder d;
  const Bytes bad = {'N', 'O', 'P', 'E'};
  FeedAll(d, bad);
  Frame f;
  Status err;
  ASSERT_EQ(d.Next(&f, &err), Outcome::kError);
  // Valid bytes afterwards do not revive the stream.
  FeedAll(d, EncodeFrame(1, 1, {}));
  Status again;
  ASSERT_EQ(d.Next(&f, &again), Outcome::kError);
  EXPECT_EQ(again.code(), ErrorCode::kProtocol);
  EXPECT_EQ(again.message(), "bad magic");
}

TEST(FrameDecoderTest, LongLivedConnectionDoesNotAccumulate) {
  FrameDecoder d;
  Frame f;
  Status err;
  const Bytes one = EncodeFrame(2, 0, Bytes(100, 7));
  // Feed 1.5 frames at a time so a partial frame is always carried over a Feed.
  Bytes stream;
  for (uint32_t i = 0; i < 3000; ++i) {
    const Bytes fr = EncodeFrame(2, i, Bytes(100, 7));
    stream.insert(stream.end(), fr.begin(), fr.end());
  }
  const size_t chunk = one.size() * 3 / 2;
  uint32_t expect_id = 0;
  size_t max_buffered = 0;
  for (size_t off = 0; off < stream.size(); off += chunk) {
    d.Feed(stream.data() + off, std::min(chunk, stream.size() - off));
    Outcome o;
    while ((o = d.Next(&f, &err)) == Outcome::kFrame) {
      ASSERT_EQ(f.header.request_id, expect_id++);
    }
    ASSERT_EQ(o, Outcome::kNeedMore);
    max_buffered = std::max(max_buffered, d.buffered());
  }
  EXPECT_EQ(expect_id, 3000u);
  EXPECT_EQ(d.buffered(), 0u);
  EXPECT_LT(max_buffered, one.size());
}

TEST(FrameDecoderTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> len(0, 64);
  for (int iter = 0; iter < 2000; ++iter) {
    FrameDecoder d;
    Bytes junk(len(rng));
    for (auto& b : junk) b = static_cast<uint8_t>(byte(rng));
    // Half the time start with a valid magic and version so the length check is exercised.
    if (iter % 2 == 0 && junk.size() >= 6) {
      junk[0] = 'W', junk[1] = 'R', junk[2] = 'D', junk[3] = 'N', junk[4] = 0, junk[5] = 1;
    }
    FeedAll(d, junk);
    Frame f;
    Status err;
    for (int steps = 0; steps < 8; ++steps) {
      const Outcome o = d.Next(&f, &err);
      if (o == Outcome::kError) {
        EXPECT_FALSE(err.ok());
        break;
      }
      if (o == Outcome::kNeedMore) break;
      EXPECT_LE(f.payload.size(), kMaxPayload);
    }
  }
}

TEST(FrameDecoderTest, MutatedValidStreamNeverCrashes) {
  Bytes valid;
  for (uint32_t i = 0; i < 4; ++i) {
    const Bytes fr = EncodeFrame(static_cast<uint16_t>(i + 1), i, Bytes(i * 3, 0x41));
    valid.insert(valid.end(), fr.begin(), fr.end());
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pos(0, valid.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int iter = 0; iter < 2000; ++iter) {
    Bytes wire = valid;
    wire[pos(rng)] = static_cast<uint8_t>(byte(rng));
    FrameDecoder d;
    FeedAll(d, wire);
    Frame f;
    Status err;
    int frames = 0;
    Outcome o;
    while ((o = d.Next(&f, &err)) == Outcome::kFrame) ++frames;
    EXPECT_LE(frames, 4);
    if (o == Outcome::kError) {
      EXPECT_FALSE(err.ok());
    }
  }
}

TEST(EncodeReplyFramesTest, AReplyThatFitsIsOneFrame) {
  const std::vector<uint8_t> payload(kMaxPayload, 0x5A);
  EXPECT_EQ(EncodeReplyFrames(0x8002, 7, payload), EncodeFrame(0x8002, 7, payload));
}

TEST(EncodeReplyFramesTest, ALargerReplyIsPartsThenTheReply) {
  std::vector<uint8_t> payload(2 * kMaxPayload + 100);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
  const std::vector<uint8_t> bytes = EncodeReplyFrames(0x8002, 9, payload);
  FrameDecoder decoder;
  decoder.Feed(bytes.data(), bytes.size());
  std::vector<uint16_t> types;
  std::vector<uint8_t> joined;
  Frame frame;
  Status error;
  while (decoder.Next(&frame, &error) == FrameDecoder::Outcome::kFrame) {
    EXPECT_EQ(frame.header.request_id, 9u);
    EXPECT_LE(frame.payload.size(), kMaxPayload);
    types.push_back(frame.header.type);
    joined.insert(joined.end(), frame.payload.begin(), frame.payload.end());
  }
  EXPECT_EQ(types, (std::vector<uint16_t>{kPartType, kPartType, 0x8002}));
  EXPECT_EQ(joined, payload);
  EXPECT_EQ(decoder.buffered(), 0u);
}

}  // namespace
}  // namespace warden::proto
