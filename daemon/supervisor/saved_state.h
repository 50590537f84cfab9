// The state a wardend image hands to the next one across execve (`wardenctl reexec`): every
// supervised process with its machine, pids, counters, deadlines and readiness watch, the log
// pipes, and the control socket. Supervisor::SaveState / RestoreState fill and read it
// (saved_state.cc); daemon/reexec/state_codec.h turns it into bytes and back.
//
// Time points are CLOCK_MONOTONIC nanoseconds: the clock is the same before and after execve, so
// a deadline keeps its remaining time. File descriptors are numbers in this process: execve keeps
// them (FD_CLOEXEC cleared).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "daemon/core/process_machine.h"

namespace warden {

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
  // Leftover bookkeeping (daemon/supervisor/orphans.h).
  std::vector<std::pair<int32_t, uint64_t>> known;  // pid, start ticks
  std::vector<int32_t> sessions;
  int32_t leftover_signal = 0;
  std::vector<std::pair<int32_t, uint64_t>> signalled;
  // The readiness watch of the current spawn (daemon/supervisor/readiness.h), if any.
  SavedReadiness readiness = SavedReadiness::kNone;
  int32_t readiness_fd = -1;  // notify: the socket; fd: the pipe's read end; -1: none
  std::string notify_path;
  bool readiness_seen = false;  // readiness was already reported
};

// One log pipe's read end and the sink it feeds (daemon/logs/log_capture.h).
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

}  // namespace warden
