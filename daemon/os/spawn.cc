// os::Spawn: clone(CLONE_VM | CLONE_VFORK) into a child that sets itself up (spawn_setup.h) and
// execs, reporting a failure and its stage through a pipe; and wardend's own fd limit.
#include "daemon/os/os.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
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
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string_view>
#include <unordered_set>
#include <utility>

#include <spdlog/spdlog.h>

#include "base/signals.h"
#include "base/unique_fd.h"

namespace warden::os {
namespace {

// Room for a pid's digits (pid_max is at most 2^22) and the terminating NUL.
constexpr size_t kPidDigits = 12;

// In the child: the last entry of `envp` is NAME=<kPidDigits NULs> (Spawn put it there); writes
// the child's pid after the '='. Async-signal-safe: no allocation, getpid only.
WARDEN_CHILD_CODE void FillOwnPid(char* const* envp, size_t name_length) {
  char* const* last = envp;
  while (last[0] != nullptr && last[1] != nullptr) ++last;
  if (*last == nullptr) return;
  char digits[kPidDigits];
  size_t n = 0;
  for (unsigned pid = static_cast<unsigned>(getpid()); n == 0 || pid > 0; pid /= 10) {
    digits[n++] = static_cast<char>('0' + pid % 10);
  }
  char* out = *last + name_length + 1;
  for (size_t i = 0; i < n && i + 1 < kPidDigits; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\0';
}

// Steps the child takes between fork and exec; a failure names one of them.
enum ChildStage : int32_t {
  kStageSignals = 1,
  kStageSetsid,
  kStageStdio,
  kStageSetgroups,
  kStageSetgid,
  kStageSetuid,
  kStageChdir,
  kStageExec,
  kStageReadyFd,
  kStageRlimit,
  kStageFdTable,
  kStageCgroup,
};

const char* StageName(int32_t stage) {
  switch (stage) {
    case kStageSignals:
      return "signals";
    case kStageSetsid:
      return "setsid";
    case kStageStdio:
      return "stdio";
    case kStageSetgroups:
      return "setgroups";
    case kStageSetgid:
      return "setgid";
    case kStageSetuid:
      return "setuid";
    case kStageChdir:
      return "chdir";
    case kStageExec:
      return "exec";
    case kStageReadyFd:
      return "readiness fd";
    case kStageRlimit:
      return "setrlimit";
    case kStageFdTable:
      return "fd table";
    case kStageCgroup:
      return "cgroup";
  }
  return "child";
}

struct ChildReport {
  int32_t stage;
  int32_t error_number;
};

// Runs in the child, which shares wardend's memory (CLONE_VM) until it execs or exits: raw
// system calls only, nothing allocated, nothing written but its own stack and `report`, and
// never a glibc call that acts on wardend's threads (setuid and friends broadcast to every
// thread of the caller, so they go through syscall(2)).
//
// `fds` are the stdin, stdout, stderr and readiness sources (-1: none). With `unshare_from` > 0
// the child starts out sharing wardend's fd table too (CLONE_FILES) and its first act is to
// take a private copy of the fds below unshare_from only (close_range's CLOSE_RANGE_UNSHARE):
// the sources are there (Spawn put them in its low slots), and the thousands of fds wardend
// may hold above are neither copied nor closed one by one.
[[noreturn]] WARDEN_CHILD_CODE void RunChild(const SpawnSpec& spec, char* const* argv,
                                             char* const* envp, volatile ChildReport* report,
                                             const int (&fds)[4], unsigned unshare_from,
                                             int cgroup_procs_fd, const sigset_t& to_default) {
  auto fail = [report](int32_t stage) WARDEN_CHILD_CODE {
    report->error_number = errno;
    report->stage = stage;
    _exit(127);
  };

  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&to_default, sig) == 1) sigaction(sig, &dfl, nullptr);
  }
  sigset_t empty;
  sigemptyset(&empty);
  if (sigprocmask(SIG_SETMASK, &empty, nullptr) != 0) fail(kStageSignals);
  // Into its cgroup first: before it can fork, so that
  // nothing it starts is ever outside. "0" is the writer itself.
  if (cgroup_procs_fd >= 0 && write(cgroup_procs_fd, "0", 1) != 1) fail(kStageCgroup);
  if (unshare_from > 0 && close_range(unshare_from, ~0U, CLOSE_RANGE_UNSHARE) != 0) {
    fail(kStageFdTable);
  }
  const int stdin_fd = fds[0], stdout_fd = fds[1], stderr_fd = fds[2], ready_source = fds[3];

  if (setsid() < 0) fail(kStageSetsid);

  // The readiness fd moves above every fd in play first, so that installing stdio cannot
  // clobber it and it cannot clobber a stdio source.
  int ready_fd = -1;
  if (ready_source >= 0) {
    int floor = spec.ready_fd_target;
    for (int fd : {stdin_fd, stdout_fd, stderr_fd}) {
      if (fd > floor) floor = fd;
    }
    ready_fd = fcntl(ready_source, F_DUPFD_CLOEXEC, floor + 1);
    if (ready_fd < 0) fail(kStageReadyFd);
  }

  int null_fd = -1;
  auto source = [&](int fd) {
    if (fd >= 0) return fd;
    if (null_fd < 0) null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    return null_fd;
  };
  const int sources[3] = {source(stdin_fd), source(stdout_fd), source(stderr_fd)};
  for (int target = 0; target < 3; ++target) {
    if (sources[target] < 0) fail(kStageStdio);
    if (dup2(sources[target], target) < 0) fail(kStageStdio);
  }
  // Keep nothing but 0, 1, 2 and the readiness fd.
  if (ready_fd >= 0) {
    if (dup2(ready_fd, spec.ready_fd_target) < 0) fail(kStageReadyFd);  // open across exec
    const auto target = static_cast<unsigned>(spec.ready_fd_target);
    if (target > 3) close_range(3, target - 1, 0);
    close_range(target + 1, ~0U, 0);
  } else {
    close_range(3, ~0U, 0);
  }

  if (spec.umask) umask(*spec.umask);
  // Limits and the OOM score are set while still privileged: raising a hard limit, or an OOM
  // score lower than wardend's own, needs root.
  for (const SpawnSpec::Limit& limit : spec.rlimits) {
    const rlimit value{limit.soft, limit.hard};
    if (setrlimit(static_cast<__rlimit_resource_t>(limit.resource), &value) != 0) {
      fail(kStageRlimit);
    }
  }
  if (spec.reset_oom_score_adj) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t ignored = write(fd, "0", 1);
      (void)ignored;
      close(fd);
    }
  }
  if (spec.uid || spec.change_group) {
    if (syscall(SYS_setgroups, spec.groups.size(), spec.groups.data()) != 0) {
      fail(kStageSetgroups);
    }
    if (syscall(SYS_setgid, spec.gid) != 0) fail(kStageSetgid);
  }
  if (spec.uid && syscall(SYS_setuid, *spec.uid) != 0) fail(kStageSetuid);
  if (!spec.directory.empty() && chdir(spec.directory.c_str()) != 0) fail(kStageChdir);

  if (!spec.own_pid_variable.empty()) FillOwnPid(envp, spec.own_pid_variable.size());
  execve(spec.path.c_str(), argv, envp);
  fail(kStageExec);
  _exit(127);  // not reached
}

struct ChildArgs {
  const SpawnSpec* spec;
  char* const* argv;
  char* const* envp;
  volatile ChildReport* report;
  int fds[4];                  // stdin, stdout, stderr, readiness sources
  unsigned unshare_from;       // 0: the child has a copy of the whole fd table already
  int cgroup_procs_fd;         // -1, or the cgroup.procs the child writes itself into
  const sigset_t* to_default;  // the signals whose disposition the child resets
};

WARDEN_CHILD_CODE int ChildMain(void* arg) {
  auto* args = static_cast<ChildArgs*>(arg);
  RunChild(*args->spec, args->argv, args->envp, args->report, args->fds, args->unshare_from,
           args->cgroup_procs_fd, *args->to_default);
}

#if defined(__x86_64__)
// clone3(2)'s arguments (linux/sched.h's struct clone_args, which cannot be included beside
// glibc's <sched.h>): the layout up to `cgroup` (CLONE_ARGS_SIZE_VER2) is fixed by the ABI.
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};
static_assert(sizeof(CloneArgs) == 88, "CLONE_ARGS_SIZE_VER2");
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;  // CLONE_INTO_CGROUP, Linux 5.7

// clone3 with the child on `args->stack`: glibc has no clone3 wrapper, and a child that
// returns from the system call on a stack of its own has no frame to return into, so the
// child's side is written here as glibc's clone does it: it calls fn(arg) on the new stack
// (rsp is its top, 16-byte aligned, as a call needs) and exits with what fn returns. rax is 0
// in the child; every other register is the parent's, which is how fn and arg get there.
// Returns the pid, or -errno.
long Clone3OnStack(CloneArgs* args, int (*fn)(void*), void* arg) {
  long result;
  register long fn_register asm("r12") = reinterpret_cast<long>(fn);
  register long arg_register asm("r13") = reinterpret_cast<long>(arg);
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"  // the outermost frame, for unwinders
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "mov %%eax, %%edi\n\t"
      "mov %[exit], %%eax\n\t"
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(result)
      : "0"(static_cast<long>(SYS_clone3)), "D"(args), "S"(sizeof(CloneArgs)), "r"(fn_register),
        "r"(arg_register), [exit] "i"(SYS_exit)
      : "rcx", "r11", "memory");
  return result;
}
#endif

// False once clone3 said it is not there (ENOSYS: before Linux 5.3, or a seccomp filter) or
// does not know CLONE_INTO_CGROUP (E2BIG, EINVAL: before 5.7): the child then writes itself
// into cgroup.procs.
bool g_clone_into_cgroup = true;

// The signals whose disposition is not SIG_DFL in wardend: a handler (which must not run in
// the child, whose memory is wardend's) or SIG_IGN (which exec keeps, and programs expect
// SIGPIPE and the rest at their default). The child resets these only, not all 64 with a
// system call each. Read by NoteSignalDispositions, or at the first spawn.
sigset_t g_to_default;
bool g_to_default_read = false;

// The child's stack: mapped once// The child's stack: mapped once, reused by every spawn (wardend
// spawns from one thread, and CLONE_VFORK holds that thread until the child is done with it).
constexpr size_t kChildStackSize = 256 * 1024;

void* ChildStackTop() {
  static void* top = []() -> void* {
    void* base = mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) return nullptr;
    return static_cast<char*>(base) + kChildStackSize;
  }();
  return top;
}

// Where the child reports a failure: a shared mapping (the child shares wardend's memory
// anyway, CLONE_VM). Mapped once.
volatile ChildReport* SharedReport() {
  static void* page = [] {
    void* p = mmap(nullptr, sizeof(ChildReport), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }();
  return static_cast<volatile ChildReport*>(page);
}

// Spawn's low fd slots: /dev/null until a spawn puts its sources there for the child to find
// below the slots' end; -1 when ReserveSpawnSlots was not called or failed.
int g_slots[4] = {-1, -1, -1, -1};
int g_null = -1;  // what a slot goes back to
unsigned g_slots_end = 0;

// Puts the sources into the slots; false (slots back to /dev/null) when a dup fails.
bool FillSlots(const int (&sources)[4]) {
  for (int i = 0; i < 4; ++i) {
    if (sources[i] < 0) continue;
    if (dup3(sources[i], g_slots[i], O_CLOEXEC) < 0) {
      for (int k = 0; k < 4; ++k) dup3(g_null, g_slots[k], O_CLOEXEC);
      return false;
    }
  }
  return true;
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

void NoteSignalDispositions() {
  sigemptyset(&g_to_default);
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction current {};
    if (sigaction(sig, nullptr, &current) != 0) continue;  // glibc's own: EINVAL
    if ((current.sa_flags & SA_SIGINFO) != 0 || current.sa_handler != SIG_DFL) {
      sigaddset(&g_to_default, sig);
    }
  }
  g_to_default_read = true;
}

void ReserveSpawnSlots() {
  if (g_slots_end > 0) return;
  int fds[5];
  for (int i = 0; i < 5; ++i) {
    fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fds[i] < 0) {
      for (int k = 0; k < i; ++k) close(fds[k]);
      return;
    }
  }
  int end = 0;
  for (int i = 0; i < 4; ++i) {
    g_slots[i] = fds[i];
    end = std::max(end, fds[i] + 1);
  }
  g_null = fds[4];
  g_slots_end = static_cast<unsigned>(end);
}

core::SpawnOutcome Spawn(const SpawnSpec& spec) {
  // Everything the child touches is allocated here, before the clone.
  std::vector<char*> argv = CStrings(spec.argv);
  std::vector<char*> envp = CStrings(spec.env);
  // NAME=<pid>: room for the digits now; the child writes them (FillOwnPid).
  std::string own_pid;
  if (!spec.own_pid_variable.empty()) {
    own_pid = spec.own_pid_variable + "=" + std::string(kPidDigits, '\0');
    envp.insert(envp.end() - 1, own_pid.data());
  }
  void* stack = ChildStackTop();
  if (stack == nullptr) return {0, core::SpawnError{"stack", ENOMEM}};
  // Under ASan the stack's shadow is shared too (CLONE_VM), and the last child never returned
  // from its frames (it exec'd or _exit'ed), so their redzones are still poisoned: the next
  // child's frames, laid out differently, would trip over them.
  ASAN_UNPOISON_MEMORY_REGION(static_cast<char*>(stack) - kChildStackSize, kChildStackSize);

  // Like posix_spawn: the child shares this memory and this thread waits until it has exec'd
  // or exited (CLONE_VFORK), so nothing is copied and a failure is reported through `report`.
  // Every signal is blocked meanwhile, so that no handler runs in the child before it has reset
  // them.
  volatile ChildReport* shared = SharedReport();
  if (shared == nullptr) return {0, core::SpawnError{"report", ENOMEM}};
  volatile ChildReport& report = *shared;
  report.stage = 0;
  report.error_number = 0;
  const int sources[4] = {spec.stdin_fd, spec.stdout_fd, spec.stderr_fd, spec.ready_fd};
  if (!g_to_default_read) NoteSignalDispositions();
  ChildArgs args{&spec, argv.data(), envp.data(), &report, {}, 0, -1, &g_to_default};
  // Into a cgroup: the child is born in it (clone3's CLONE_INTO_CGROUP), or, where the kernel
  // cannot, writes itself into cgroup.procs before anything else; either way before it can
  // fork, so nothing it starts is ever outside. Born in it is cheaper: a write into
  // cgroup.procs is a migration, which takes the cgroup threadgroup lock for writing and so
  // waits for an RCU grace period (0.5-1 ms of wall time a spawn, wardend blocked meanwhile),
  // and costs an open of cgroup.procs. clone3 runs the child on the same stack of its own as
  // clone does (Clone3OnStack), with CLONE_VM: a clone3 that copied wardend instead (no
  // CLONE_VM) cost 7.9 ms of wardend's CPU per spawn at 5000 programs (page tables).
  UniqueFd cgroup_procs;
  auto open_cgroup_procs = [&]() -> std::optional<core::SpawnError> {
    cgroup_procs.reset(openat(spec.cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC));
    if (!cgroup_procs) return core::SpawnError{"cgroup", errno};
    args.cgroup_procs_fd = cgroup_procs.get();
    return std::nullopt;
  };
#if defined(__x86_64__)
  const bool born_in_cgroup = spec.cgroup_fd >= 0 && g_clone_into_cgroup;
#else
  const bool born_in_cgroup = false;
#endif
  if (spec.cgroup_fd >= 0 && !born_in_cgroup) {
    if (auto error = open_cgroup_procs()) return {0, *error};
  }
  int flags = CLONE_VFORK | CLONE_VM | SIGCHLD;
  if (g_slots_end > 0 && FillSlots(sources)) {
    // The child shares the fd table and copies only what is below the slots' end.
    for (int i = 0; i < 4; ++i) args.fds[i] = sources[i] < 0 ? -1 : g_slots[i];
    args.unshare_from = g_slots_end;
    flags |= CLONE_FILES;
  } else {
    for (int i = 0; i < 4; ++i) args.fds[i] = sources[i];
  }
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  pid_t pid = -1;
  int clone_error = 0;
  bool cloned = false;
#if defined(__x86_64__)
  if (born_in_cgroup) {
    CloneArgs clone_args{};
    clone_args.flags = static_cast<uint64_t>(flags & ~CSIGNAL) | kCloneIntoCgroup;
    clone_args.exit_signal = SIGCHLD;
    clone_args.stack = reinterpret_cast<uint64_t>(static_cast<char*>(stack) - kChildStackSize);
    clone_args.stack_size = kChildStackSize;
    clone_args.cgroup = static_cast<uint64_t>(spec.cgroup_fd);
    const long result = Clone3OnStack(&clone_args, ChildMain, &args);
    if (result >= 0) {
      pid = static_cast<pid_t>(result);
      cloned = true;
    } else if (result == -ENOSYS || result == -E2BIG || result == -EINVAL) {
      g_clone_into_cgroup = false;
      spdlog::info("clone3 into a cgroup: {}: children write themselves into cgroup.procs",
                   strerror(static_cast<int>(-result)));
    }
  }
#endif
  // clone, or clone3 failed: the child writes itself into cgroup.procs, and an unusable cgroup
  // says "cgroup: ..." as it always did.
  std::optional<core::SpawnError> cgroup_error;
  if (!cloned) {
    if (born_in_cgroup) cgroup_error = open_cgroup_procs();
    if (!cgroup_error) {
      pid = clone(ChildMain, stack, flags, &args);
      clone_error = errno;
    }
  }
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (args.unshare_from > 0) {
    // The slots must not keep a pipe's write end open in wardend (its reader would never see
    // the end of the program's output).
    for (int i = 0; i < 4; ++i) {
      if (sources[i] >= 0) dup3(g_null, g_slots[i], O_CLOEXEC);
    }
  }
  if (cgroup_error) return {0, *cgroup_error};
  if (pid < 0) return {0, core::SpawnError{"fork", clone_error}};
  if (report.stage == 0) return {pid, std::nullopt};  // exec'd: the program runs

  // The child failed before exec and has exited: reap it here so the reaper never sees a pid
  // the state machine did not know about.
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // The stage names what failed; for exec and chdir, with what they were given, so that the
  // status says "exec /usr/bin/x: No such file or directory", not only "exec".
  std::string stage = StageName(report.stage);
  if (report.stage == kStageExec) stage += " " + spec.path;
  if (report.stage == kStageChdir) stage += " " + spec.directory;
  return {0, core::SpawnError{std::move(stage), report.error_number}};
}

namespace {
std::optional<rlimit> fd_limit_started_with;
}  // namespace

void RaiseFdLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const rlimit raised{limit.rlim_max, limit.rlim_max};
  if (setrlimit(RLIMIT_NOFILE, &raised) == 0) fd_limit_started_with = limit;
}

std::optional<rlimit> FdLimitForPrograms() { return fd_limit_started_with; }

void RestoreFdLimit() {
  if (fd_limit_started_with) (void)setrlimit(RLIMIT_NOFILE, &*fd_limit_started_with);
}

}  // namespace warden::os
