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

// Appends fields to a byte buffer.
class Writer {
 public:
  void U8(uint8_t v);
  void U16(uint16_t v);
  void U32(uint32_t v);
  void U64(uint64_t v);
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Str(std::string_view s);  // u32 length + bytes

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
  bool Str(std::string* s);
  // A u32 length then that many bytes, handed out as a Reader over them (no copy): a record.
  bool Sub(Reader* sub);
  // A list count that cannot be right is refused before anything is allocated: each element
  // takes at least min_element_size bytes, so count * min_element_size <= remaining().
  bool Count(uint32_t* n, size_t min_element_size);

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool ok() const { return ok_; }

 private:
  bool Take(size_t n, const uint8_t** out);
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

}  // namespace warden::proto
