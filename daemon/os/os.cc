#include "daemon/os/os.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>  // ASAN_UNPOISON_MEMORY_REGION: a no-op without ASan
#endif
#ifndef ASAN_UNPOISON_MEMORY_REGION
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#endif
// The child runs on its own stack, which ASan does not know: left instrumented, every call to
// a [[noreturn]] function there makes ASan warn "ignoring requested __asan_handle_no_return"
// on wardend's stderr and leaves poisoned redzones behind. The child code is not instrumented.
#define WARDEN_CHILD_CODE __attribute__((no_sanitize_address))

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "base/signals.h"
#include "base/unique_fd.h"

namespace warden::os {

std::string SearchPath(const std::string& name, const std::string& path_var, int* error) {
  *error = ENOENT;
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return name;
  int last_error = ENOENT;
  std::string_view rest = path_var.empty() ? std::string_view("/usr/local/bin:/usr/bin:/bin")
                                           : std::string_view(path_var);
  while (true) {
    size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    std::string candidate = dir.empty() ? name : std::string(dir) + "/" + name;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
      last_error = EACCES;
    }
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  *error = last_error;
  return "";
}

bool SendSignal(int pid, int signal, bool whole_group) {
  if (pid <= 0) return false;  // never kill(0) or kill(-1)
  return kill(whole_group ? -pid : pid, signal) == 0;
}

bool HasChildren() {
  siginfo_t info{};
  return waitid(P_ALL, 0, &info, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT | __WALL) ==
             0 ||
         errno != ECHILD;
}

namespace {

Reaped ReapedOf(pid_t pid, int status) {
  Reaped r;
  r.pid = pid;
  if (WIFSIGNALED(status)) {
    r.status = {true, WTERMSIG(status)};
  } else {
    r.status = {false, WEXITSTATUS(status)};
  }
  return r;
}

}  // namespace

std::vector<Reaped> ReapAll(size_t max, const std::vector<int>& likely, bool any) {
  std::vector<Reaped> out;
  // The likely ones by pid first. One that has not exited (0) or is no child (ECHILD: reaped
  // already) is passed over.
  for (size_t i = 0; i < likely.size() && out.size() < max;) {
    int status = 0;
    pid_t pid = likely[i] > 0 ? waitpid(likely[i], &status, WNOHANG) : 0;
    if (pid < 0 && errno == EINTR) continue;
    ++i;
    if (pid > 0) out.push_back(ReapedOf(pid, status));
  }
  while (any && out.size() < max) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      if (pid < 0 && errno == EINTR) continue;
      break;
    }
    out.push_back(ReapedOf(pid, status));
  }
  return out;
}

namespace {

// The next space-separated field of /proc/PID/stat as a number (negative ones too: tty, nice).
bool NextField(std::string_view* text, long long* out) {
  size_t i = 0;
  while (i < text->size() && (*text)[i] == ' ') ++i;
  bool negative = i < text->size() && (*text)[i] == '-';
  if (negative) ++i;
  const size_t digits = i;
  // Saturated: rsslim and the addresses after it can be above LLONG_MAX.
  constexpr unsigned long long kMax = static_cast<unsigned long long>(LLONG_MAX);
  unsigned long long value = 0;
  while (i < text->size() && (*text)[i] >= '0' && (*text)[i] <= '9') {
    const auto digit = static_cast<unsigned long long>((*text)[i] - '0');
    value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
    ++i;
  }
  if (i == digits) return false;
  const auto signed_value = static_cast<long long>(value);
  *out = negative ? -signed_value : signed_value;
  text->remove_prefix(i);
  return true;
}

std::optional<std::string> ReadSmallFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  char buf[1024];
  ssize_t n;
  do {
    n = read(fd.get(), buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

std::optional<ProcStat> ParseProcStat(int pid, std::string_view text) {
  // "pid (comm) S ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  //  cutime cstime priority nice threads itreal starttime vsize rss ..." ; comm may hold ')'.
  size_t close = text.rfind(')');
  if (close == std::string_view::npos || close + 2 >= text.size()) return std::nullopt;
  std::string_view rest = text.substr(close + 2);
  ProcStat ps;
  ps.pid = pid;
  ps.state = rest[0];
  rest.remove_prefix(1);
  // Fields 4..24, numbered as proc(5) does; the ones status needs are kept.
  long long field[39] = {};
  int parsed = 3;
  while (parsed < 38 && NextField(&rest, &field[parsed + 1])) ++parsed;
  if (parsed < 6) return std::nullopt;  // ppid, pgrp and session at least
  ps.ppid = static_cast<int>(field[4]);
  ps.pgrp = static_cast<int>(field[5]);
  ps.session = static_cast<int>(field[6]);
  ps.cpu_ticks = static_cast<uint64_t>(std::max(0LL, field[14]) + std::max(0LL, field[15]));
  if (parsed >= 20) ps.threads = static_cast<int>(field[20]);
  ps.start_ticks = static_cast<uint64_t>(std::max(0LL, field[22]));
  ps.rss_pages = static_cast<uint64_t>(std::max(0LL, field[24]));
  ps.thread = parsed >= 38 && field[38] == -1;
  return ps;
}

std::optional<ProcStat> ReadProcStat(int pid) {
  auto text = ReadSmallFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  return ParseProcStat(pid, *text);
}

UniqueFd OpenProcStat(int pid) {
  return UniqueFd(open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC));
}

std::optional<ProcStat> ReadProcStat(int pid, int stat_fd) {
  char buf[1024];
  ssize_t n;
  do {
    n = pread(stat_fd, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;  // ESRCH once the process is reaped
  return ParseProcStat(pid, std::string_view(buf, static_cast<size_t>(n)));
}

std::vector<int> ListChildren(int pid, int threads) {
  std::vector<int> out;
  auto read_children = [&out](const std::string& path) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return;
    // One read for a thousand children: each read(2) of this file walks the child list anew.
    std::string text;
    char buf[65536];
    for (;;) {
      ssize_t n = read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    const char* p = text.c_str();
    for (;;) {
      char* end = nullptr;
      long child = std::strtol(p, &end, 10);
      if (end == p) break;
      if (child > 0 && child <= INT_MAX) out.push_back(static_cast<int>(child));
      p = end;
    }
  };
  const std::string base = pid == 0 ? "/proc/self" : "/proc/" + std::to_string(pid);
  if (pid != 0 && threads <= 1) {
    read_children(base + "/task/" + std::to_string(pid) + "/children");
    return out;
  }
  DIR* dir = opendir((base + "/task").c_str());
  if (dir == nullptr) return out;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
    read_children(base + "/task/" + entry->d_name + "/children");
  }
  closedir(dir);
  return out;
}

std::vector<ProcStat> ScanSubtree(int root, const std::function<bool(int pid)>& skip,
                                  const StatReader& read) {
  std::vector<ProcStat> out;
  std::unordered_set<int> seen;  // a pid reused during the walk must not loop it
  const bool self = root == static_cast<int>(getpid());
  std::vector<int> level = ListChildren(self ? 0 : root, self ? 2 : 1);
  while (!level.empty()) {
    std::vector<int> next;
    for (int pid : level) {
      if ((skip && skip(pid)) || !seen.insert(pid).second) continue;
      auto ps = read ? read(pid) : ReadProcStat(pid);
      if (!ps) continue;  // gone since its parent listed it
      if (ps->state != 'Z' && ps->state != 'X') {
        for (int child : ListChildren(pid, ps->threads)) next.push_back(child);
      }
      out.push_back(*ps);
    }
    level = std::move(next);
  }
  return out;
}

std::vector<ProcStat> ScanWhole(int root, size_t expected, const StatReader& read) {
  std::vector<int> pids;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return ScanSubtree(root, {}, read);
  while (dirent* entry = readdir(dir)) {
    const char* name = entry->d_name;
    if (name[0] < '1' || name[0] > '9') continue;
    char* end = nullptr;
    long pid = std::strtol(name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid > INT_MAX) continue;
    pids.push_back(static_cast<int>(pid));
  }
  closedir(dir);
  if (pids.size() > 2 * expected) return ScanSubtree(root, {}, read);
  std::vector<ProcStat> out;
  out.reserve(pids.size());
  for (int pid : pids) {
    if (auto ps = read ? read(pid) : ReadProcStat(pid)) out.push_back(*ps);
  }
  return out;
}

bool ParseLoadavgPids(std::string_view loadavg, PidCursor* out) {
  // "0.20 0.18 0.12 1/80 11206": the fourth field is running/tasks, the fifth the last pid.
  std::string text(loadavg);
  double load[3];
  unsigned long running = 0, tasks = 0;
  long last = 0;
  if (std::sscanf(text.c_str(), "%lf %lf %lf %lu/%lu %ld", &load[0], &load[1], &load[2], &running,
                  &tasks, &last) != 6 ||
      last < 0 || last > INT_MAX) {
    return false;
  }
  out->tasks = tasks;
  out->last_pid = static_cast<int>(last);
  return true;
}

bool ParseStatForks(std::string_view stat, PidCursor* out) {
  for (size_t at = 0; at < stat.size();) {
    size_t end = stat.find('\n', at);
    if (end == std::string_view::npos) end = stat.size();
    std::string_view line = stat.substr(at, end - at);
    if (line.rfind("processes ", 0) == 0) {
      std::string_view rest = line.substr(10);
      long long forks = 0;
      if (!NextField(&rest, &forks) || forks < 0) return false;
      out->forks = static_cast<uint64_t>(forks);
      return true;
    }
    at = end + 1;
  }
  return false;
}

PidCursor ReadPidCursor() {
  PidCursor out;
  static const int pid_max = [] {
    auto text = ReadSmallFile("/proc/sys/kernel/pid_max");
    return text ? std::atoi(text->c_str()) : 0;
  }();
  out.pid_max = pid_max;
  auto loadavg = ReadSmallFile("/proc/loadavg");
  // /proc/stat has a line per CPU and one number per interrupt before `processes`: read whole.
  UniqueFd stat(open("/proc/stat", O_RDONLY | O_CLOEXEC));
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = stat ? read(stat.get(), buf, sizeof buf) : -1;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  if (!loadavg || !ParseLoadavgPids(*loadavg, &out) || !ParseStatForks(text, &out)) {
    return PidCursor{};
  }
  return out;
}

std::string ReadProcEnviron(int pid, size_t max_bytes) {
  UniqueFd fd(open(("/proc/" + std::to_string(pid) + "/environ").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return "";
  std::string out;
  char buf[4096];
  while (out.size() < max_bytes) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  if (out.size() > max_bytes) out.resize(max_bytes);
  return out;
}

bool SignalProcess(const ProcStat& process, int signal) {
  if (process.pid <= 0) return false;
  // Through a pidfd, after checking the pid still names the process that was scanned (same
  // start time), so a pid reused since the scan is never signalled.
  const long pidfd = syscall(SYS_pidfd_open, process.pid, 0);
  if (pidfd < 0) {
    if (errno != ENOSYS) return false;  // ESRCH: gone already
    auto now = ReadProcStat(process.pid);
    if (!now || now->start_ticks != process.start_ticks) return false;
    return kill(process.pid, signal) == 0;
  }
  UniqueFd holder(static_cast<int>(pidfd));
  auto now = ReadProcStat(process.pid);
  if (!now || now->start_ticks != process.start_ticks) {
    errno = ESRCH;
    return false;
  }
  return syscall(SYS_pidfd_send_signal, holder.get(), signal, nullptr, 0) == 0;
}

std::vector<ProcStat> WaitGone(const std::vector<ProcStat>& processes, int timeout_ms) {
  auto alive = [](const ProcStat& p) {
    auto now = ReadProcStat(p.pid);
    return now && now->start_ticks == p.start_ticks && now->state != 'Z' && now->state != 'X';
  };
  std::vector<UniqueFd> fds;
  std::vector<ProcStat> watched;
  bool pidfds = true;
  for (const ProcStat& p : processes) {
    const long fd = syscall(SYS_pidfd_open, p.pid, 0);
    if (fd < 0) {
      if (errno == ENOSYS) pidfds = false;
      if (errno != ESRCH) watched.push_back(p);
      continue;
    }
    UniqueFd holder(static_cast<int>(fd));
    if (!alive(p)) continue;  // the pid names another process now, or a zombie
    fds.push_back(std::move(holder));
    watched.push_back(p);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    std::erase_if(watched, [&](const ProcStat& p) { return !alive(p); });
    if (watched.empty()) return watched;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return watched;
    if (!pidfds || fds.empty()) {
      ::poll(nullptr, 0, static_cast<int>(std::min<long>(left, 50)));
      continue;
    }
    std::vector<pollfd> polled;
    for (const UniqueFd& fd : fds) polled.push_back({fd.get(), POLLIN, 0});
    (void)::poll(polled.data(), polled.size(), static_cast<int>(left));
    std::vector<UniqueFd> open;
    for (size_t i = 0; i < polled.size(); ++i) {
      if ((polled[i].revents & POLLIN) == 0) open.push_back(std::move(fds[i]));
    }
    fds = std::move(open);
  }
}

std::optional<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string out;
  char buf[8192];
  while (true) {
    const ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

namespace {

Status WriteAll(int fd, std::string_view text, const std::string& path) {
  while (!text.empty()) {
    const ssize_t n = write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status(ErrorCode::kInternal, "write " + path + ": " + strerror(errno));
    text.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

UniqueFd OpenAppend(const std::string& path) {
  return UniqueFd(open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
}

Status AppendTo(int fd, const std::string& path, std::string_view text) {
  return WriteAll(fd, text, path);
}

Status ReplaceFile(const std::string& path, std::string_view text) {
  const std::string temporary = path + ".new";
  UniqueFd fd(open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return Status(ErrorCode::kInternal, "open " + temporary + ": " + strerror(errno));
  if (Status written = WriteAll(fd.get(), text, temporary); !written.ok()) {
    unlink(temporary.c_str());
    return written;
  }
  fd.reset();
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    unlink(temporary.c_str());
    return Status(ErrorCode::kInternal, "rename " + temporary + ": " + strerror(error));
  }
  return Status::Ok();
}

void RemoveFile(const std::string& path) { unlink(path.c_str()); }

uint64_t TicksSinceBoot() {
  timespec now{};
  clock_gettime(CLOCK_BOOTTIME, &now);
  const auto ticks = static_cast<uint64_t>(ClockTicksPerSecond());
  return static_cast<uint64_t>(now.tv_sec) * ticks +
         static_cast<uint64_t>(now.tv_nsec) * ticks / 1000000000u;
}

std::optional<uint64_t> ParseOomKillCount(std::string_view vmstat) {
  size_t start = 0;
  while (start < vmstat.size()) {
    const size_t end = std::min(vmstat.find('\n', start), vmstat.size());
    std::string_view line = vmstat.substr(start, end - start);
    if (line.starts_with("oom_kill ")) {
      line.remove_prefix(9);
      uint64_t value = 0;
      const auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), value);
      if (ec == std::errc() && ptr == line.data() + line.size()) return value;
      return std::nullopt;
    }
    start = end + 1;
  }
  return std::nullopt;
}

std::optional<uint64_t> ReadOomKillCount() {
  // Read only after a SIGKILL exit wardend did not cause: rare, and ~5 KiB of text.
  UniqueFd fd(::open("/proc/vmstat", O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string text;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return ParseOomKillCount(text);
}

long ClockTicksPerSecond() {
  static const long ticks = sysconf(_SC_CLK_TCK);
  return ticks > 0 ? ticks : 100;
}

long PageSize() {
  static const long size = sysconf(_SC_PAGESIZE);
  return size > 0 ? size : 4096;
}

Result<UserInfo> LookupUser(const std::string& user) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  char* end = nullptr;
  unsigned long numeric = std::strtoul(user.c_str(), &end, 10);
  int rc = (!user.empty() && *end == '\0')
               ? getpwuid_r(static_cast<uid_t>(numeric), &pw, buf.data(), buf.size(), &found)
               : getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (found == nullptr) {
    // 0, ENOENT, ESRCH, EBADF and EPERM all mean "no such name" for these calls (getpwnam(3)).
    const bool missing = rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM;
    return Status(ErrorCode::kSpawnError, missing ? "user " + user + ": no such user"
                                                  : "user " + user + ": " + std::strerror(rc));
  }
  UserInfo info;
  info.uid = pw.pw_uid;
  info.gid = pw.pw_gid;
  info.name = pw.pw_name;
  info.home = pw.pw_dir;
  int count = 64;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  while (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count) + 64);
    count = static_cast<int>(groups.size());
  }
  groups.resize(static_cast<size_t>(count));
  info.groups = std::move(groups);
  return info;
}

Status MakeDirs(const std::string& dir) {
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    std::string partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status(ErrorCode::kIo, "cannot create " + partial + ": " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

std::string SignalName(int signal) {
  if (std::string_view name = SignalNameOf(signal); !name.empty()) return std::string(name);
  return std::to_string(signal);
}

std::optional<int> SignalFromName(const std::string& name) {
  std::string_view n = name;
  if (n.size() > 3 && (n.substr(0, 3) == "SIG" || n.substr(0, 3) == "sig")) n.remove_prefix(3);
  if (n.empty()) return std::nullopt;
  char* end = nullptr;
  std::string s(n);
  long v = std::strtol(s.c_str(), &end, 10);
  if (*end == '\0') {
    if (v > 0 && v < NSIG) return static_cast<int>(v);
    return std::nullopt;
  }
  for (const SignalEntry& entry : kSignalTable) {
    if (entry.name.size() == s.size() && strncasecmp(entry.name.data(), s.c_str(), s.size()) == 0) {
      return entry.number;
    }
  }
  return std::nullopt;
}

namespace {

class Kernel final : public System {
 public:
  core::SpawnOutcome Spawn(const SpawnSpec& spec) override { return os::Spawn(spec); }
  bool SendSignal(int pid, int signal, bool whole_group) override {
    return os::SendSignal(pid, signal, whole_group);
  }
  bool SignalProcess(const ProcStat& process, int signal) override {
    return os::SignalProcess(process, signal);
  }
  std::vector<Reaped> ReapAll(size_t max, const std::vector<int>& likely, bool any) override {
    return os::ReapAll(max, likely, any);
  }
  bool HasChildren() override { return os::HasChildren(); }
  std::optional<ProcStat> ReadProcStat(int pid) override { return os::ReadProcStat(pid); }
  UniqueFd OpenProcStat(int pid) override { return os::OpenProcStat(pid); }
  std::optional<ProcStat> ReadOpenProcStat(int pid, int stat_fd) override {
    return os::ReadProcStat(pid, stat_fd);
  }
  std::vector<ProcStat> ScanSubtree(int root, const std::function<bool(int pid)>& skip,
                                    const StatReader& read) override {
    return os::ScanSubtree(root, skip, read);
  }
  std::vector<ProcStat> ScanWhole(int root, size_t expected, const StatReader& read) override {
    return os::ScanWhole(root, expected, read);
  }
  std::string ReadProcEnviron(int pid, size_t max_bytes) override {
    return os::ReadProcEnviron(pid, max_bytes);
  }
  PidCursor ReadPidCursor() override { return os::ReadPidCursor(); }
  int SelfPid() override { return static_cast<int>(getpid()); }
  std::optional<uint64_t> OomKillCount() override { return os::ReadOomKillCount(); }
  uint64_t RandomSeed() override { return std::random_device{}(); }
  uint64_t TicksSinceBoot() override { return os::TicksSinceBoot(); }
  std::vector<ProcStat> WaitGone(const std::vector<ProcStat>& processes, int timeout_ms) override {
    return os::WaitGone(processes, timeout_ms);
  }
  std::optional<std::string> ReadFile(const std::string& path) override {
    return os::ReadFile(path);
  }
  UniqueFd OpenAppend(const std::string& path) override { return os::OpenAppend(path); }
  Status AppendTo(int fd, const std::string& path, std::string_view text) override {
    return os::AppendTo(fd, path, text);
  }
  Status ReplaceFile(const std::string& path, std::string_view text) override {
    return os::ReplaceFile(path, text);
  }
  void RemoveFile(const std::string& path) override { os::RemoveFile(path); }
};

}  // namespace

System& RealSystem() {
  static Kernel kernel;
  return kernel;
}

}  // namespace warden::os
