#include "proto/wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace warden::proto {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(WriterTest, IntegersAreBigEndian) {
  Writer w;
  w.U8(0xAB);
  w.U16(0x1234);
  w.U32(0x89ABCDEF);
  w.U64(0x0102030405060708ull);
  EXPECT_EQ(w.bytes(), (Bytes{0xAB, 0x12, 0x34, 0x89, 0xAB, 0xCD, 0xEF, 0x01, 0x02, 0x03, 0x04,
                              0x05, 0x06, 0x07, 0x08}));
}

TEST(WriterTest, SignedIntegersAreTwosComplement) {
  Writer w;
  w.I32(-2);
  w.I64(-1);
  w.I32(std::numeric_limits<int32_t>::min());
  EXPECT_EQ(w.bytes(), (Bytes{0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                              0xFF, 0x80, 0x00, 0x00, 0x00}));
}

TEST(WriterTest, StringIsLengthPrefixedWithoutTerminator) {
  Writer w;
  w.Str("web");
  w.Str("");
  EXPECT_EQ(w.bytes(), (Bytes{0, 0, 0, 3, 'w', 'e', 'b', 0, 0, 0, 0}));
}

TEST(WriterTest, Utf8StringLengthCountsBytes) {
  Writer w;
  w.Str("\xC3\xA9");  // U+00E9, two bytes
  EXPECT_EQ(w.bytes(), (Bytes{0, 0, 0, 2, 0xC3, 0xA9}));
}

TEST(WriterTest, TakeMovesTheBuffer) {
  Writer w;
  w.U16(7);
  Bytes b = w.Take();
  EXPECT_EQ(b, (Bytes{0, 7}));
}

TEST(ReaderTest, RoundTripsEveryWidth) {
  Writer w;
  w.U8(0xFE);
  w.U16(0xBEEF);
  w.U32(0xDEADBEEF);
  w.U64(0xFEDCBA9876543210ull);
  w.I32(std::numeric_limits<int32_t>::min());
  w.I64(std::numeric_limits<int64_t>::min());
  w.Str("h\xC3\xA9llo \xE2\x9C\x93");
  Reader r(w.bytes());
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  int32_t i32 = 0;
  int64_t i64 = 0;
  std::string s;
  ASSERT_TRUE(r.U8(&u8));
  ASSERT_TRUE(r.U16(&u16));
  ASSERT_TRUE(r.U32(&u32));
  ASSERT_TRUE(r.U64(&u64));
  ASSERT_TRUE(r.I32(&i32));
  ASSERT_TRUE(r.I64(&i64));
  ASSERT_TRUE(r.Str(&s));
  EXPECT_EQ(u8, 0xFE);
  EXPECT_EQ(u16, 0xBEEF);
  EXPECT_EQ(u32, 0xDEADBEEFu);
  EXPECT_EQ(u64, 0xFEDCBA9876543210ull);
  EXPECT_EQ(i32, std::numeric_limits<int32_t>::min());
  EXPECT_EQ(i64, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(s, "h\xC3\xA9llo \xE2\x9C\x93");
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.ok());
}

TEST(ReaderTest, ShortReadFailsAndFailureSticks) {
  const Bytes b = {0x01, 0x02, 0x03};
  Reader r(b);
  uint32_t u32 = 0;
  EXPECT_FALSE(r.U32(&u32));
  EXPECT_FALSE(r.ok());
  // The bytes are there for a u8, but the reader stays failed.
  uint8_t u8 = 0;
  EXPECT_FALSE(r.U8(&u8));
  EXPECT_FALSE(r.ok());
}

TEST(ReaderTest, EveryWidthFailsOnEmptyInput) {
  const Bytes empty;
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  int32_t i32;
  int64_t i64;
  std::string s;
  EXPECT_FALSE(Reader(empty).U8(&u8));
  EXPECT_FALSE(Reader(empty).U16(&u16));
  EXPECT_FALSE(Reader(empty).U32(&u32));
  EXPECT_FALSE(Reader(empty).U64(&u64));
  EXPECT_FALSE(Reader(empty).I32(&i32));
  EXPECT_FALSE(Reader(empty).I64(&i64));
  EXPECT_FALSE(Reader(empty).Str(&s));
}

TEST(ReaderTest, StringLongerThanInputIsRefused) {
  // A declared length of 4 GiB - 1 with two bytes behind it: must fail, not allocate.
  const Bytes b = {0xFF, 0xFF, 0xFF, 0xFF, 'h', 'i'};
  Reader r(b);
  std::string s = "untouched";
  EXPECT_FALSE(r.Str(&s));
  EXPECT_EQ(s, "untouched");
  EXPECT_FALSE(r.ok());
}

TEST(ReaderTest, StringOneByteShortIsRefused) {
  const Bytes b = {0, 0, 0, 3, 'a', 'b'};
  Reader r(b);
  std::string s;
  EXPECT_FALSE(r.Str(&s));
}

TEST(ReaderTest, StringMayContainNul) {
  Writer w;
  w.Str(std::string("a\0b", 3));
  Reader r(w.bytes());
  std::string s;
  ASSERT_TRUE(r.Str(&s));
  EXPECT_EQ(s, std::string("a\0b", 3));
}

TEST(ReaderTest, CountRefusesImpossibleCount) {
  const Bytes b = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0};
  Reader r(b);
  uint32_t n = 42;
  EXPECT_FALSE(r.Count(&n, 4));
  EXPECT_EQ(n, 42u);
  EXPECT_FALSE(r.ok());
}

TEST(ReaderTest, CountAcceptsExactFit) {
  // Two elements of at least 4 bytes each, and exactly 8 bytes remain.
  const Bytes b = {0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0};
  Reader r(b);
  uint32_t n = 0;
  ASSERT_TRUE(r.Count(&n, 4));
  EXPECT_EQ(n, 2u);
  EXPECT_TRUE(r.ok());
}

TEST(ReaderTest, CountOneTooManyIsRefused) {
  const Bytes b = {0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0};
  Reader r(b);
  uint32_t n = 0;
  EXPECT_FALSE(r.Count(&n, 4));
}

TEST(ReaderTest, CountWithZeroMinimumStillBoundedByInput) {
  const Bytes b = {0xFF, 0xFF, 0xFF, 0xFF, 0};
  Reader r(b);
  uint32_t n = 0;
  EXPECT_FALSE(r.Count(&n, 0));
  const Bytes zero = {0, 0, 0, 0};
  Reader r2(zero);
  ASSERT_TRUE(r2.Count(&n, 0));
  EXPECT_EQ(n, 0u);
}

TEST(ReaderTest, CountWithHugeMinimumDoesNotOverflow) {
  const Bytes b = {0, 0, 0, 1, 0};
  Reader r(b);
  uint32_t n = 0;
  EXPECT_FALSE(r.Count(&n, std::numeric_limits<size_t>::max()));
}

TEST(Utf8Test, WellFormedSequencesPass) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("web:web_00"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9"));              // é
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));          // €
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));      // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));      // U+10FFFF
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));  // NUL is a character
}

TEST(Utf8Test, IllFormedSequencesFail) {
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("web\x80"));               // a lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xC3"));                  // cut short
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));              // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));          // overlong, 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));          // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));      // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xF8\x88\x80\x80\x80"));  // 5-byte form
}

TEST(Utf8Test, ToValidUtf8ReplacesEachIllFormedSubpart) {
  EXPECT_EQ(ToValidUtf8("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(ToValidUtf8("a\xFF"
                        "b"),
            "a\xEF\xBF\xBD"
            "b");
  // A cut-short sequence is one subpart; the byte that cut it starts afresh.
  EXPECT_EQ(ToValidUtf8("\xE2\x82x"),
            "\xEF\xBF\xBD"
            "x");
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_TRUE(IsValidUtf8(ToValidUtf8("\xF0\x9F\x98")));
}

TEST(Utf8Test, WriterUtf8SendsOnlyUtf8) {
  Writer w;
  w.Utf8("a\xFF");
  EXPECT_EQ(w.bytes(), (Bytes{0, 0, 0, 4, 'a', 0xEF, 0xBF, 0xBD}));
  Writer raw;
  raw.Str("a\xFF");  // Str keeps bytes as they are (records, raw data)
  EXPECT_EQ(raw.bytes(), (Bytes{0, 0, 0, 2, 'a', 0xFF}));
}

TEST(Utf8Test, ReaderUtf8RefusesIllFormedTextAndSaysWhy) {
  const Bytes bytes{0, 0, 0, 2, 'a', 0xFF, 0, 0, 0, 1};
  Reader r(bytes);
  std::string s = "before";
  EXPECT_FALSE(r.Utf8(&s));
  EXPECT_TRUE(s.empty());  // the bytes are not handed on
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), ReadError::kNotUtf8);
  uint32_t v;
  EXPECT_FALSE(r.U32(&v));
  EXPECT_EQ(r.error(), ReadError::kNotUtf8);  // the first failure is the reason

  Reader raw(bytes);
  EXPECT_TRUE(raw.Str(&s));
  EXPECT_EQ(s, "a\xFF");
}

TEST(ReadErrorTest, ShortAndCountAreTold) {
  const Bytes short_bytes{0, 0, 0, 9, 'a'};
  Reader r(short_bytes);
  std::string s;
  EXPECT_FALSE(r.Utf8(&s));
  EXPECT_EQ(r.error(), ReadError::kShort);
  const Bytes count{0xFF, 0xFF, 0xFF, 0xFF};
  Reader c(count);
  uint32_t n;
  EXPECT_FALSE(c.Count(&n, 4));
  EXPECT_EQ(c.error(), ReadError::kCount);
  EXPECT_STREQ(ReadErrorText(ReadError::kNotUtf8), "a string is not valid UTF-8");
}

}  // namespace
}  // namespace warden::proto
