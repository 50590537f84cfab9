// probe: watches a supervisor daemon's children through /proc, for bench/run.
//
//   probe wait    PID N T0_NS TIMEOUT_S   prints ms from T0_NS (CLOCK_MONOTONIC) until PID has
//                                          N children that have exec'd `sleep`
//   probe restart PID TRIALS TIMEOUT_S    kill -9 one `sleep` child per trial; prints one line of
//                                          microseconds per trial: kill() until a new child of
//                                          PID has exec'd `sleep`
//   probe storm   PID N TIMEOUT_S         kill -9 every `sleep` child at once; prints
//                                          heal_ms (N new children exec'd), reaped_ms (no killed
//                                          child left, not even as a zombie) and zombies (children
//                                          of PID in state Z 100 ms after healing)
//
// A process is identified by (pid, start time), so a recycled pid is never taken for the old one.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void SleepNs(long ns) {
  timespec ts{0, ns};
  nanosleep(&ts, nullptr);
}

struct Child {
  int pid = 0;
  char state = '?';
  unsigned long long start = 0;  // field 22, clock ticks since boot
  bool is_sleep = false;         // comm == "sleep": the exec has happened
  bool operator<(const Child& o) const { return std::tie(pid, start) < std::tie(o.pid, o.start); }
};

std::vector<int> g_tids;  // the daemon's threads, read once

std::vector<int> Threads(int pid) {
  std::vector<int> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] >= '1' && e->d_name[0] <= '9') out.push_back(atoi(e->d_name));
    }
    closedir(d);
  }
  return out;
}

// The pids of PID's children (from every thread's children file).
std::vector<int> ChildPids(int pid) {
  std::vector<int> out;
  static std::string buf(1 << 20, '\0');
  for (int tid : g_tids) {
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", pid, tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    size_t len = 0;
    ssize_t n;
    while ((n = read(fd, buf.data() + len, buf.size() - len - 1)) > 0) len += size_t(n);
    close(fd);
    buf[len] = '\0';
    char* p = buf.data();
    while (*p) {
      char* end;
      long v = strtol(p, &end, 10);
      if (end == p) break;
      out.push_back(int(v));
      p = end;
      while (*p == ' ' || *p == '\n') ++p;
    }
  }
  return out;
}

bool ReadChild(int pid, Child* c) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  char* open_paren = strchr(buf, '(');
  char* close_paren = strrchr(buf, ')');
  if (!open_paren || !close_paren) return false;
  c->pid = pid;
  c->is_sleep = std::string(open_paren + 1, close_paren) == "sleep";
  // After ") ": state(3) ppid(4) ... starttime(22)
  char* p = close_paren + 2;
  c->state = *p;
  for (int field = 3; field < 22 && *p; ++p) {
    if (*p == ' ') ++field;
  }
  c->start = strtoull(p, nullptr, 10);
  return true;
}

std::vector<Child> Children(int pid) {
  std::vector<Child> out;
  for (int c : ChildPids(pid)) {
    Child child;
    if (ReadChild(c, &child)) out.push_back(child);
  }
  return out;
}

int Usage() {
  fprintf(stderr,
          "usage: probe wait PID N T0_NS TIMEOUT_S | restart PID TRIALS TIMEOUT_S | "
          "storm PID N TIMEOUT_S\n");
  return 2;
}

int Wait(int pid, size_t n, int64_t t0, double timeout_s) {
  std::set<int> confirmed;  // children seen after their exec (the daemon is fresh: all new)
  int64_t deadline = t0 + int64_t(timeout_s * 1e9);
  while (true) {
    for (int c : ChildPids(pid)) {
      if (confirmed.count(c)) continue;
      Child child;
      if (ReadChild(c, &child) && child.is_sleep && child.state != 'Z') confirmed.insert(c);
    }
    int64_t now = NowNs();
    if (confirmed.size() >= n) {
      printf("%.3f\n", double(now - t0) / 1e6);
      return 0;
    }
    if (now > deadline) {
      fprintf(stderr, "probe wait: timeout with %zu of %zu children running\n", confirmed.size(),
              n);
      return 1;
    }
    // 0.5 ms between looks, longer with many children: each look reads the children list and
    // competes for a CPU with the daemon it measures (10 ms at 10,000: still < 0.1% of the spawn).
    SleepNs(std::max(500000L, long(n) * 1000L));
  }
}

int Restart(int pid, int trials, double timeout_s) {
  for (int t = 0; t < trials; ++t) {
    // Settle: every child a running `sleep`, no zombie, for a moment.
    std::vector<Child> before;
    int64_t settle_deadline = NowNs() + int64_t(timeout_s * 1e9);
    while (true) {
      before = Children(pid);
      bool ok = !before.empty() && std::all_of(before.begin(), before.end(), [](const Child& c) {
        return c.is_sleep && c.state != 'Z';
      });
      if (ok) break;
      if (NowNs() > settle_deadline) {
        fprintf(stderr, "probe restart: children never settled\n");
        return 1;
      }
      SleepNs(1000000);
    }
    SleepNs(20000000);
    before = Children(pid);
    std::set<Child> old(before.begin(), before.end());
    // The pids seen before, sorted: while waiting, only a pid not among them (or the victim's,
    // should it be reused at once) is read, so a look costs the same with 100 or 10,000 children.
    std::vector<int> old_pids;
    for (const Child& c : before) old_pids.push_back(c.pid);
    std::sort(old_pids.begin(), old_pids.end());
    const Child victim = before[size_t(t) % before.size()];
    int64_t t0 = NowNs();
    if (kill(victim.pid, SIGKILL) != 0) {
      perror("kill");
      return 1;
    }
    int64_t deadline = t0 + int64_t(timeout_s * 1e9);
    while (true) {
      bool found = false;
      for (int c : ChildPids(pid)) {
        if (c != victim.pid && std::binary_search(old_pids.begin(), old_pids.end(), c)) continue;
        Child child;
        if (!ReadChild(c, &child) || old.count(child)) continue;
        if (child.is_sleep && child.state != 'Z') found = true;
      }
      int64_t now = NowNs();
      if (found) {
        printf("%.1f\n", double(now - t0) / 1e3);
        fflush(stdout);
        break;
      }
      if (now > deadline) {
        fprintf(stderr, "probe restart: no replacement within %.0f s\n", timeout_s);
        return 1;
      }
      SleepNs(20000);
    }
  }
  return 0;
}

int Storm(int pid, size_t n, double timeout_s) {
  std::vector<Child> before = Children(pid);
  std::set<Child> old;
  for (const Child& c : before) {
    if (c.is_sleep && c.state != 'Z') old.insert(c);
  }
  if (old.size() != n) {
    fprintf(stderr, "probe storm: %zu running children, expected %zu\n", old.size(), n);
    return 1;
  }
  int64_t t0 = NowNs();
  for (const Child& c : old) kill(c.pid, SIGKILL);
  int64_t deadline = t0 + int64_t(timeout_s * 1e9);
  double heal_ms = -1, reaped_ms = -1;
  std::set<Child> fresh;  // new children seen running
  while (heal_ms < 0 || reaped_ms < 0) {
    size_t old_left = 0;
    for (int c : ChildPids(pid)) {
      Child child;
      if (!ReadChild(c, &child)) continue;
      if (old.count(child)) {
        ++old_left;
      } else if (child.is_sleep && child.state != 'Z') {
        fresh.insert(child);
      }
    }
    int64_t now = NowNs();
    if (heal_ms < 0 && fresh.size() >= n) heal_ms = double(now - t0) / 1e6;
    if (reaped_ms < 0 && old_left == 0) reaped_ms = double(now - t0) / 1e6;
    if (now > deadline) break;
    SleepNs(200000);
  }
  SleepNs(100000000);
  size_t zombies = 0;
  for (const Child& c : Children(pid)) zombies += c.state == 'Z';
  printf("heal_ms=%.3f reaped_ms=%.3f zombies=%zu new=%zu\n", heal_ms, reaped_ms, zombies,
         fresh.size());
  return heal_ms < 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_TIMERSLACK, 1UL);  // nanosleep as short as asked
  if (argc < 3) return Usage();
  std::string cmd = argv[1];
  int pid = atoi(argv[2]);
  g_tids = Threads(pid);
  if (g_tids.empty()) {
    fprintf(stderr, "probe: no process %d\n", pid);
    return 1;
  }
  if (cmd == "wait" && argc == 6)
    return Wait(pid, strtoul(argv[3], nullptr, 10), strtoll(argv[4], nullptr, 10), atof(argv[5]));
  if (cmd == "restart" && argc == 5) return Restart(pid, atoi(argv[3]), atof(argv[4]));
  if (cmd == "storm" && argc == 5) return Storm(pid, strtoul(argv[3], nullptr, 10), atof(argv[4]));
  return Usage();
}
