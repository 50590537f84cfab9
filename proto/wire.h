// The one place that knows the wire's byte order: big-endian (network order), written and read
// field by field. Integers are fixed width; a string is a u32 byte length then that many bytes
// of UTF-8 (no terminator). Nothing here does I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warden::proto {

// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF).
bool IsValidUtf8(std::string_view s);
// `s` with every ill-formed sequence replaced by U+FFFD (one per maximal ill-formed subpart, as
// the Unicode standard recommends); `s` itself when it is well-formed.
std::string ToValidUtf8(std::string_view s);

// Why a Reader stopped.
enum class ReadError : uint8_t {
  kNone = 0,
  kShort,    // the bytes ran out before a field
  kCount,    // a list count larger than the bytes left can hold
  kNotUtf8,  // a protocol string (Utf8) is not well-formed UTF-8
};
// "the payload ends before a field", ... for messages; "" for kNone.
const char* ReadErrorText(ReadError error);

// Appends fields to a byte buffer.
class Writer {
 public:
  void U8(uint8_t v);
  void U16(uint16_t v);
  void U32(uint32_t v);
  void U64(uint64_t v);
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Str(std::string_view s);  // u32 length + bytes, as they are
  // A protocol `str`: u32 length + UTF-8; ill-formed sequences are replaced by U+FFFD, so that
  // nothing but UTF-8 is ever sent where the protocol promises text.
  void Utf8(std::string_view s);

  const std::vector<uint8_t>& bytes() const { return buf_; }
  std::vector<uint8_t> Take() { return std::move(buf_); }

 private:
  std::vector<uint8_t> buf_;
};

// Reads fields from a byte span. Every read checks the remaining length; after the first
// failure every further read fails too and ok() stays false, so decoders check once at the end.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  explicit Reader(const std::vector<uint8_t>& v) : Reader(v.data(), v.size()) {}

  bool U8(uint8_t* v);
  bool U16(uint16_t* v);
  bool U32(uint32_t* v);
  bool U64(uint64_t* v);
  bool I32(int32_t* v);
  bool I64(int64_t* v);
  bool Str(std::string* s);  // u32 length + bytes, any values
  // A protocol `str`: as Str, but ill-formed UTF-8 fails the read (error() kNotUtf8).
  bool Utf8(std::string* s);
  // A u32 length then that many bytes, handed out as a Reader over them (no copy): a record.
  bool Sub(Reader* sub);
  // A list count that cannot be right is refused before anything is allocated: each element
  // takes at least min_element_size bytes, so count * min_element_size <= remaining().
  bool Count(uint32_t* n, size_t min_element_size);

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool ok() const { return ok_; }
  ReadError error() const { return error_; }

 private:
  bool Take(size_t n, const uint8_t** out);
  bool Fail(ReadError error);
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
  ReadError error_ = ReadError::kNone;
};

}  // namespace warden::proto
