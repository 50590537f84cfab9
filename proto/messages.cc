// Payload codecs for protocol version 1. Field order here is the wire order documented in
// docs/protocol.md; change both together, and only by appending.
//
// Lists of strings are a u32 count followed by the strings. Lists of structures (ProcessInfo,
// ChildProcess, ActionResult) are a u32 count followed by records; a record is a u32 byte
// length followed by the structure's fields, so a later version can append fields to a list
// element and an older reader still finds the next element.
#include "proto/messages.h"

#include <string_view>
#include <utility>

#include "proto/frame.h"
#include "proto/wire.h"

namespace warden::proto {
namespace {

// Smallest encodings, used by Reader::Count to refuse impossible counts before reserving.
constexpr size_t kStrMin = 4;      // u32 length, no bytes
constexpr size_t kRecordHead = 4;  // u32 record length
// ChildProcess: pid i32, kernel_state u8.
constexpr size_t kChildMin = kRecordHead + 4 + 1;
// ActionResult: name str, code u16, message str.
constexpr size_t kActionResultMin = kRecordHead + kStrMin + 2 + kStrMin;
// ProcessInfo: name, group, state u16, pid i32, kernel_state u8, start/stop i64, uptime u64,
// restarts u32, exit_kind u8, exit_value i32, reason, cpu u64, rss u64, children count u32.
constexpr size_t kProcessInfoMin =
    kRecordHead + kStrMin + kStrMin + 2 + 4 + 1 + 8 + 8 + 8 + 4 + 1 + 4 + kStrMin + 8 + 8 + 4;
static_assert(kChildMin == 9);
static_assert(kActionResultMin == 14);
static_assert(kProcessInfoMin == 76);

// Wire-stable numbers: a renumbering here is a protocol break.
static_assert(static_cast<uint16_t>(MessageType::kHello) == 1);
static_assert(static_cast<uint16_t>(MessageType::kShutdown) == 9);
static_assert(static_cast<uint16_t>(MessageType::kError) == 0x7FFF);
static_assert(static_cast<uint16_t>(MessageType::kPart) == kPartType);
static_assert(static_cast<uint16_t>(MessageType::kHelloReply) == 0x8001);
static_assert(static_cast<uint16_t>(ErrorCode::kInternal) == 16);
static_assert(sizeof(ProcessState) == 2 && sizeof(ExitKind) == 1 && sizeof(ErrorCode) == 2);

// --- helpers -------------------------------------------------------------------------------

void WriteStrings(Writer& w, const std::vector<std::string>& v) {
  w.U32(static_cast<uint32_t>(v.size()));
  for (const std::string& s : v) w.Utf8(s);
}

bool ReadStrings(Reader& r, std::vector<std::string>* out) {
  uint32_t n = 0;
  if (!r.Count(&n, kStrMin)) return false;
  std::vector<std::string> v;
  v.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    std::string s;
    if (!r.Utf8(&s)) return false;
    v.push_back(std::move(s));
  }
  *out = std::move(v);
  return true;
}

// A record has the same framing as a string (u32 length + bytes), so Writer::Str and
// Reader::Str carry it; the bytes are opaque to them.
void WriteRecord(Writer& w, const Writer& record) {
  const std::vector<uint8_t>& b = record.bytes();
  w.Str(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

// Reads one record and decodes it with `decode(Reader&, T*)`; the decoder sees only the
// record's bytes, so it ignores fields appended by a later version.
template <typename T, typename Fn>
bool ReadRecord(Reader& r, T* out, Fn decode) {
  Reader rr(nullptr, 0);
  if (!r.Sub(&rr)) return false;
  return decode(rr, out) && rr.ok();
}

template <typename T, typename Fn>
bool ReadRecords(Reader& r, size_t min_size, std::vector<T>* out, Fn decode) {
  uint32_t n = 0;
  if (!r.Count(&n, min_size)) return false;
  std::vector<T> v;
  v.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (!ReadRecord(r, &v.emplace_back(), decode)) return false;
  }
  *out = std::move(v);
  return true;
}

// Runs `decode` on the whole payload and stores the result only when every field was present,
// so *m is untouched by a failed decode.
// *why (when asked) says what was wrong with a refused payload.
template <typename T, typename Fn>
bool DecodePayload(const std::vector<uint8_t>& payload, T* m, Fn decode, ReadError* why = nullptr) {
  Reader r(payload);
  T tmp;
  if (!decode(r, &tmp) || !r.ok()) {
    if (why != nullptr) *why = r.error() == ReadError::kNone ? ReadError::kShort : r.error();
    return false;
  }
  *m = std::move(tmp);
  return true;
}

// --- structures inside lists -----------------------------------------------------------------

void WriteChild(Writer& w, const ChildProcess& c) {
  Writer rec;
  rec.I32(c.pid);
  rec.U8(c.kernel_state);
  WriteRecord(w, rec);
}

bool ReadChild(Reader& r, ChildProcess* c) { return r.I32(&c->pid) && r.U8(&c->kernel_state); }

void WriteProcessInfo(Writer& w, const ProcessInfo& p) {
  Writer rec;
  rec.Utf8(p.name);
  rec.Utf8(p.group);
  rec.U16(static_cast<uint16_t>(p.state));
  rec.I32(p.pid);
  rec.U8(p.kernel_state);
  rec.I64(p.start_time_ms);
  rec.I64(p.stop_time_ms);
  rec.U64(p.uptime_ms);
  rec.U32(p.restarts);
  rec.U8(static_cast<uint8_t>(p.exit_kind));
  rec.I32(p.exit_value);
  rec.Utf8(p.reason);
  rec.U64(p.cpu_time_ms);
  rec.U64(p.rss_bytes);
  rec.U32(static_cast<uint32_t>(p.children.size()));
  for (const ChildProcess& c : p.children) WriteChild(rec, c);
  rec.Utf8(p.status_text);
  rec.U64(p.retry_in_ms);
  rec.Utf8(p.health);
  WriteRecord(w, rec);
}

bool ReadProcessInfo(Reader& r, ProcessInfo* p) {
  uint16_t state = 0;
  uint8_t exit_kind = 0;
  bool ok = r.Utf8(&p->name) && r.Utf8(&p->group) && r.U16(&state) && r.I32(&p->pid) &&
            r.U8(&p->kernel_state) && r.I64(&p->start_time_ms) && r.I64(&p->stop_time_ms) &&
            r.U64(&p->uptime_ms) && r.U32(&p->restarts) && r.U8(&exit_kind) &&
            r.I32(&p->exit_value) && r.Utf8(&p->reason) && r.U64(&p->cpu_time_ms) &&
            r.U64(&p->rss_bytes);
  if (!ok) return false;
  // Values this version does not name are kept as they are (the enums are fixed-width), so
  // a newer daemon's state shows up as ProcessStateName's "UNKNOWN" rather than a failure.
  p->state = static_cast<ProcessState>(state);
  p->exit_kind = static_cast<ExitKind>(exit_kind);
  if (!ReadRecords(r, kChildMin, &p->children, ReadChild)) return false;
  // Appended fields: a record from an older daemon ends before them (then they are reset, so
  // that a ProcessInfo read again keeps nothing of the one before).
  // Each appended field may be the record's end (docs/protocol.md, section 1).
  p->status_text.clear();
  p->retry_in_ms = 0;
  p->health.clear();
  if (r.remaining() == 0) return true;
  if (!r.Utf8(&p->status_text)) return false;
  if (r.remaining() == 0) return true;
  if (!r.U64(&p->retry_in_ms)) return false;
  return r.remaining() == 0 || r.Utf8(&p->health);
}

void WriteActionResult(Writer& w, const ActionResult& a) {
  Writer rec;
  rec.Utf8(a.name);
  rec.U16(static_cast<uint16_t>(a.code));
  rec.Utf8(a.message);
  WriteRecord(w, rec);
}

bool ReadActionResult(Reader& r, ActionResult* a) {
  uint16_t code = 0;
  if (!(r.Utf8(&a->name) && r.U16(&code) && r.Utf8(&a->message))) return false;
  a->code = static_cast<ErrorCode>(code);
  return true;
}

}  // namespace

const char* ProcessStateName(ProcessState state) {
  switch (state) {
    case ProcessState::kStopped:
      return "STOPPED";
    case ProcessState::kStarting:
      return "STARTING";
    case ProcessState::kRunning:
      return "RUNNING";
    case ProcessState::kBackoff:
      return "BACKOFF";
    case ProcessState::kStopping:
      return "STOPPING";
    case ProcessState::kExited:
      return "EXITED";
    case ProcessState::kFatal:
      return "FATAL";
    case ProcessState::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";  // a number this version does not know
}

// --- Encoders ------------------------------------------------------------------------------

std::vector<uint8_t> Encode(const HelloRequest& m) {
  Writer w;
  w.U16(m.min_version);
  w.U16(m.max_version);
  w.Utf8(m.client);
  return w.Take();
}

std::vector<uint8_t> Encode(const HelloReply& m) {
  Writer w;
  w.U16(m.version);
  w.Utf8(m.server);
  w.U32(m.daemon_pid);
  return w.Take();
}

std::vector<uint8_t> Encode(const ErrorReply& m) {
  Writer w;
  w.U16(static_cast<uint16_t>(m.code));
  w.Utf8(m.message);
  return w.Take();
}

std::vector<uint8_t> Encode(const StatusRequest& m) {
  Writer w;
  WriteStrings(w, m.names);
  return w.Take();
}

std::vector<uint8_t> Encode(const StatusReply& m) {
  Writer w;
  w.U32(static_cast<uint32_t>(m.processes.size()));
  for (const ProcessInfo& p : m.processes) WriteProcessInfo(w, p);
  WriteStrings(w, m.unknown_names);
  return w.Take();
}

std::vector<uint8_t> Encode(const ActionRequest& m) {
  Writer w;
  WriteStrings(w, m.names);
  w.I32(m.signal);
  return w.Take();
}

std::vector<uint8_t> Encode(const ActionReply& m) {
  Writer w;
  w.U32(static_cast<uint32_t>(m.results.size()));
  for (const ActionResult& a : m.results) WriteActionResult(w, a);
  return w.Take();
}

std::vector<uint8_t> Encode(const PidRequest& m) {
  Writer w;
  w.Utf8(m.name);
  return w.Take();
}

std::vector<uint8_t> Encode(const PidReply& m) {
  Writer w;
  w.I32(m.pid);
  return w.Take();
}

std::vector<uint8_t> Encode(const VersionReply& m) {
  Writer w;
  w.Utf8(m.version);
  return w.Take();
}

// --- Decoders ------------------------------------------------------------------------------

bool Decode(const std::vector<uint8_t>& payload, HelloRequest* m, ReadError* why) {
  return DecodePayload(
      payload, m,
      [](Reader& r, HelloRequest* t) {
        return r.U16(&t->min_version) && r.U16(&t->max_version) && r.Utf8(&t->client);
      },
      why);
}

bool Decode(const std::vector<uint8_t>& payload, HelloReply* m) {
  return DecodePayload(payload, m, [](Reader& r, HelloReply* t) {
    return r.U16(&t->version) && r.Utf8(&t->server) && r.U32(&t->daemon_pid);
  });
}

bool Decode(const std::vector<uint8_t>& payload, ErrorReply* m) {
  return DecodePayload(payload, m, [](Reader& r, ErrorReply* t) {
    uint16_t code = 0;
    if (!(r.U16(&code) && r.Utf8(&t->message))) return false;
    t->code = static_cast<ErrorCode>(code);  // unknown codes kept: the enum is append-only
    return true;
  });
}

bool Decode(const std::vector<uint8_t>& payload, StatusRequest* m, ReadError* why) {
  return DecodePayload(
      payload, m, [](Reader& r, StatusRequest* t) { return ReadStrings(r, &t->names); }, why);
}

bool Decode(const std::vector<uint8_t>& payload, StatusReply* m) {
  return DecodePayload(payload, m, [](Reader& r, StatusReply* t) {
    return ReadRecords(r, kProcessInfoMin, &t->processes, ReadProcessInfo) &&
           ReadStrings(r, &t->unknown_names);
  });
}

bool DecodeStatusReply(const std::vector<uint8_t>& payload,
                       const std::function<void(const ProcessInfo&)>& on_process,
                       std::vector<std::string>* unknown_names) {
  Reader r(payload);
  uint32_t n = 0;
  if (!r.Count(&n, kProcessInfoMin)) return false;
  ProcessInfo info;  // ReadProcessInfo sets every field: nothing of the last one remains
  for (uint32_t i = 0; i < n; ++i) {
    if (!ReadRecord(r, &info, ReadProcessInfo)) return false;
    on_process(info);
  }
  return ReadStrings(r, unknown_names) && r.ok();
}

bool Decode(const std::vector<uint8_t>& payload, ActionRequest* m, ReadError* why) {
  return DecodePayload(
      payload, m,
      [](Reader& r, ActionRequest* t) { return ReadStrings(r, &t->names) && r.I32(&t->signal); },
      why);
}

bool Decode(const std::vector<uint8_t>& payload, ActionReply* m) {
  return DecodePayload(payload, m, [](Reader& r, ActionReply* t) {
    return ReadRecords(r, kActionResultMin, &t->results, ReadActionResult);
  });
}

bool Decode(const std::vector<uint8_t>& payload, PidRequest* m, ReadError* why) {
  return DecodePayload(
      payload, m, [](Reader& r, PidRequest* t) { return r.Utf8(&t->name); }, why);
}

bool Decode(const std::vector<uint8_t>& payload, PidReply* m) {
  return DecodePayload(payload, m, [](Reader& r, PidReply* t) { return r.I32(&t->pid); });
}

bool Decode(const std::vector<uint8_t>& payload, VersionReply* m) {
  return DecodePayload(payload, m, [](Reader& r, VersionReply* t) { return r.Utf8(&t->version); });
}

// --- Reread ---------------------------------------------------------------------------------
// ConfigChange record: name str, kind u8, apply u8, keys (u32 count + strs).
namespace {
constexpr size_t kConfigChangeMin = kRecordHead + kStrMin + 1 + 1 + 4;
}  // namespace

std::vector<uint8_t> Encode(const RereadReply& m) {
  Writer w;
  w.U32(static_cast<uint32_t>(m.changes.size()));
  for (const ConfigChange& c : m.changes) {
    Writer rec;
    rec.Utf8(c.name);
    rec.U8(static_cast<uint8_t>(c.kind));
    rec.U8(static_cast<uint8_t>(c.apply));
    WriteStrings(rec, c.keys);
    WriteRecord(w, rec);
  }
  return w.Take();
}

bool Decode(const std::vector<uint8_t>& payload, RereadReply* m) {
  return DecodePayload(payload, m, [](Reader& r, RereadReply* t) {
    return ReadRecords(r, kConfigChangeMin, &t->changes, [](Reader& rr, ConfigChange* c) {
      uint8_t kind = 0, apply = 0;
      bool ok = rr.Utf8(&c->name) && rr.U8(&kind) && rr.U8(&apply) && ReadStrings(rr, &c->keys);
      c->kind = static_cast<ChangeKind>(kind);
      c->apply = static_cast<ApplyMode>(apply);  // unknown numbers kept: "restart" to a reader
      return ok;
    });
  });
}

}  // namespace warden::proto

// --- Show -----------------------------------------------------------------------------------
// ProcessInfo record, command strs, directory str, user str, environment strs, env_files strs,
// logs (u32 count + records {stream str, path str, size i64}), readiness str, healthcheck str,
// watchdog_ms u64, stdout_tail strs, stderr_tail strs.
namespace warden::proto {
namespace {

constexpr size_t kLogFileInfoMin = kRecordHead + kStrMin + kStrMin + 8;

bool ReadLogFileInfo(Reader& r, LogFileInfo* l) {
  return r.Utf8(&l->stream) && r.Utf8(&l->path) && r.I64(&l->size);
}

}  // namespace

std::vector<uint8_t> Encode(const ShowReply& m) {
  Writer w;
  WriteProcessInfo(w, m.process);
  WriteStrings(w, m.command);
  w.Utf8(m.directory);
  w.Utf8(m.user);
  WriteStrings(w, m.environment);
  WriteStrings(w, m.env_files);
  w.U32(static_cast<uint32_t>(m.logs.size()));
  for (const LogFileInfo& l : m.logs) {
    Writer rec;
    rec.Utf8(l.stream);
    rec.Utf8(l.path);
    rec.I64(l.size);
    WriteRecord(w, rec);
  }
  w.Utf8(m.readiness);
  w.Utf8(m.healthcheck);
  w.U64(static_cast<uint64_t>(m.watchdog_sec * 1000.0 + 0.5));
  WriteStrings(w, m.stdout_tail);
  WriteStrings(w, m.stderr_tail);
  return w.Take();
}

bool Decode(const std::vector<uint8_t>& payload, ShowReply* m) {
  return DecodePayload(payload, m, [](Reader& r, ShowReply* t) {
    uint64_t watchdog_ms = 0;
    const bool ok = ReadRecord(r, &t->process, ReadProcessInfo) && ReadStrings(r, &t->command) &&
                    r.Utf8(&t->directory) && r.Utf8(&t->user) && ReadStrings(r, &t->environment) &&
                    ReadStrings(r, &t->env_files) &&
                    ReadRecords(r, kLogFileInfoMin, &t->logs, ReadLogFileInfo) &&
                    r.Utf8(&t->readiness) && r.Utf8(&t->healthcheck) && r.U64(&watchdog_ms) &&
                    ReadStrings(r, &t->stdout_tail) && ReadStrings(r, &t->stderr_tail);
    t->watchdog_sec = static_cast<double>(watchdog_ms) / 1000.0;
    return ok;
  });
}

}  // namespace warden::proto
