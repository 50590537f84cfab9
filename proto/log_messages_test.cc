#include "proto/log_messages.h"

#include <gtest/gtest.h>

namespace warden::proto {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(LogMessages, TailRequestBytesAreAsDocumented) {
  TailRequest m;
  m.name = "web";
  m.stream = LogStream::kStderr;
  m.unit = TailUnit::kBytes;
  m.count = 1600;
  m.follow = true;
  // docs/protocol.md: str name, u8 stream, u8 unit, u64 count, u8 follow.
  Bytes expected = {0, 0, 0, 3, 'w', 'e', 'b', 2, 0, 0, 0, 0, 0, 0, 0, 0x06, 0x40, 1};
  EXPECT_EQ(Encode(m), expected);
  TailRequest back;
  ASSERT_TRUE(Decode(expected, &back));
  EXPECT_EQ(back.name, "web");
  EXPECT_EQ(back.stream, LogStream::kStderr);
  EXPECT_EQ(back.unit, TailUnit::kBytes);
  EXPECT_EQ(back.count, 1600u);
  EXPECT_TRUE(back.follow);
}

TEST(LogMessages, TailReplyCarriesBinaryData) {
  TailReply m;
  m.more = true;
  m.path = "/l";
  m.data = std::string("a\0\xff\n", 4);
  Bytes expected = {1, 0, 0, 0, 2, '/', 'l', 0, 0, 0, 4, 'a', 0, 0xff, '\n'};
  EXPECT_EQ(Encode(m), expected);
  TailReply back;
  ASSERT_TRUE(Decode(expected, &back));
  EXPECT_TRUE(back.more);
  EXPECT_EQ(back.path, "/l");
  EXPECT_EQ(back.data, m.data);
}

TEST(LogMessages, NamesRequestIsAListOfStrings) {
  LogNamesRequest m{{"a", "b:*"}};
  Bytes expected = {0, 0, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0, 3, 'b', ':', '*'};
  EXPECT_EQ(Encode(m), expected);
  LogNamesRequest back;
  ASSERT_TRUE(Decode(expected, &back));
  EXPECT_EQ(back.names, m.names);
}

TEST(LogMessages, ShortOrImpossiblePayloadsAreRefusedAndTrailingBytesIgnored) {
  Bytes tail = Encode(TailRequest{});
  TailRequest t;
  for (size_t n = 0; n < tail.size(); ++n) {
    EXPECT_FALSE(Decode(Bytes(tail.begin(), tail.begin() + static_cast<long>(n)), &t)) << n;
  }
  tail.push_back(0x42);
  EXPECT_TRUE(Decode(tail, &t));

  LogNamesRequest names;
  EXPECT_FALSE(Decode(Bytes{0xff, 0xff, 0xff, 0xff}, &names));  // 4 billion names in 0 bytes
  TailReply reply;
  EXPECT_FALSE(Decode(Bytes{0, 0, 0, 0, 0, 0, 0, 0, 9}, &reply));  // data longer than the rest
}

TEST(LogMessages, TailDataIsRawButNamesAreUtf8) {
  TailReply m;
  m.path = "/var/log/web.log";
  m.data = std::string("\xFF\x00\xC3", 3);  // program output: any bytes, cut anywhere
  TailReply back;
  ASSERT_TRUE(Decode(Encode(m), &back));
  EXPECT_EQ(back.data, m.data);

  const Bytes request = {0, 0, 0, 1, 0xFF, 1, 1, 0, 0, 0, 0, 0, 0, 0, 10, 0};
  TailRequest t;
  ReadError why = ReadError::kNone;
  EXPECT_FALSE(Decode(request, &t, &why));
  EXPECT_EQ(why, ReadError::kNotUtf8);
  LogNamesRequest names;
  EXPECT_FALSE(Decode(Bytes{0, 0, 0, 1, 0, 0, 0, 1, 0xFE}, &names, &why));
  EXPECT_EQ(why, ReadError::kNotUtf8);
}

}  // namespace
}  // namespace warden::proto
