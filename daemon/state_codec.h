// The state a wardend image hands to the next one across execve (`wardenctl reexec`,
// daemon/reexec.h): everything needed to go on supervising the same processes with the same
// pids, counters, deadlines, log pipes, readiness sockets and control socket.
//
// Encoded with proto/wire.h (big-endian, field by field): the magic "WRDS", kStateVersion (u32),
// the body, nothing after it. An image writes kStateVersion and reads every version of
// kReadableStateVersions (`wardend --state-version` prints them); the old image re-executes a
// binary only when the version it writes is among them. Decoding checks every length and
// rejects truncated, oversized or trailing input.
//
// Version 1: no config sources (the new image loads the config file named by config_path).
// Version 2: + config_sources, the configuration in force as the files it was built from;
//            + SavedProcess::start_after_stop. Time points are CLOCK_MONOTONIC nanoseconds:
// the clock is the same before and after execve, so a deadline keeps its remaining time.
// File descriptors are numbers in this process: execve keeps them (FD_CLOEXEC cleared).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "config/config.h"
#include "daemon/core/process_machine.h"

namespace warden {

inline constexpr uint32_t kStateMagic = 0x57524453;  // "WRDS"
inline constexpr uint32_t kStateVersion = 2;
inline constexpr uint32_t kReadableStateVersions[] = {1, 2};
// "1 2": what `wardend --state-version` prints.
std::string ReadableStateVersions();

enum class SavedReadiness : uint8_t { kNone = 0, kNotify = 1, kFd = 2, kTcp = 3 };

struct SavedProcess {
  std::string full_name;
  core::ProcessMachine::Snapshot machine;
  int64_t start_wall_ms = 0;
  int64_t stop_wall_ms = 0;
  int32_t last_pid = 0;
  uint64_t spawn_count = 0;
  uint64_t serial = 0;
  std::string status_text;
  std::string hold_reason;
  bool start_pending = false;
  bool start_after_stop = false;  // a restart caught between its stop and its start (version 2)
  // Leftover bookkeeping (daemon/orphans.h).
  std::vector<std::pair<int32_t, uint64_t>> known;  // pid, start ticks
  std::vector<int32_t> sessions;
  int32_t leftover_signal = 0;
  std::vector<std::pair<int32_t, uint64_t>> signalled;
  // The readiness watch of the current spawn (daemon/readiness.h), if any.
  SavedReadiness readiness = SavedReadiness::kNone;
  int32_t readiness_fd = -1;  // notify: the socket; fd: the pipe's read end; -1: none
  std::string notify_path;
  bool readiness_seen = false;  // readiness was already reported
};

// One log pipe's read end and the sink it feeds (daemon/log_capture.h).
struct SavedPipe {
  int32_t fd = -1;
  std::string label;
  std::string path;
  uint64_t max_bytes = 0;
  int32_t backups = 0;
  bool drop_when_full = false;
  bool timestamps = false;
};

struct DaemonState {
  int64_t saved_at_ns = 0;  // CLOCK_MONOTONIC when written
  std::string config_path;
  // The configuration in force, as the files it was built from (config::LoadConfigSources);
  // empty in a version 1 state.
  config::ConfigSources config_sources;
  int32_t log_level = 2;  // spdlog level in force
  // The control socket.
  int32_t listen_fd = -1;
  std::string socket_path;
  bool socket_bound = false;      // wardend created the file (and removes it at exit)
  bool socket_activated = false;  // it came from systemd
  uint64_t next_serial = 0;
  std::vector<SavedProcess> processes;
  std::vector<SavedPipe> pipes;
};

// `version`: kStateVersion, or an older one of kReadableStateVersions (for tests: what an older
// wardend wrote), leaving out what it did not have.
std::vector<uint8_t> EncodeState(const DaemonState& state, uint32_t version = kStateVersion);
// kInvalidArgument with what is wrong: bad magic, a version this image cannot read ("state
// version 7, this wardend reads 1 2"), truncated or trailing bytes, impossible values.
Result<DaemonState> DecodeState(const std::vector<uint8_t>& bytes);

}  // namespace warden
