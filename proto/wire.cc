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

namespace {

// The length of the well-formed UTF-8 sequence at s[i], or 0 when the bytes there are not one
// (Unicode Table 3-7, well-formed byte sequences).
size_t SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + 1 >= s.size() || byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (i + k >= s.size() || (byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

// The length of the maximal ill-formed subpart at s[i]: the lead byte and the continuation
// bytes that could still have begun a well-formed sequence (at least 1).
size_t IllFormedLength(std::string_view s, size_t i) {
  const uint8_t b0 = static_cast<uint8_t>(s[i]);
  size_t n = b0 >= 0xC2 && b0 <= 0xDF   ? 2
             : b0 >= 0xE0 && b0 <= 0xEF ? 3
             : b0 >= 0xF0 && b0 <= 0xF4 ? 4
                                        : 1;
  size_t k = 1;
  for (; k < n && i + k < s.size(); ++k) {
    const uint8_t b = static_cast<uint8_t>(s[i + k]);
    uint8_t lo = 0x80, hi = 0xBF;
    if (k == 1 && b0 == 0xE0) lo = 0xA0;
    if (k == 1 && b0 == 0xED) hi = 0x9F;
    if (k == 1 && b0 == 0xF0) lo = 0x90;
    if (k == 1 && b0 == 0xF4) hi = 0x8F;
    if (b < lo || b > hi) break;
  }
  return k;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string ToValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = SequenceLength(s, i);
    if (n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
      i += IllFormedLength(s, i);
    }
  }
  return out;
}

const char* ReadErrorText(ReadError error) {
  switch (error) {
    case ReadError::kNone:
      return "";
    case ReadError::kShort:
      return "the payload ends before a field";
    case ReadError::kCount:
      return "a list count is larger than the payload can hold";
    case ReadError::kNotUtf8:
      return "a string is not valid UTF-8";
  }
  return "malformed";
}

void Writer::Utf8(std::string_view s) {
  if (IsValidUtf8(s)) {
    Str(s);
  } else {
    Str(ToValidUtf8(s));
  }
}

bool Reader::Fail(ReadError error) {
  if (ok_) error_ = error;  // the first failure is the reason
  ok_ = false;
  return false;
}

bool Reader::Take(size_t n, const uint8_t** out) {
  if (!ok_ || n > remaining()) return Fail(ReadError::kShort);
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

bool Reader::Utf8(std::string* s) {
  if (!Str(s)) return false;
  if (!IsValidUtf8(*s)) {
    s->clear();  // never handed on: a caller might echo it
    return Fail(ReadError::kNotUtf8);
  }
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
  if (count > remaining() / min_element_size) return Fail(ReadError::kCount);
  *n = count;
  return true;
}

}  // namespace warden::proto
