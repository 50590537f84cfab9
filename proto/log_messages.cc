// Payload codecs of the log messages. Field order is the wire order documented in
// docs/protocol.md ("Logs"); change both together, and only by appending.
#include "proto/log_messages.h"

#include <utility>

#include "proto/frame.h"
#include "proto/wire.h"

namespace warden::proto {

// Wire-stable numbers: a renumbering here is a protocol break.
static_assert(static_cast<uint16_t>(MessageType::kTail) == 0x10);
static_assert(static_cast<uint16_t>(MessageType::kLogRotate) == 0x11);
static_assert(static_cast<uint16_t>(MessageType::kClear) == 0x12);
static_assert(static_cast<uint16_t>(MessageType::kTailReply) == 0x8010);
static_assert(sizeof(LogStream) == 1 && sizeof(TailUnit) == 1);
// A TAIL reply with the largest chunk and a path of up to 4 KiB still fits in one frame.
static_assert(kMaxTailChunk + 4096 + 16 < kMaxPayload);

std::vector<uint8_t> Encode(const TailRequest& m) {
  Writer w;
  w.Utf8(m.name);
  w.U8(static_cast<uint8_t>(m.stream));
  w.U8(static_cast<uint8_t>(m.unit));
  w.U64(m.count);
  w.U8(m.follow ? 1 : 0);
  return w.Take();
}

std::vector<uint8_t> Encode(const TailReply& m) {
  Writer w;
  w.U8(m.more ? 1 : 0);
  w.Utf8(m.path);
  w.Str(m.data);
  return w.Take();
}

std::vector<uint8_t> Encode(const LogNamesRequest& m) {
  Writer w;
  w.U32(static_cast<uint32_t>(m.names.size()));
  for (const std::string& name : m.names) w.Utf8(name);
  return w.Take();
}

namespace {

bool Refuse(const Reader& r, ReadError* why) {
  if (why != nullptr) *why = r.error() == ReadError::kNone ? ReadError::kShort : r.error();
  return false;
}

}  // namespace

bool Decode(const std::vector<uint8_t>& payload, TailRequest* m, ReadError* why) {
  Reader r(payload);
  TailRequest t;
  uint8_t stream = 0, unit = 0, follow = 0;
  if (!(r.Utf8(&t.name) && r.U8(&stream) && r.U8(&unit) && r.U64(&t.count) && r.U8(&follow))) {
    return Refuse(r, why);
  }
  // Values this version does not name are kept; the daemon refuses them with a clear error.
  t.stream = static_cast<LogStream>(stream);
  t.unit = static_cast<TailUnit>(unit);
  t.follow = follow != 0;
  *m = std::move(t);
  return true;
}

bool Decode(const std::vector<uint8_t>& payload, TailReply* m) {
  Reader r(payload);
  TailReply t;
  uint8_t more = 0;
  if (!(r.U8(&more) && r.Utf8(&t.path) && r.Str(&t.data))) return false;  // data: raw bytes
  t.more = more != 0;
  *m = std::move(t);
  return true;
}

bool Decode(const std::vector<uint8_t>& payload, LogNamesRequest* m, ReadError* why) {
  Reader r(payload);
  uint32_t n = 0;
  if (!r.Count(&n, 4)) return Refuse(r, why);
  LogNamesRequest t;
  t.names.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    std::string name;
    if (!r.Utf8(&name)) return Refuse(r, why);
    t.names.push_back(std::move(name));
  }
  *m = std::move(t);
  return true;
}

}  // namespace warden::proto
