// DaemonState <-> bytes, with proto/wire.h. Field order is the format: append, never reorder,
// and bump kStateVersion when a field is added.
#include "daemon/reexec/state_codec.h"

#include <algorithm>
#include <chrono>
#include <iterator>

#include "proto/wire.h"

namespace warden {
namespace {

using proto::Reader;
using proto::Writer;

constexpr size_t kMaxStateBytes = 64u << 20;

void PutTime(Writer& w, const std::optional<core::TimePoint>& t) {
  w.U8(t ? 1 : 0);
  if (t) w.I64(std::chrono::duration_cast<std::chrono::nanoseconds>(t->time_since_epoch()).count());
}

bool GetTime(Reader& r, std::optional<core::TimePoint>* t) {
  uint8_t present = 0;
  if (!r.U8(&present) || present > 1) return false;
  t->reset();
  if (present == 0) return true;
  int64_t ns = 0;
  if (!r.I64(&ns)) return false;
  *t = core::TimePoint(std::chrono::duration_cast<core::Duration>(std::chrono::nanoseconds(ns)));
  return true;
}

bool GetBool(Reader& r, bool* b) {
  uint8_t v = 0;
  if (!r.U8(&v) || v > 1) return false;
  *b = v == 1;
  return true;
}

bool ValidState(uint16_t s) {
  switch (static_cast<core::State>(s)) {
    case core::State::kStopped:
    case core::State::kStarting:
    case core::State::kRunning:
    case core::State::kBackoff:
    case core::State::kStopping:
    case core::State::kExited:
    case core::State::kFatal:
    case core::State::kUnknown:
      return true;
  }
  return false;
}

void PutMachine(Writer& w, const core::ProcessMachine::Snapshot& m) {
  w.U16(static_cast<uint16_t>(m.state));
  w.I32(m.pid);
  PutTime(w, m.started_at);
  PutTime(w, m.running_since);
  w.U8(m.last_exit ? 1 : 0);
  if (m.last_exit) {
    w.U8(m.last_exit->signaled ? 1 : 0);
    w.I32(m.last_exit->value);
  }
  w.U32(m.spawns);
  w.U32(m.restarts);
  w.I32(m.backoff_count);
  w.I32(m.crash_count);
  w.Str(m.reason);
  PutTime(w, m.state_deadline);
  PutTime(w, m.cleanup_deadline);
  w.U8(m.cleaning ? 1 : 0);
  w.U8(m.spawn_deferred ? 1 : 0);
  w.U8(m.abandoning ? 1 : 0);
}

bool GetMachine(Reader& r, core::ProcessMachine::Snapshot* m) {
  uint16_t state = 0;
  if (!r.U16(&state) || !ValidState(state)) return false;
  m->state = static_cast<core::State>(state);
  int32_t pid = 0;
  if (!r.I32(&pid) || pid < 0) return false;
  m->pid = pid;
  if (!GetTime(r, &m->started_at) || !GetTime(r, &m->running_since)) return false;
  bool has_exit = false;
  if (!GetBool(r, &has_exit)) return false;
  m->last_exit.reset();
  if (has_exit) {
    core::ExitStatus e;
    int32_t value = 0;
    if (!GetBool(r, &e.signaled) || !r.I32(&value)) return false;
    e.value = value;
    m->last_exit = e;
  }
  int32_t backoff = 0, crash = 0;
  if (!r.U32(&m->spawns) || !r.U32(&m->restarts) || !r.I32(&backoff) || !r.I32(&crash) ||
      backoff < 0 || crash < 0) {
    return false;
  }
  m->backoff_count = backoff;
  m->crash_count = crash;
  return r.Str(&m->reason) && GetTime(r, &m->state_deadline) && GetTime(r, &m->cleanup_deadline) &&
         GetBool(r, &m->cleaning) && GetBool(r, &m->spawn_deferred) && GetBool(r, &m->abandoning);
}

void PutPairs(Writer& w, const std::vector<std::pair<int32_t, uint64_t>>& pairs) {
  w.U32(static_cast<uint32_t>(pairs.size()));
  for (const auto& [pid, ticks] : pairs) {
    w.I32(pid);
    w.U64(ticks);
  }
}

bool GetPairs(Reader& r, std::vector<std::pair<int32_t, uint64_t>>* pairs) {
  uint32_t n = 0;
  if (!r.Count(&n, 12)) return false;
  pairs->resize(n);
  for (auto& [pid, ticks] : *pairs) {
    if (!r.I32(&pid) || !r.U64(&ticks)) return false;
  }
  return true;
}

void PutProcess(Writer& w, const SavedProcess& p, uint32_t version) {
  w.Str(p.full_name);
  PutMachine(w, p.machine);
  w.I64(p.start_wall_ms);
  w.I64(p.stop_wall_ms);
  w.I32(p.last_pid);
  w.U64(p.spawn_count);
  w.U64(p.serial);
  w.Str(p.status_text);
  w.Str(p.hold_reason);
  w.U8(p.start_pending ? 1 : 0);
  PutPairs(w, p.known);
  w.U32(static_cast<uint32_t>(p.sessions.size()));
  for (int32_t s : p.sessions) w.I32(s);
  w.I32(p.leftover_signal);
  PutPairs(w, p.signalled);
  w.U8(static_cast<uint8_t>(p.readiness));
  w.I32(p.readiness_fd);
  w.Str(p.notify_path);
  w.U8(p.readiness_seen ? 1 : 0);
  if (version >= 2) w.U8(p.start_after_stop ? 1 : 0);
}

bool GetProcess(Reader& r, SavedProcess* p, uint32_t version) {
  if (!r.Str(&p->full_name) || p->full_name.empty() || !GetMachine(r, &p->machine)) return false;
  if (!r.I64(&p->start_wall_ms) || !r.I64(&p->stop_wall_ms) || !r.I32(&p->last_pid) ||
      !r.U64(&p->spawn_count) || !r.U64(&p->serial) || !r.Str(&p->status_text) ||
      !r.Str(&p->hold_reason) || !GetBool(r, &p->start_pending) || !GetPairs(r, &p->known)) {
    return false;
  }
  uint32_t n = 0;
  if (!r.Count(&n, 4)) return false;
  p->sessions.resize(n);
  for (int32_t& s : p->sessions) {
    if (!r.I32(&s)) return false;
  }
  uint8_t readiness = 0;
  if (!r.I32(&p->leftover_signal) || !GetPairs(r, &p->signalled) || !r.U8(&readiness) ||
      readiness > static_cast<uint8_t>(SavedReadiness::kTcp)) {
    return false;
  }
  p->readiness = static_cast<SavedReadiness>(readiness);
  return r.I32(&p->readiness_fd) && p->readiness_fd >= -1 && r.Str(&p->notify_path) &&
         GetBool(r, &p->readiness_seen) && (version < 2 || GetBool(r, &p->start_after_stop));
}

void PutPipe(Writer& w, const SavedPipe& p) {
  w.I32(p.fd);
  w.Str(p.label);
  w.Str(p.path);
  w.U64(p.max_bytes);
  w.I32(p.backups);
  w.U8(p.drop_when_full ? 1 : 0);
  w.U8(p.timestamps ? 1 : 0);
}

bool GetPipe(Reader& r, SavedPipe* p) {
  return r.I32(&p->fd) && p->fd >= 0 && r.Str(&p->label) && r.Str(&p->path) && !p->path.empty() &&
         r.U64(&p->max_bytes) && r.I32(&p->backups) && p->backups >= 0 &&
         GetBool(r, &p->drop_when_full) && GetBool(r, &p->timestamps);
}

void PutFiles(Writer& w, const std::vector<config::SourceFile>& files) {
  w.U32(static_cast<uint32_t>(files.size()));
  for (const config::SourceFile& f : files) {
    w.Str(f.path);
    w.Str(f.same_as);
    w.Str(f.text);
  }
}

bool GetFiles(Reader& r, std::vector<config::SourceFile>* files) {
  uint32_t n = 0;
  if (!r.Count(&n, 12)) return false;
  files->resize(n);
  for (config::SourceFile& f : *files) {
    if (!r.Str(&f.path) || f.path.empty() || !r.Str(&f.same_as) || !r.Str(&f.text)) return false;
  }
  return true;
}

void PutSources(Writer& w, const config::ConfigSources& s) {
  PutFiles(w, s.files);
  w.U32(static_cast<uint32_t>(s.updates.size()));
  for (const config::ConfigSources::Update& u : s.updates) {
    PutFiles(w, u.files);
    w.U32(static_cast<uint32_t>(u.only.size()));
    for (const std::string& name : u.only) w.Str(name);
  }
}

bool GetSources(Reader& r, config::ConfigSources* s) {
  uint32_t n = 0;
  if (!GetFiles(r, &s->files) || !r.Count(&n, 8)) return false;
  s->updates.resize(n);
  for (config::ConfigSources::Update& u : s->updates) {
    if (!GetFiles(r, &u.files) || u.files.empty() || !r.Count(&n, 4)) return false;
    u.only.resize(n);
    for (std::string& name : u.only) {
      if (!r.Str(&name)) return false;
    }
  }
  return true;
}

Status Bad(const std::string& what) {
  return Status(ErrorCode::kInvalidArgument, "saved state: " + what);
}

}  // namespace

std::string ReadableStateVersions() {
  std::string out;
  for (uint32_t v : kReadableStateVersions) out += (out.empty() ? "" : " ") + std::to_string(v);
  return out;
}

std::vector<uint8_t> EncodeState(const DaemonState& s, uint32_t version) {
  Writer w;
  w.U32(kStateMagic);
  w.U32(version);
  w.I64(s.saved_at_ns);
  w.Str(s.config_path);
  w.I32(s.log_level);
  w.I32(s.listen_fd);
  w.Str(s.socket_path);
  w.U8(s.socket_bound ? 1 : 0);
  w.U8(s.socket_activated ? 1 : 0);
  w.U64(s.next_serial);
  w.U32(static_cast<uint32_t>(s.processes.size()));
  for (const SavedProcess& p : s.processes) PutProcess(w, p, version);
  w.U32(static_cast<uint32_t>(s.pipes.size()));
  for (const SavedPipe& p : s.pipes) PutPipe(w, p);
  if (version >= 2) PutSources(w, s.config_sources);
  return w.Take();
}

Result<DaemonState> DecodeState(const std::vector<uint8_t>& bytes) {
  if (bytes.size() > kMaxStateBytes) return Bad("too large");
  Reader r(bytes);
  uint32_t magic = 0, version = 0;
  if (!r.U32(&magic) || magic != kStateMagic) return Bad("not a wardend state (bad magic)");
  if (!r.U32(&version)) return Bad("truncated");
  if (std::find(std::begin(kReadableStateVersions), std::end(kReadableStateVersions), version) ==
      std::end(kReadableStateVersions)) {
    return Bad("state version " + std::to_string(version) + ", this wardend reads " +
               ReadableStateVersions());
  }
  DaemonState s;
  if (!r.I64(&s.saved_at_ns) || !r.Str(&s.config_path) || !r.I32(&s.log_level) ||
      !r.I32(&s.listen_fd) || !r.Str(&s.socket_path) || !GetBool(r, &s.socket_bound) ||
      !GetBool(r, &s.socket_activated) || !r.U64(&s.next_serial)) {
    return Bad("truncated or corrupt header");
  }
  if (s.config_path.empty()) return Bad("no config path");
  if (s.listen_fd < 0) return Bad("no control socket");
  if (s.log_level < 0 || s.log_level > 6) return Bad("bad log level");
  uint32_t n = 0;
  // A process takes at least its name's length and a few dozen fixed bytes.
  if (!r.Count(&n, 40)) return Bad("bad process count");
  s.processes.resize(n);
  for (SavedProcess& p : s.processes) {
    if (!GetProcess(r, &p, version)) return Bad("truncated or corrupt process entry");
  }
  if (!r.Count(&n, 26)) return Bad("bad pipe count");
  s.pipes.resize(n);
  for (SavedPipe& p : s.pipes) {
    if (!GetPipe(r, &p)) return Bad("truncated or corrupt log pipe entry");
  }
  if (version >= 2 && !GetSources(r, &s.config_sources)) {
    return Bad("truncated or corrupt configuration files");
  }
  if (!r.ok()) return Bad("truncated");
  if (r.remaining() != 0) return Bad(std::to_string(r.remaining()) + " trailing bytes");
  return s;
}

}  // namespace warden
