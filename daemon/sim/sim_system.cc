#include "daemon/sim/sim_system.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "daemon/os/spawn_setup.h"

namespace warden::sim {
namespace {

using TimePoint = EventLoop::TimePoint;

std::chrono::nanoseconds Seconds(double s) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

std::optional<Profile> ProfileFrom(const std::string& word) {
  for (Profile p : {Profile::kRuns, Profile::kExits, Profile::kCrashes, Profile::kIgnoresTerm,
                    Profile::kSlowStop, Profile::kSpawnError}) {
    if (word == ProfileName(p)) return p;
  }
  return std::nullopt;
}

}  // namespace

const char* ProfileName(Profile profile) {
  switch (profile) {
    case Profile::kRuns:
      return "runs";
    case Profile::kExits:
      return "exits";
    case Profile::kCrashes:
      return "crashes";
    case Profile::kIgnoresTerm:
      return "ignores-term";
    case Profile::kSlowStop:
      return "slow-stop";
    case Profile::kSpawnError:
      return "spawn-error";
  }
  return "?";
}

SimSystem::SimSystem(uint64_t seed, std::function<void(const std::string&)> log)
    : random_(seed), log_(std::move(log)) {}

int SimSystem::NextPid() {
  for (;;) {
    last_pid_ = last_pid_ >= kMaxPid ? 100 : last_pid_ + 1;
    if (!processes_.count(last_pid_)) return last_pid_;
  }
}

core::SpawnOutcome SimSystem::Spawn(const os::SpawnSpec& spec) {
  SimProcess p;
  if (spec.argv.size() >= 3 && spec.argv[1] == "sim") {
    p.profile = ProfileFrom(spec.argv[2]).value_or(Profile::kRuns);
    if (spec.argv.size() >= 4) p.seconds = std::strtod(spec.argv[3].c_str(), nullptr);
  }
  p.group = GetVariable(spec.env, "WARDEN_GROUP").value_or("");
  p.name = GetVariable(spec.env, "WARDEN_PROCESS").value_or("");
  p.full_name = p.group == p.name ? p.name : p.group + ":" + p.name;
  if (p.profile == Profile::kSpawnError) {
    log_("spawn " + p.full_name + ": exec fails (ENOEXEC)");
    return {0, core::SpawnError{"exec " + spec.path, ENOEXEC}};
  }
  p.pid = NextPid();
  p.start_ticks = ++ticks_;
  ++spawns_;
  // 1 to 8 MiB resident (with 4 KiB pages); one spawn in three leaks 1 to 8 MiB a second.
  p.spawned = EventLoop::Now();
  p.base_pages = 256 + random_() % 1792;
  if (random_() % 3 == 0) p.growth_pages = static_cast<double>(256 + random_() % 1792);
  switch (p.profile) {
    case Profile::kExits: {
      const int code = static_cast<int>(random_() % 3);
      ExitWithin(p, 2 * p.seconds, {false, code});
      break;
    }
    case Profile::kCrashes:
      ExitWithin(p, 0.2, {false, 1});
      break;
    default:
      break;
  }
  std::string readiness;
  if (spec.ready_fd >= 0) {
    p.ready_pipe.reset(fcntl(spec.ready_fd, F_DUPFD_CLOEXEC, 0));
    readiness = ", readiness fd";
  } else if (auto path = GetVariable(spec.env, "NOTIFY_SOCKET")) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path->size() < sizeof addr.sun_path) {
      std::memcpy(addr.sun_path, path->data(), path->size());
      p.notify.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      if (p.notify &&
          connect(p.notify.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        p.notify.reset();
      }
    }
    readiness = p.notify ? ", NOTIFY_SOCKET" : ", NOTIFY_SOCKET unreachable";
    // Sometimes a status line long before it is ready, as a real service might send.
    if (p.notify && random_() % 2 == 0) {
      (void)send(p.notify.get(), "STATUS=warming up", 17, MSG_NOSIGNAL);
    }
  }
  p.reports_readiness = !readiness.empty();
  if ((p.ready_pipe || p.notify) && random_() % 7 != 0) {
    const double fraction = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
    p.ready_at = EventLoop::Now() + Seconds(p.seconds * fraction);
  }
  log_("spawn " + p.full_name + " (" + ProfileName(p.profile) + readiness +
       (p.ready_at || !(p.ready_pipe || p.notify) ? "" : ", never ready") + "): pid " +
       std::to_string(p.pid));
  const int pid = p.pid;
  processes_.emplace(pid, std::move(p));
  return {pid, std::nullopt};
}

void SimSystem::ExitWithin(SimProcess& process, double seconds, core::ExitStatus status) {
  const double fraction = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
  const TimePoint at = EventLoop::Now() + Seconds(seconds * fraction);
  if (process.exit_at && *process.exit_at <= at) return;  // it exits sooner anyway
  process.exit_at = at;
  process.exit_status = status;
}

void SimSystem::ExitNow(SimProcess& process, core::ExitStatus status) {
  process.zombie = true;
  process.exit_at.reset();
  process.ready_at.reset();
  process.ready_pipe.reset();  // the pipe's reader sees its end
  process.notify.reset();
  process.exit_status = status;
  log_("pid " + std::to_string(process.pid) + " (" + process.full_name +
       ") ends: " + core::DescribeExit(status));
}

void SimSystem::Deliver(SimProcess& process, int signal) {
  log_("pid " + std::to_string(process.pid) + " (" + process.full_name + ") gets SIG" +
       os::SignalName(signal));
  if (process.zombie) return;
  if (signal == SIGKILL) {
    ExitNow(process, {true, SIGKILL});
    return;
  }
  const bool terminating =
      signal == SIGTERM || signal == SIGINT || signal == SIGHUP || signal == SIGQUIT;
  if (!terminating) return;  // USR1, USR2, ...: handled, nothing happens
  switch (process.profile) {
    case Profile::kRuns:
    case Profile::kExits:
    case Profile::kCrashes:
      ExitWithin(process, 0.05, {true, signal});
      break;
    case Profile::kSlowStop:
      ExitWithin(process, 2 * process.seconds, {false, 0});
      break;
    case Profile::kIgnoresTerm:
    case Profile::kSpawnError:
      break;
  }
}

bool SimSystem::SendSignal(int pid, int signal, bool /*whole_group*/) {
  // Every process is its own session and group leader with no children: the group is the pid.
  auto it = processes_.find(pid);
  if (it == processes_.end()) {
    errno = ESRCH;
    return false;
  }
  Deliver(it->second, signal);
  return true;
}

bool SimSystem::SignalProcess(const os::ProcStat& process, int signal) {
  auto it = processes_.find(process.pid);
  if (it == processes_.end() || it->second.start_ticks != process.start_ticks) {
    errno = ESRCH;
    return false;
  }
  Deliver(it->second, signal);
  return true;
}

std::vector<os::Reaped> SimSystem::ReapAll(size_t max, const std::vector<int>& likely, bool any) {
  std::vector<os::Reaped> out;
  // As the kernel: the likely pids first, each if it is a zombie; then any zombie.
  for (int pid : likely) {
    if (out.size() >= max) break;
    auto it = processes_.find(pid);
    if (it == processes_.end() || !it->second.zombie) continue;
    out.push_back({it->first, it->second.exit_status});
    log_("reap pid " + std::to_string(it->first) + " (" + it->second.full_name + ") by pid");
    processes_.erase(it);
  }
  for (auto it = processes_.begin(); any && it != processes_.end() && out.size() < max;) {
    if (!it->second.zombie) {
      ++it;
      continue;
    }
    out.push_back({it->first, it->second.exit_status});
    log_("reap pid " + std::to_string(it->first) + " (" + it->second.full_name + ")");
    it = processes_.erase(it);
  }
  return out;
}

uint64_t SimSystem::MemoryPages(const SimProcess& process) const {
  if (process.zombie) return 0;
  const double seconds = std::chrono::duration<double>(EventLoop::Now() - process.spawned).count();
  return process.base_pages + static_cast<uint64_t>(process.growth_pages * std::max(seconds, 0.0));
}

std::optional<TimePoint> SimSystem::OverLimitSince(int pid, uint64_t limit) const {
  auto it = processes_.find(pid);
  if (it == processes_.end() || it->second.zombie) return std::nullopt;
  const SimProcess& p = it->second;
  const uint64_t page = static_cast<uint64_t>(os::PageSize());
  if (MemoryPages(p) * page <= limit) return std::nullopt;
  if (p.base_pages * page > limit) return p.spawned;
  // base + growth * t > limit / page: the leak passed the limit at t.
  const double pages =
      static_cast<double>(limit) / static_cast<double>(page) - static_cast<double>(p.base_pages);
  return p.spawned + Seconds(pages / p.growth_pages);
}

os::ProcStat SimSystem::StatOf(const SimProcess& process) const {
  os::ProcStat s;
  s.pid = process.pid;
  s.rss_pages = MemoryPages(process);
  s.state = process.zombie ? 'Z' : 'S';
  s.ppid = kSelfPid;
  s.pgrp = process.pid;
  s.session = process.pid;
  s.start_ticks = process.start_ticks;
  return s;
}

std::optional<os::ProcStat> SimSystem::ReadProcStat(int pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return std::nullopt;
  return StatOf(it->second);
}

std::vector<os::ProcStat> SimSystem::WaitGone(const std::vector<os::ProcStat>& processes, int) {
  std::vector<os::ProcStat> alive;
  for (const os::ProcStat& p : processes) {
    auto now = ReadProcStat(p.pid);
    if (now && now->start_ticks == p.start_ticks && now->state != 'Z') alive.push_back(p);
  }
  return alive;
}

std::optional<std::string> SimSystem::ReadFile(const std::string& path) {
  auto it = files_.find(path);
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

UniqueFd SimSystem::OpenAppend(const std::string& path) {
  UniqueFd fd(open("/dev/null", O_WRONLY | O_CLOEXEC));
  if (!fd) return fd;
  auto [version, made] = file_versions_.try_emplace(path, 0);
  if (made) {
    version->second = ++next_file_version_;
    files_[path];  // created, empty
  }
  append_fds_[fd.get()] = {path, version->second};
  return fd;
}

Status SimSystem::AppendTo(int fd, const std::string& path, std::string_view text) {
  auto it = append_fds_.find(fd);
  if (it == append_fds_.end() || it->second.first != path) {
    return Status(ErrorCode::kInternal, "write " + path + ": not opened for appending");
  }
  auto version = file_versions_.find(path);
  if (version != file_versions_.end() && version->second == it->second.second) {
    files_[path].append(text);
  }
  return Status::Ok();
}

Status SimSystem::ReplaceFile(const std::string& path, std::string_view text) {
  files_[path] = std::string(text);
  file_versions_[path] = ++next_file_version_;
  return Status::Ok();
}

std::vector<os::ProcStat> SimSystem::ScanSubtree(int root, const std::function<bool(int pid)>& skip,
                                                 const os::StatReader& read) {
  std::vector<os::ProcStat> out;
  if (root != kSelfPid) return out;  // the programs' processes have no children
  for (const auto& [pid, process] : processes_) {
    if (skip && skip(pid)) continue;
    if (auto stat = read ? read(pid) : ReadProcStat(pid)) out.push_back(*stat);
  }
  return out;
}

std::vector<os::ProcStat> SimSystem::ScanWhole(int root, size_t /*expected*/,
                                               const os::StatReader& read) {
  return ScanSubtree(root, {}, read);
}

std::string SimSystem::ReadProcEnviron(int pid, size_t max_bytes) {
  auto it = processes_.find(pid);
  if (it == processes_.end() || it->second.zombie) return "";  // an exiting process has none
  std::string text =
      "WARDEN_GROUP=" + it->second.group + '\0' + "WARDEN_PROCESS=" + it->second.name + '\0';
  return text.substr(0, max_bytes);
}

std::optional<TimePoint> SimSystem::Earliest(std::optional<TimePoint> SimProcess::*when) const {
  std::optional<TimePoint> next;
  for (const auto& [pid, process] : processes_) {
    const std::optional<TimePoint>& at = process.*when;
    if (at && (!next || *at < *next)) next = at;
  }
  return next;
}

size_t SimSystem::ReadyDue() {
  const TimePoint now = EventLoop::Now();
  size_t count = 0;
  for (auto& [pid, process] : processes_) {
    if (process.zombie || !process.ready_at || *process.ready_at > now) continue;
    process.ready_at.reset();
    bool sent = false;
    if (process.ready_pipe) {
      sent = write(process.ready_pipe.get(), "\n", 1) == 1;  // EPIPE, not SIGPIPE: see main.cc
    } else if (process.notify) {
      static constexpr char kReady[] = "READY=1\nSTATUS=serving";
      sent = send(process.notify.get(), kReady, sizeof kReady - 1, MSG_NOSIGNAL) > 0;
    }
    process.reported_ready = process.reported_ready || sent;
    log_("pid " + std::to_string(pid) + " (" + process.full_name + ") reports ready" +
         (sent ? "" : ": the write failed"));
    ++count;
  }
  return count;
}

size_t SimSystem::ExitDue() {
  const TimePoint now = EventLoop::Now();
  size_t count = 0;
  for (auto& [pid, process] : processes_) {
    if (process.zombie || !process.exit_at || *process.exit_at > now) continue;
    ExitNow(process, process.exit_status);
    ++count;
  }
  return count;
}

void SimSystem::Crash(int pid, core::ExitStatus status) {
  auto it = processes_.find(pid);
  if (it == processes_.end() || it->second.zombie) return;
  ExitNow(it->second, status);
}

size_t SimSystem::zombies() const {
  size_t n = 0;
  for (const auto& [pid, process] : processes_) n += process.zombie ? 1 : 0;
  return n;
}

}  // namespace warden::sim
