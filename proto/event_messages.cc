// Payload codecs of the lifecycle messages. Field order is the wire order documented in
// docs/protocol.md ("Events"); change both together, and only by appending.
#include "proto/event_messages.h"

#include <cctype>
#include <utility>

#include "proto/wire.h"

namespace warden::proto {
namespace {

// StateEvent record: time i64, process str, from u16, to u16, pid i32, reason str.
constexpr size_t kStateEventMin = 4 + 8 + 4 + 2 + 2 + 4 + 4;
static_assert(kStateEventMin == 28);

// Wire-stable numbers: a renumbering here is a protocol break.
static_assert(static_cast<uint16_t>(MessageType::kEvents) == 0x20);
static_assert(static_cast<uint16_t>(MessageType::kWait) == 0x21);
static_assert(static_cast<uint16_t>(MessageType::kEventsReply) == 0x8020);
static_assert(static_cast<uint16_t>(MessageType::kWaitReply) == 0x8021);

void WriteStrings(Writer& w, const std::vector<std::string>& v) {
  w.U32(static_cast<uint32_t>(v.size()));
  for (const std::string& s : v) w.Utf8(s);
}

bool ReadStrings(Reader& r, std::vector<std::string>* out) {
  uint32_t n = 0;
  if (!r.Count(&n, 4)) return false;
  out->clear();
  out->reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    std::string s;
    if (!r.Utf8(&s)) return false;
    out->push_back(std::move(s));
  }
  return true;
}

// A record: u32 length, then the fields; a reader skips fields appended later.
void WriteEvent(Writer& w, const StateEvent& e) {
  Writer rec;
  rec.I64(e.time_ms);
  rec.Utf8(e.process);
  rec.U16(static_cast<uint16_t>(e.from));
  rec.U16(static_cast<uint16_t>(e.to));
  rec.I32(e.pid);
  rec.Utf8(e.reason);
  const std::vector<uint8_t>& b = rec.bytes();
  w.Str(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

bool ReadEvents(Reader& r, std::vector<StateEvent>* out) {
  uint32_t n = 0;
  if (!r.Count(&n, kStateEventMin)) return false;
  out->clear();
  out->reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    std::string bytes;
    if (!r.Str(&bytes)) return false;
    Reader rr(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    StateEvent e;
    uint16_t from = 0, to = 0;
    if (!(rr.I64(&e.time_ms) && rr.Utf8(&e.process) && rr.U16(&from) && rr.U16(&to) &&
          rr.I32(&e.pid) && rr.Utf8(&e.reason))) {
      return false;
    }
    e.from = static_cast<ProcessState>(from);  // unknown numbers kept: shown as UNKNOWN
    e.to = static_cast<ProcessState>(to);
    out->push_back(std::move(e));
  }
  return true;
}

template <typename T, typename Fn>
bool DecodeInto(const std::vector<uint8_t>& payload, T* m, Fn decode, ReadError* why = nullptr) {
  Reader r(payload);
  T tmp;
  if (!decode(r, &tmp) || !r.ok()) {
    if (why != nullptr) *why = r.error() == ReadError::kNone ? ReadError::kShort : r.error();
    return false;
  }
  *m = std::move(tmp);
  return true;
}

}  // namespace

std::vector<uint8_t> Encode(const EventsRequest& m) {
  Writer w;
  WriteStrings(w, m.names);
  return w.Take();
}

std::vector<uint8_t> Encode(const EventsReply& m) {
  Writer w;
  w.U8(m.snapshot ? 1 : 0);
  w.U32(static_cast<uint32_t>(m.events.size()));
  for (const StateEvent& e : m.events) WriteEvent(w, e);
  return w.Take();
}

std::vector<uint8_t> Encode(const WaitRequest& m) {
  Writer w;
  WriteStrings(w, m.names);
  w.U16(static_cast<uint16_t>(m.state));
  w.U32(m.timeout_ms);
  return w.Take();
}

std::vector<uint8_t> Encode(const WaitReply& m) {
  Writer w;
  w.U32(static_cast<uint32_t>(m.processes.size()));
  for (const StateEvent& e : m.processes) WriteEvent(w, e);
  return w.Take();
}

bool Decode(const std::vector<uint8_t>& payload, EventsRequest* m, ReadError* why) {
  return DecodeInto(
      payload, m, [](Reader& r, EventsRequest* t) { return ReadStrings(r, &t->names); }, why);
}

bool Decode(const std::vector<uint8_t>& payload, EventsReply* m) {
  return DecodeInto(payload, m, [](Reader& r, EventsReply* t) {
    uint8_t snapshot = 0;
    if (!r.U8(&snapshot)) return false;
    t->snapshot = snapshot != 0;
    return ReadEvents(r, &t->events);
  });
}

bool Decode(const std::vector<uint8_t>& payload, WaitRequest* m, ReadError* why) {
  return DecodeInto(
      payload, m,
      [](Reader& r, WaitRequest* t) {
        uint16_t state = 0;
        if (!(ReadStrings(r, &t->names) && r.U16(&state) && r.U32(&t->timeout_ms))) return false;
        t->state = static_cast<ProcessState>(state);  // the daemon refuses unknown numbers
        return true;
      },
      why);
}

bool Decode(const std::vector<uint8_t>& payload, WaitReply* m) {
  return DecodeInto(payload, m,
                    [](Reader& r, WaitReply* t) { return ReadEvents(r, &t->processes); });
}

bool IsKnownState(ProcessState state) {
  switch (state) {
    case ProcessState::kStopped:
    case ProcessState::kStarting:
    case ProcessState::kRunning:
    case ProcessState::kBackoff:
    case ProcessState::kStopping:
    case ProcessState::kExited:
    case ProcessState::kFatal:
    case ProcessState::kUnknown:
      return true;
  }
  return false;
}

std::optional<ProcessState> ParseProcessState(std::string_view name) {
  static constexpr ProcessState kStates[] = {
      ProcessState::kStopped, ProcessState::kStarting, ProcessState::kRunning,
      ProcessState::kBackoff, ProcessState::kStopping, ProcessState::kExited,
      ProcessState::kFatal,   ProcessState::kUnknown,
  };
  for (ProcessState s : kStates) {
    std::string_view known = ProcessStateName(s);
    if (known.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < known.size(); ++i) {
      same = same && std::toupper(static_cast<unsigned char>(name[i])) == known[i];
    }
    if (same) return s;
  }
  return std::nullopt;
}

}  // namespace warden::proto
