// Big-endian field codec. Every integer is assembled or split with shifts, so the host's byte
// order never reaches the wire and no struct is ever copied as a block.
#include "proto/wire.h"

#include <limits>

namespace warden::proto {

static_assert(sizeof(uint8_t) == 1 && sizeof(uint16_t) == 2 && sizeof(uint32_t) == 4 &&
              sizeof(uint64_t) == 8);
// Signed values travel as their two's-complement bit pattern (guaranteed since C++20).
static_assert(static_cast<uint32_t>(int32_t{-1}) == 0xFFFFFFFFu);

void Writer::U8(uint8_t v) { buf_.push_back(v); }

void Writer::U16(uint16_t v) {
  buf_.push_back(static_cast<uint8_t>(v >> 8));
  buf_.push_back(static_cast<uint8_t>(v));
}

void Writer::U32(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    buf_.push_back(static_cast<uint8_t>(v >> shift));
  }
}

void Writer::U64(uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    buf_.push_back(static_cast<uint8_t>(v >> shift));
  }
}

void Writer::Str(std::string_view s) {
  // A frame carries at most kMaxPayload bytes, so a string that does not fit a u32 can never be
  // sent anyway; saturate the length rather than wrap it.
  const size_t n = s.size() > std::numeric_limits<uint32_t>::max()
                       ? std::numeric_limits<uint32_t>::max()
                       : s.size();
  U32(static_cast<uint32_t>(n));
  buf_.insert(buf_.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
}

bool Reader::Take(size_t n, const uint8_t** out) {
  if (!ok_ || n > remaining()) {
    ok_ = false;
    return false;
  }
  *out = p_;
  p_ += n;
  return true;
}

bool Reader::U8(uint8_t* v) {
  const uint8_t* p;
  if (!Take(1, &p)) return false;
  *v = p[0];
  return true;
}

bool Reader::U16(uint16_t* v) {
  const uint8_t* p;
  if (!Take(2, &p)) return false;
  *v = static_cast<uint16_t>((p[0] << 8) | p[1]);
  return true;
}

bool Reader::U32(uint32_t* v) {
  const uint8_t* p;
  if (!Take(4, &p)) return false;
  uint32_t r = 0;
  for (size_t i = 0; i < 4; ++i) r = (r << 8) | p[i];
  *v = r;
  return true;
}

bool Reader::U64(uint64_t* v) {
  const uint8_t* p;
  if (!Take(8, &p)) return false;
  uint64_t r = 0;
  for (size_t i = 0; i < 8; ++i) r = (r << 8) | p[i];
  *v = r;
  return true;
}

bool Reader::I32(int32_t* v) {
  uint32_t u;
  if (!U32(&u)) return false;
  *v = static_cast<int32_t>(u);  // modular conversion, well defined since C++20
  return true;
}

bool Reader::I64(int64_t* v) {
  uint64_t u;
  if (!U64(&u)) return false;
  *v = static_cast<int64_t>(u);
  return true;
}

bool Reader::Str(std::string* s) {
  uint32_t n;
  if (!U32(&n)) return false;
  const uint8_t* p;
  // Take checks n against the bytes actually present before anything is allocated.
  if (!Take(n, &p)) return false;
  s->assign(reinterpret_cast<const char*>(p), n);
  return true;
}

bool Reader::Sub(Reader* sub) {
  uint32_t n;
  if (!U32(&n)) return false;
  const uint8_t* p;
  if (!Take(n, &p)) return false;
  *sub = Reader(p, n);
  return true;
}

bool Reader::Count(uint32_t* n, size_t min_element_size) {
  uint32_t count;
  if (!U32(&count)) return false;
  if (min_element_size == 0) min_element_size = 1;  // every element costs something
  // Division, not multiplication: count * size could overflow.
  if (count > remaining() / min_element_size) {
    ok_ = false;
    return false;
  }
  *n = count;
  return true;
}

}  // namespace warden::proto
