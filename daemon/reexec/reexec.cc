// Re-executing wardend: the checks, the exec and the recovery without a state. See reexec.h.
#include "daemon/reexec/reexec.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <set>

#include "base/unique_fd.h"
#include "daemon/control/control_server.h"
#include "daemon/os/os.h"
#include "daemon/supervisor/orphans.h"
#include "daemon/supervisor/supervisor.h"
#include "daemon/systemd/notify.h"

extern char** environ;

namespace warden {
namespace {

constexpr std::string_view kDeleted = " (deleted)";
// Generous: the probe is asynchronous (requests are served meanwhile), and a loaded machine or a
// sanitizer build can take seconds to start a binary.
constexpr std::chrono::milliseconds kProbeTimeout{30000};

Status Errno(const std::string& what) {
  return Status(ErrorCode::kIo, what + ": " + std::strerror(errno));
}

int64_t MonotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool SetCloexec(int fd, bool on) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0) return false;
  return fcntl(fd, F_SETFD, on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC)) == 0;
}

}  // namespace

Result<std::string> OwnBinary() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) return Errno("readlink /proc/self/exe");
  std::string path(buf, static_cast<size_t>(n));
  // Replaced on disk (an upgrade renames a new file over it): the link names the old inode,
  // with this suffix; the path is what we want, and now holds the new binary.
  if (path.size() > kDeleted.size() &&
      path.compare(path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
    path.resize(path.size() - kDeleted.size());
  }
  if (::access(path.c_str(), X_OK) != 0) return Errno(path);
  return path;
}

Result<std::vector<uint32_t>> ParseStateVersions(const std::string& binary,
                                                 const std::string& printed) {
  std::vector<uint32_t> versions;
  const char* p = printed.c_str();
  while (true) {
    while (*p == ' ' || *p == '\n') ++p;
    if (*p == '\0') break;
    if (*p < '0' || *p > '9') break;  // strtoul would take a sign
    char* end = nullptr;
    errno = 0;
    unsigned long v = std::strtoul(p, &end, 10);
    if (errno != 0 || v > UINT32_MAX || (*end != '\0' && *end != ' ' && *end != '\n')) break;
    versions.push_back(static_cast<uint32_t>(v));
    p = end;
  }
  if (*p != '\0' || versions.empty()) {
    return Status(ErrorCode::kSpawnError,
                  binary + " --state-version printed '" + printed + "', not state versions");
  }
  return versions;
}

namespace {

// One run of `BINARY --state-version`: its output is read as the loop sees it, its exit comes
// from Supervisor::ReapChildren, a timer kills it when it takes too long. Held by the loop's
// callbacks and the supervisor's watch, none of them beyond the child's exit.
struct Probe {
  static constexpr size_t kMaxPrinted = 256;  // more is not a list of versions anyway

  explicit Probe(EventLoop& l) : loop(l) {}
  EventLoop& loop;
  std::string binary;
  pid_t pid = 0;
  UniqueFd out;
  std::string printed;
  EventLoop::TimerId timer = 0;
  std::function<void(Result<std::vector<uint32_t>>)> done;

  // Reads what is in the pipe now; stops watching it at its end.
  void Drain() {
    char buf[64];
    while (out) {
      ssize_t n = read(out.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        printed.append(buf, std::min(static_cast<size_t>(n), kMaxPrinted - printed.size()));
        if (printed.size() < kMaxPrinted) continue;
      } else if (n < 0 && errno == EAGAIN) {
        return;
      }
      StopReading();  // its end, an error, or too much
    }
  }
  void StopReading() {
    if (!out) return;
    loop.Remove(out.get());
    out.reset();
  }
  void Finish(Result<std::vector<uint32_t>> result) {
    if (!done) return;
    loop.CancelTimer(timer);
    StopReading();
    auto callback = std::move(done);
    done = nullptr;
    callback(std::move(result));
  }
  void OnExit(core::ExitStatus status) {
    if (!done) return;  // timed out and killed
    Drain();            // everything it wrote is in the pipe now
    if (status.signaled || status.value != 0) {
      Finish(Status(ErrorCode::kSpawnError, binary + " --state-version failed (" +
                                                core::DescribeExit(status) +
                                                "): not a wardend that can take over"));
      return;
    }
    std::string text = printed;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    Finish(ParseStateVersions(binary, text));
  }
};

}  // namespace

void ProbeStateVersions(Supervisor& supervisor, const std::string& binary,
                        std::chrono::milliseconds timeout,
                        std::function<void(Result<std::vector<uint32_t>>)> done) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return done(Errno("pipe"));
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  if (fcntl(read_end.get(), F_SETFL, O_NONBLOCK) != 0) return done(Errno("pipe"));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string flag = "--state-version";
  char* argv[] = {const_cast<char*>(binary.c_str()), flag.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, binary.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  write_end.reset();
  if (rc != 0) return done(Status(ErrorCode::kIo, binary + ": " + std::strerror(rc)));

  EventLoop& loop = supervisor.loop();
  auto probe = std::make_shared<Probe>(loop);
  probe->binary = binary;
  probe->pid = pid;
  probe->out = std::move(read_end);
  probe->done = std::move(done);
  // Its exit is ours, not an orphan's: the status says whether it answered.
  supervisor.WatchChild(pid, [probe](core::ExitStatus status) { probe->OnExit(status); });
  Status watched = loop.Add(probe->out.get(), EPOLLIN, EventLoop::kPriorityIo,
                            [probe](uint32_t) { probe->Drain(); });
  if (!watched.ok()) probe->out.reset();  // then it is read once it has exited
  probe->timer = loop.AddTimer(EventLoop::Now() + timeout, [probe, timeout] {
    kill(probe->pid, SIGKILL);  // reaped as usual; OnExit then finds it finished
    probe->Finish(Status(ErrorCode::kTimeout, probe->binary +
                                                  " --state-version did not answer within " +
                                                  std::to_string(timeout.count() / 1000) + " s"));
  });
}

Status AcceptStateVersions(const std::string& binary, const std::vector<uint32_t>& versions) {
  if (std::find(versions.begin(), versions.end(), kStateVersion) != versions.end()) {
    return Status::Ok();
  }
  std::string list;
  for (uint32_t v : versions) list += (list.empty() ? "" : " ") + std::to_string(v);
  return Status(ErrorCode::kInvalidArgument,
                binary + " reads state version" + (versions.size() == 1 ? " " : "s ") + list +
                    ", this wardend writes version " + std::to_string(kStateVersion) +
                    ": it cannot take over (stop and start wardend instead)");
}

namespace {

// The checks that do not take long; made again once the probe has answered, since the loop went
// on meanwhile.
Status CheckNow(Supervisor& supervisor) {
  if (supervisor.shutting_down()) {
    return Status(ErrorCode::kShuttingDown, "wardend is shutting down");
  }
  if (size_t removing = supervisor.removing_count(); removing > 0) {
    // The new image would not know them: they would run on unsupervised.
    return Status(ErrorCode::kBusy, std::to_string(removing) +
                                        " process(es) removed by an update are still stopping; "
                                        "try again once they are gone");
  }
  if (size_t queued = supervisor.queued_stop_count(); queued > 0) {
    return Status(ErrorCode::kBusy, "an update is still asking " + std::to_string(queued) +
                                        " process(es) to stop; try again once it has");
  }
  if (size_t held = supervisor.logs().HeldBytes(); held > 0) {
    return Status(ErrorCode::kBusy, "log files refuse writes (disk full?) and " +
                                        std::to_string(held) +
                                        " bytes of program output wait in memory: they would "
                                        "be lost; try again once the logs are written");
  }
  return Status::Ok();
}

}  // namespace

void CheckReexec(Supervisor& supervisor, std::function<void(Result<std::string>)> done) {
  if (Status s = CheckNow(supervisor); !s.ok()) return done(s);
  Result<std::string> binary = OwnBinary();
  if (!binary.ok()) return done(binary.status());
  ProbeStateVersions(supervisor, *binary, kProbeTimeout,
                     [&supervisor, path = *binary, done](Result<std::vector<uint32_t>> versions) {
                       if (!versions.ok()) return done(versions.status());
                       if (Status s = AcceptStateVersions(path, *versions); !s.ok()) return done(s);
                       if (Status s = CheckNow(supervisor); !s.ok()) return done(s);
                       done(path);
                     });
}

Status ExecWithState(const std::string& binary, const DaemonState& in) {
  DaemonState state = in;
  state.saved_at_ns = MonotonicNs();
  std::vector<uint8_t> bytes = EncodeState(state);

  UniqueFd memfd(memfd_create("wardend-state", 0));  // no MFD_CLOEXEC: the new image reads it
  if (!memfd) return Errno("memfd_create");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(memfd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("writing the state");
    done += static_cast<size_t>(n);
  }
  if (lseek(memfd.get(), 0, SEEK_SET) != 0) return Errno("lseek");

  std::vector<int> kept = {state.listen_fd};
  for (const SavedPipe& p : state.pipes) kept.push_back(p.fd);
  for (const SavedProcess& p : state.processes) {
    if (p.readiness_fd >= 0) kept.push_back(p.readiness_fd);
  }
  std::vector<int> cleared;
  for (int fd : kept) {
    if (!SetCloexec(fd, false)) {
      Status failed = Errno("fd " + std::to_string(fd));
      for (int c : cleared) SetCloexec(c, true);
      return failed;
    }
    cleared.push_back(fd);
  }

  const std::string state_fd = std::to_string(memfd.get());
  const std::string listen_fd = std::to_string(state.listen_fd);
  std::vector<std::string> args = {binary, "--restore-from", state_fd, "--listen-fd", listen_fd,
                                   "-c",   state.config_path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  spdlog::info("re-executing {} ({} processes, {} log pipes, {} bytes of state)", binary,
               state.processes.size(), state.pipes.size(), bytes.size());
  spdlog::default_logger()->flush();
  os::RestoreFdLimit();  // the new image raises it again, learning what programs get
  execve(binary.c_str(), argv.data(), environ);

  Status failed = Errno("execve " + binary);
  os::RaiseFdLimit();
  for (int c : cleared) SetCloexec(c, true);
  return failed;
}

Result<DaemonState> ReadStateFd(int fd) {
  UniqueFd owned(fd);
  struct stat st {};
  if (fstat(fd, &st) != 0) return Errno("state fd " + std::to_string(fd));
  std::vector<uint8_t> bytes;
  bytes.reserve(static_cast<size_t>(st.st_size > 0 ? st.st_size : 0));
  uint8_t buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("reading the state");
    if (n == 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
    if (bytes.size() > (64u << 20)) return Status(ErrorCode::kTooLarge, "state too large");
  }
  return DecodeState(bytes);
}

DaemonState RecoverWithoutState(const Supervisor& supervisor, int listen_fd,
                                const std::string& recovered_log) {
  DaemonState state;
  state.config_path = supervisor.config().path;
  state.listen_fd = listen_fd;
  const auto now = std::chrono::steady_clock::now();
  for (int pid : os::ListChildren(0, 1)) {
    auto names = ReadEnvironNames(pid);
    auto stat = os::ReadProcStat(pid);
    if (!names || !stat || stat->state == 'Z') continue;
    config::ProcessName name{names->first, names->second};
    SavedProcess p;
    p.full_name = name.FullName();
    p.machine.state = core::State::kRunning;
    p.machine.pid = pid;
    p.machine.started_at = now;
    p.machine.running_since = now;
    p.last_pid = pid;
    p.sessions.push_back(stat->session);
    state.processes.push_back(std::move(p));
  }
  // Pipes among the open fds (above stdio): the read ends of log pipes, most likely. Their
  // programs would block on a full pipe if nobody read them.
  std::set<int> skip = {listen_fd};
  if (DIR* dir = opendir("/proc/self/fd")) {
    std::vector<int> fds;
    while (dirent* e = readdir(dir)) {
      int fd = std::atoi(e->d_name);
      if (fd > 2 && fd != dirfd(dir)) fds.push_back(fd);
    }
    closedir(dir);
    for (int fd : fds) {
      struct stat st {};
      int flags = fcntl(fd, F_GETFD);
      // Only what the exec kept (no FD_CLOEXEC) and is a pipe's read end.
      if (skip.count(fd) || flags < 0 || (flags & FD_CLOEXEC) || fstat(fd, &st) != 0 ||
          !S_ISFIFO(st.st_mode) || (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY) {
        continue;
      }
      SavedPipe pipe;
      pipe.fd = fd;
      pipe.label = "recovered output (fd " + std::to_string(fd) + ")";
      pipe.path = recovered_log;
      state.pipes.push_back(std::move(pipe));
    }
  }
  return state;
}

void ServeReexec(ControlServer& server, Supervisor& supervisor, SystemdNotifier& notifier) {
  auto binary = std::make_shared<std::string>();
  server.set_reexec(
      [&supervisor, binary](std::function<void(Status)> reply) {
        CheckReexec(supervisor, [binary, reply](Result<std::string> checked) {
          if (checked.ok()) *binary = *checked;
          reply(checked.status());
        });
      },
      [&server, &supervisor, &notifier, binary] {
        DaemonState state;
        supervisor.SaveState(&state);
        state.log_level = static_cast<int32_t>(spdlog::get_level());
        state.listen_fd = server.listen_fd();
        state.socket_path = server.path();
        state.socket_bound = server.bound();
        state.socket_activated = server.socket_activated();
        notifier.Reloading();
        notifier.FlushBlocking(std::chrono::milliseconds(200));  // the exec would lose it
        Status failed = ExecWithState(*binary, state);
        spdlog::error("re-execution failed, this wardend goes on: {}", failed.message());
        notifier.Ready();
        notifier.Status(supervisor.Summary());
      });
}

void TakeOver(std::optional<DaemonState> state, const std::string& state_error, int listen_fd,
              Supervisor& supervisor, ControlServer& server) {
  if (!state) {
    spdlog::critical(
        "re-execution: the saved state cannot be read ({}); recovering what can be found "
        "without it: the control socket, children named by their environment, open pipes",
        state_error);
    state = RecoverWithoutState(supervisor, listen_fd,
                                supervisor.config().warden.log_dir + "/wardend-recovered.log");
    state->socket_path = supervisor.config().warden.socket;
    state->socket_bound = true;
  }
  Status adopted = state->listen_fd >= 0
                       ? server.Adopt(UniqueFd(state->listen_fd), state->socket_path,
                                      state->socket_bound, state->socket_activated)
                       : Status(ErrorCode::kIo, "no control socket was kept");
  if (!adopted.ok()) {
    spdlog::critical("re-execution: {}; binding the control socket again", adopted.message());
    if (Status s = server.Listen(supervisor.config().warden); !s.ok()) {
      spdlog::critical("re-execution: no control socket: {}", s.message());
    }
  }
  for (const std::string& problem : supervisor.RestoreState(*state)) {
    spdlog::error("re-execution: {}", problem);
  }
}

}  // namespace warden
