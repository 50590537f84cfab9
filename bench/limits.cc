// limits: what this machine can do at best, the reference column of bench/run's table.
//
//   limits spawn N [fork|async]  start N `/bin/sleep 3600` (own session, stdio on /dev/null):
//                                prints ms until the last one has exec'd, and this process's
//                                own CPU ms for it. posix_spawn (vfork semantics: it returns
//                                after the exec) unless `fork`, which forks and waits for the
//                                exec on a close-on-exec pipe, as a supervisor that reports exec
//                                errors does, or `async`, which forks them all without waiting
//                                and then waits for every exec at once (one close-on-exec pipe
//                                they all hold). Then kills and reaps them.
//   limits rtt REPLY_BYTES ITERS  a client sends 16 bytes over an AF_UNIX stream socket, a server
//                                process answers REPLY_BYTES; prints the median, min and max
//                                round trip in microseconds
//   limits splice BYTES MAX_BYTES DIR [PIPE_SIZE]
//                                a child writes BYTES into a pipe (64 KiB writes); this process
//                                moves them into DIR/out.log with splice(2), rotating at
//                                MAX_BYTES (out.log -> out.log.1 -> ... .3); prints MB/s and the
//                                copier's CPU seconds
//   limits copy BYTES MAX_BYTES DIR [PIPE_SIZE]   the same with read(2)/write(2) of 128 KiB
//   limits procstat N ITERS       the least a live status of N processes reads: N `sleep 3600`,
//                                each one's /proc/PID/stat kept open; then ITERS times one
//                                listing of /proc (getdents, as for finding every descendant)
//                                and one pread of each kept file; prints the median, min and
//                                max of one such pass in milliseconds
//   limits supervise N           the least a supervisor can do: posix_spawn N `sleep 3600`,
//                                then block in waitpid(2) and posix_spawn a replacement for
//                                each child that dies, until SIGTERM (then kill them all).
//                                bench/run points its probe at it for the restart and storm
//                                limits, exactly as at the daemons
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

extern char** environ;

namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

bool ReadAll(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= size_t(r);
  }
  return true;
}

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= size_t(w);
  }
  return true;
}

// stdin, stdout and stderr of a posix_spawn'd child on /dev/null.
void StdioOnDevNull(posix_spawn_file_actions_t* actions) {
  posix_spawn_file_actions_init(actions);
  for (int fd = 0; fd < 3; ++fd) {
    posix_spawn_file_actions_addopen(actions, fd, "/dev/null", O_RDWR, 0);
  }
}

int Spawn(int n, const std::string& mode) {
  const bool use_fork = mode == "fork";
  const bool async = mode == "async";
  char arg0[] = "sleep", arg1[] = "3600";
  char* argv[] = {arg0, arg1, nullptr};
  std::vector<pid_t> pids;
  pids.reserve(size_t(n));
  posix_spawn_file_actions_t actions;
  StdioOnDevNull(&actions);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);

  rusage r0;
  getrusage(RUSAGE_SELF, &r0);
  int64_t t0 = NowNs();
  int shared[2] = {-1, -1};
  if (async && pipe2(shared, O_CLOEXEC) != 0) {
    perror("pipe2");
    return 1;
  }
  for (int i = 0; i < n; ++i) {
    pid_t pid = -1;
    if (async) {
      pid = fork();
      if (pid == 0) {
        setsid();
        int null_fd = open("/dev/null", O_RDWR);
        for (int fd = 0; fd < 3; ++fd) dup2(null_fd, fd);
        execve("/bin/sleep", argv, environ);
        _exit(127);
      }
      if (pid < 0) {
        perror("fork");
        break;
      }
    } else if (!use_fork) {
      int rc = posix_spawn(&pid, "/bin/sleep", &actions, &attr, argv, environ);
      if (rc != 0) {
        fprintf(stderr, "posix_spawn: %s\n", strerror(rc));
        break;
      }
    } else {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0) {
        perror("pipe2");
        break;
      }
      pid = fork();
      if (pid == 0) {
        setsid();
        int null_fd = open("/dev/null", O_RDWR);
        for (int fd = 0; fd < 3; ++fd) dup2(null_fd, fd);
        execve("/bin/sleep", argv, environ);
        int e = errno;
        ssize_t ignored = write(fds[1], &e, sizeof e);
        (void)ignored;
        _exit(127);
      }
      close(fds[1]);
      int e;
      ssize_t r;
      do {
        r = read(fds[0], &e, sizeof e);
      } while (r < 0 && errno == EINTR);
      close(fds[0]);
    }
    pids.push_back(pid);
  }
  if (async) {  // EOF once every child has exec'd (or died): they held the write end till then
    close(shared[1]);
    char c;
    while (read(shared[0], &c, 1) != 0 && errno == EINTR) {
    }
    close(shared[0]);
  }
  int64_t t1 = NowNs();
  rusage r1;
  getrusage(RUSAGE_SELF, &r1);
  auto ms = [](const timeval& a, const timeval& b) {
    return double(b.tv_sec - a.tv_sec) * 1e3 + double(b.tv_usec - a.tv_usec) / 1e3;
  };
  printf("%.3f %.3f\n", double(t1 - t0) / 1e6,
         ms(r0.ru_utime, r1.ru_utime) + ms(r0.ru_stime, r1.ru_stime));
  fflush(stdout);
  for (pid_t pid : pids) kill(pid, SIGKILL);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  return int(pids.size()) == n ? 0 : 1;
}

volatile sig_atomic_t g_stop = 0;

int Supervise(int n) {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGTERM, &sa, nullptr);  // no SA_RESTART: waitpid returns EINTR
  char arg0[] = "sleep", arg1[] = "3600";
  char* argv[] = {arg0, arg1, nullptr};
  posix_spawn_file_actions_t actions;
  StdioOnDevNull(&actions);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  sigset_t dfl;
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &dfl);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::unordered_set<pid_t> kids;
  auto spawn_one = [&] {
    pid_t pid;
    if (posix_spawn(&pid, "/bin/sleep", &actions, &attr, argv, environ) == 0) kids.insert(pid);
  };
  for (int i = 0; i < n; ++i) spawn_one();
  while (!g_stop) {
    pid_t pid = waitpid(-1, nullptr, 0);
    if (pid > 0 && kids.erase(pid) && !g_stop) spawn_one();
  }
  for (pid_t pid : kids) kill(pid, SIGKILL);
  while (waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
  }
  return 0;
}

int Rtt(size_t reply_bytes, int iters) {
  char path[] = "/tmp/warden-bench-rtt-XXXXXX";
  if (!mkdtemp(path)) {
    perror("mkdtemp");
    return 1;
  }
  std::string sock_path = std::string(path) + "/s";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, sock_path.c_str(), sizeof addr.sun_path - 1);
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 4) != 0) {
    perror("bind/listen");
    return 1;
  }
  pid_t server = fork();
  if (server == 0) {
    int c = accept(listener, nullptr, nullptr);
    std::vector<char> reply(reply_bytes, 'r');
    char req[16];
    while (ReadAll(c, req, sizeof req)) {
      if (!WriteAll(c, reply.data(), reply.size())) break;
    }
    _exit(0);
  }
  close(listener);
  int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    perror("connect");
    return 1;
  }
  std::vector<char> reply(reply_bytes);
  char req[16] = "WRDN";
  std::vector<double> us;
  for (int i = 0; i < iters + 10; ++i) {
    int64_t t0 = NowNs();
    if (!WriteAll(c, req, sizeof req) || !ReadAll(c, reply.data(), reply.size())) {
      fprintf(stderr, "rtt: connection lost\n");
      return 1;
    }
    if (i >= 10) us.push_back(double(NowNs() - t0) / 1e3);  // the first 10 warm up
  }
  close(c);
  waitpid(server, nullptr, 0);
  unlink(sock_path.c_str());
  rmdir(path);
  std::sort(us.begin(), us.end());
  printf("%.2f %.2f %.2f\n", us[us.size() / 2], us.front(), us.back());
  return 0;
}

int Copy(bool use_splice, unsigned long long bytes, unsigned long long max_bytes,
         const std::string& dir, int pipe_size) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    perror("pipe2");
    return 1;
  }
  if (pipe_size > 0) fcntl(fds[0], F_SETPIPE_SZ, pipe_size);
  std::string base = dir + "/out.log";
  auto open_log = [&] {
    return open(base.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  };
  int out = open_log();
  if (out < 0) {
    perror("open");
    return 1;
  }
  rusage before;
  getrusage(RUSAGE_SELF, &before);
  int64_t t0 = NowNs();
  pid_t writer = fork();
  if (writer == 0) {
    close(fds[0]);
    std::vector<char> buf(65536, 'w');
    unsigned long long left = bytes;
    while (left > 0) {
      size_t n = left < buf.size() ? size_t(left) : buf.size();
      if (!WriteAll(fds[1], buf.data(), n)) _exit(1);
      left -= n;
    }
    _exit(0);
  }
  close(fds[1]);
  unsigned long long in_file = 0, total = 0;
  std::vector<char> buf(131072);
  while (true) {
    if (max_bytes > 0 && in_file >= max_bytes) {
      close(out);
      for (int i = 3; i > 1; --i) {
        rename((base + "." + std::to_string(i - 1)).c_str(),
               (base + "." + std::to_string(i)).c_str());
      }
      rename(base.c_str(), (base + ".1").c_str());
      out = open_log();
      in_file = 0;
    }
    size_t want = 1 << 20;
    if (max_bytes > 0) want = std::min<unsigned long long>(want, max_bytes - in_file);
    ssize_t n;
    if (use_splice) {
      n = splice(fds[0], nullptr, out, nullptr, want, SPLICE_F_MOVE | SPLICE_F_MORE);
    } else {
      n = read(fds[0], buf.data(), std::min(want, buf.size()));
      if (n > 0 && !WriteAll(out, buf.data(), size_t(n))) n = -1;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      perror(use_splice ? "splice" : "copy");
      return 1;
    }
    if (n == 0) break;
    in_file += size_t(n);
    total += size_t(n);
  }
  close(out);
  int64_t t1 = NowNs();
  waitpid(writer, nullptr, 0);
  rusage after;
  getrusage(RUSAGE_SELF, &after);
  auto secs = [](const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
  double cpu =
      secs(after.ru_utime) - secs(before.ru_utime) + secs(after.ru_stime) - secs(before.ru_stime);
  double elapsed = double(t1 - t0) / 1e9;
  printf("%.1f %.3f %.3f\n", double(total) / 1e6 / elapsed, cpu, elapsed);
  for (int i = 0; i <= 3; ++i) unlink(i ? (base + "." + std::to_string(i)).c_str() : base.c_str());
  return total == bytes ? 0 : 1;
}

int ProcStat(int n, int iters) {
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_cur < rlim_t(n) + 64) {
    nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, rlim_t(n) + 64);
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  char arg0[] = "sleep", arg1[] = "3600";
  char* argv[] = {arg0, arg1, nullptr};
  posix_spawn_file_actions_t actions;
  StdioOnDevNull(&actions);
  std::vector<pid_t> pids;
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    pid_t pid = -1;
    if (posix_spawn(&pid, "/bin/sleep", &actions, nullptr, argv, environ) != 0) break;
    pids.push_back(pid);
    std::string path = "/proc/" + std::to_string(pid) + "/stat";
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) fds.push_back(fd);
  }
  std::vector<double> ms;
  char buf[1024];
  for (int i = 0; i < iters + 3 && fds.size() == size_t(n); ++i) {
    int64_t t0 = NowNs();
    DIR* dir = opendir("/proc");
    size_t entries = 0;
    while (dirent* e = readdir(dir)) entries += e->d_name[0] >= '1' && e->d_name[0] <= '9';
    closedir(dir);
    for (int fd : fds) {
      if (pread(fd, buf, sizeof buf, 0) <= 0) entries = 0;
    }
    if (i >= 3 && entries > 0) ms.push_back(double(NowNs() - t0) / 1e6);  // 3 warm up
  }
  for (pid_t pid : pids) kill(pid, SIGKILL);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  for (int fd : fds) close(fd);
  if (ms.empty()) {
    fprintf(stderr, "procstat: could not start and read %d processes\n", n);
    return 1;
  }
  std::sort(ms.begin(), ms.end());
  printf("%.3f %.3f %.3f\n", ms[ms.size() / 2], ms.front(), ms.back());
  return 0;
}

int Usage() {
  fprintf(stderr,
          "usage: limits spawn N [fork|async] | rtt REPLY_BYTES ITERS | "
          "splice|copy BYTES MAX_BYTES DIR [PIPE_SIZE] | supervise N | procstat N ITERS\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  std::string cmd = argv[1];
  if (cmd == "spawn") return Spawn(atoi(argv[2]), argc > 3 ? argv[3] : "");
  if (cmd == "supervise") return Supervise(atoi(argv[2]));
  if (cmd == "procstat" && argc == 4) return ProcStat(atoi(argv[2]), atoi(argv[3]));
  if (cmd == "rtt" && argc == 4) return Rtt(strtoul(argv[2], nullptr, 10), atoi(argv[3]));
  if ((cmd == "splice" || cmd == "copy") && argc >= 5) {
    return Copy(cmd == "splice", strtoull(argv[2], nullptr, 10), strtoull(argv[3], nullptr, 10),
                argv[4], argc > 5 ? atoi(argv[5]) : 0);
  }
  return Usage();
}
