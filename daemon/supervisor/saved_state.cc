// Supervisor::SaveState and RestoreState (saved_state.h): the supervisor's side of
// re-executing wardend. The machines, pids and deadlines go into the state as they are; log pipes
// and readiness fds go by number (the execve keeps them open).
#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "daemon/supervisor/supervisor.h"

namespace warden {
namespace {

bool FdOpen(int fd) { return fd >= 0 && fcntl(fd, F_GETFD) >= 0; }

SavedReadiness ReadinessOf(config::ReadyMode mode) {
  switch (mode) {
    case config::ReadyMode::kStartsecs:
      return SavedReadiness::kNone;
    case config::ReadyMode::kNotify:
      return SavedReadiness::kNotify;
    case config::ReadyMode::kFd:
      return SavedReadiness::kFd;
    case config::ReadyMode::kTcp:
      return SavedReadiness::kTcp;
  }
  return SavedReadiness::kNone;
}

}  // namespace

void Supervisor::SaveState(DaemonState* state) const {
  state->config_path = config_.path;
  state->config_sources = config_.sources;
  state->next_serial = next_serial_;
  for (const auto& owned : processes_) {
    const Process& p = *owned;
    SavedProcess s;
    s.full_name = p.full_name();
    s.machine = p.machine().Save();
    s.start_wall_ms = p.start_wall_ms_;
    s.stop_wall_ms = p.stop_wall_ms_;
    s.last_pid = p.last_pid_;
    s.spawn_count = p.spawn_count_;
    s.serial = p.serial_;
    s.status_text = p.status_text_;
    s.hold_reason = p.hold_reason_;
    s.start_pending = p.start_pending_;
    s.start_after_stop = p.start_after_stop();
    for (const auto& [pid, ticks] : p.claim_.known) s.known.emplace_back(pid, ticks);
    s.sessions.assign(p.claim_.sessions.begin(), p.claim_.sessions.end());
    s.leftover_signal = p.leftover_signal_;
    for (const auto& [pid, ticks] : p.signalled_) s.signalled.emplace_back(pid, ticks);
    if (p.readiness_) {
      s.readiness = ReadinessOf(p.readiness_->options().mode);
      s.readiness_fd = p.readiness_->kept_fd();
      s.notify_path = p.readiness_->options().notify_path;
      s.readiness_seen = p.readiness_->ready();
    }
    state->processes.push_back(std::move(s));
  }
  for (const LogCapture::PipeInfo& pipe : log_capture_.Pipes()) {
    SavedPipe s;
    s.fd = pipe.fd;
    s.label = pipe.options.label;
    s.path = pipe.options.file.path;
    s.max_bytes = pipe.options.file.max_bytes;
    s.backups = pipe.options.file.backups;
    s.drop_when_full = pipe.options.drop_when_full;
    s.timestamps = pipe.options.timestamps;
    state->pipes.push_back(std::move(s));
  }
}

std::vector<std::string> Supervisor::RestoreState(const DaemonState& state) {
  std::vector<std::string> problems;
  next_serial_ = std::max(next_serial_, state.next_serial);

  // Log pipes first: output written during the exec window is waiting in them.
  for (const SavedPipe& pipe : state.pipes) {
    if (!FdOpen(pipe.fd)) {
      problems.push_back("log pipe fd " + std::to_string(pipe.fd) + " (" + pipe.label +
                         ") did not survive the exec");
      continue;
    }
    LogSinkOptions options;
    options.label = pipe.label;
    options.file.path = pipe.path;
    options.file.max_bytes = pipe.max_bytes;
    options.file.backups = pipe.backups;
    options.drop_when_full = pipe.drop_when_full;
    options.timestamps = pipe.timestamps;
    if (::warden::Status s = log_capture_.AdoptPipe(UniqueFd(pipe.fd), options); !s.ok()) {
      problems.push_back(pipe.label + ": cannot take over its log pipe: " + s.message());
    }
  }

  std::vector<Process*> pending;
  std::vector<Process*> restarting;
  for (const SavedProcess& saved : state.processes) {
    auto it = by_full_name_.find(saved.full_name);
    if (it == by_full_name_.end()) {
      // Its pid stays wardend's child: reaped (as an orphan) when it exits.
      problems.push_back(saved.full_name + ": not in the configuration; pid " +
                         std::to_string(saved.machine.pid) + " is left alone");
      if (saved.readiness_fd >= 0) close(saved.readiness_fd);
      continue;
    }
    Process* p = it->second;
    p->start_wall_ms_ = saved.start_wall_ms;
    p->stop_wall_ms_ = saved.stop_wall_ms;
    p->last_pid_ = saved.last_pid;
    p->spawn_count_ = saved.spawn_count;
    p->serial_ = saved.serial;
    p->status_text_ = saved.status_text;
    p->hold_reason_ = saved.hold_reason;
    for (const auto& [pid, ticks] : saved.known) p->claim_.known[pid] = ticks;
    p->claim_.sessions.insert(saved.sessions.begin(), saved.sessions.end());
    p->leftover_signal_ = saved.leftover_signal;
    for (const auto& [pid, ticks] : saved.signalled) p->signalled_[pid] = ticks;

    if (saved.readiness != SavedReadiness::kNone) {
      ReadinessWatch::Options options;
      options.mode = p->program().ready;
      options.fd = p->program().ready_fd;
      options.port = p->program().ready_port;
      options.name = p->full_name();
      options.notify_path = saved.notify_path;
      ReadinessWatch::Callbacks callbacks = p->ReadinessCallbacks();
      UniqueFd fd;
      if (saved.readiness_fd >= 0) {
        if (FdOpen(saved.readiness_fd)) {
          fd.reset(saved.readiness_fd);
        } else {
          problems.push_back(p->full_name() + ": readiness fd " +
                             std::to_string(saved.readiness_fd) + " did not survive the exec");
        }
      }
      auto watch = ReadinessWatch::Adopt(loop_, options, std::move(fd), saved.readiness_seen,
                                         std::move(callbacks));
      if (watch.ok()) {
        p->readiness_ = std::move(watch).value();
      } else {
        problems.push_back(p->full_name() + ": readiness: " + watch.status().message());
      }
    }

    state_counts_[p->machine_.state()]--;
    p->machine_.Restore(saved.machine);  // arms its timer (a past deadline fires at once)
    state_counts_[p->machine_.state()]++;
    if (p->machine_.pid() > 0) {
      Track(p->machine_.pid(), p);
      // Its start, as the record of tracked processes has it (process_record.h).
      if (auto stat = ReadStat(p->machine_.pid())) p->main_start_ticks_ = stat->start_ticks;
    }
    // Checks and the watchdog start over (a full interval, a full watchdog_sec from now).
    if (p->machine_.state() == core::State::kRunning) {
      p->StartHealthChecks();
      p->ArmWatchdog();
    }
    if (saved.start_pending) pending.push_back(p);
    if (saved.start_after_stop) restarting.push_back(p);
  }
  std::unordered_set<std::string> saved_names;
  for (const SavedProcess& s : state.processes) saved_names.insert(s.full_name);
  for (auto& p : processes_) {
    if (!saved_names.count(p->full_name())) {
      problems.push_back(p->full_name() + ": not in the saved state; left STOPPED");
    }
  }
  // Starts that waited for their dependencies wait again (their clients are gone).
  for (Process* p : pending) RequestStart(p, nullptr);
  // Restarts go on: what is not stopped yet is stopped (tier by tier, as before), then all of
  // them start.
  if (!restarting.empty()) StopThenStart(restarting, restarting, nullptr);
  memory_watch_.Arm();  // the memory checks go on in the new image
  return problems;
}

}  // namespace warden
