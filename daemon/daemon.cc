#include "daemon/daemon.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>

#include "config/env_file.h"
#include "daemon/logs/log_targets.h"
#include "daemon/os/os.h"
#include "daemon/reexec/reexec.h"

namespace warden {
namespace {

std::optional<spdlog::level::level_enum> ParseLevel(std::string_view name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "info") return spdlog::level::info;
  if (name == "warn" || name == "warning") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  return std::nullopt;
}

spdlog::level::level_enum ToSpdlog(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::kTrace:
      return spdlog::level::trace;
    case config::LogLevel::kDebug:
      return spdlog::level::debug;
    case config::LogLevel::kInfo:
      return spdlog::level::info;
    case config::LogLevel::kWarn:
      return spdlog::level::warn;
    case config::LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::string Describe(const config::LoadResult& loaded) {
  std::string out;
  for (const auto& d : loaded.errors) out += (out.empty() ? "" : "; ") + d.ToString();
  return out;
}

// The configuration of a re-executed wardend, which must not exit whatever happens: the one in
// force before the exec, built again from the files the state carries; else the file named on
// the command line; else none at all (the programs stay its children, unsupervised). What went
// wrong goes into `problems`, to be logged once there is a log.
config::Config ConfigAfterExec(const std::optional<DaemonState>& restored, const std::string& path,
                               std::vector<std::string>* problems) {
  if (restored && !restored->config_sources.files.empty()) {
    config::LoadResult loaded = config::LoadConfigSources(restored->config_sources);
    if (loaded.config) return std::move(*loaded.config);
    problems->push_back("the configuration in force cannot be built again from the state (" +
                        Describe(loaded) + "); loading " + path + " instead");
  }
  config::LoadResult loaded = config::LoadConfigFile(path);
  if (loaded.config) return std::move(*loaded.config);
  problems->push_back(path + " cannot be loaded (" + Describe(loaded) +
                      "): running with no programs; the processes found are left running, "
                      "unsupervised; fix the file and run `wardenctl update`");
  config::Config empty;
  empty.path = path;
  empty.warden.socket = restored ? restored->socket_path : config::DefaultSocketPath();
  return empty;
}

// fds 0, 1 and 2 must be open, or the first files we open would take their place.
void EnsureStandardFds() {
  for (int fd = 0; fd < 3; ++fd) {
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      int null_fd = open("/dev/null", O_RDWR);
      if (null_fd >= 0 && null_fd != fd) {
        dup2(null_fd, fd);
        close(null_fd);
      }
    }
  }
}

}  // namespace

Daemon::Daemon(DaemonOptions options) : options_(std::move(options)) {}

Daemon::~Daemon() = default;

int Daemon::Run() {
  // First of all: a re-executed image starts with the old one's fds open (os/os.h).
  os::RaiseFdLimit();
  // Block the signals we handle before anything else exists, so none is lost or delivered the
  // default way; signalfd reads them from the event loop.
  sigemptyset(&handled_);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&handled_, sig);
  sigprocmask(SIG_BLOCK, &handled_, nullptr);
  signal(SIGPIPE, SIG_IGN);
  os::NoteSignalDispositions();  // the children put SIGPIPE back to SIG_DFL
  EnsureStandardFds();
  os::ReserveSpawnSlots();  // while the lowest fds are free (os/os.h)

  if (auto rc = LoadConfiguration()) return *rc;
  if (auto rc = StartLogging()) return *rc;
  if (auto rc = StartServing()) return *rc;

  spdlog::info("wardend {} {} on {}{}", WARDEN_VERSION,
               reexecuted() ? "re-executed, listening" : "listening", server_->path(),
               server_->socket_activated() ? " (socket activation)" : "");
  // READY=1 once the autostart programs have been spawned. They are spawned in slices, the
  // control socket served in between, so that may be from a later turn of the loop.
  auto ready = [this] {
    notifier_->Status(supervisor_->Summary());
    notifier_->Ready();
  };
  if (reexecuted()) {
    supervisor_->ReapChildren();  // children that exited during the exec window
    ready();
  } else {
    supervisor_->HandleLeftovers();  // an earlier wardend's processes: before any second copy
    supervisor_->StartAutostart(ready);
  }
  notifier_->StartWatchdog();

  loop_.Run();
  notifier_->FlushBlocking(std::chrono::milliseconds(200));  // STOPPING=1, if still queued
  spdlog::info("wardend stopped{}", exit_status_ == 0 ? "" : " (a program went FATAL)");
  return exit_status_;
}

std::optional<int> Daemon::LoadConfiguration() {
  // Re-executed by `wardenctl reexec` (reexec/reexec.h): the state names the config in force.
  if (reexecuted()) {
    auto state = ReadStateFd(options_.restore_fd);
    if (state.ok()) {
      restored_ = std::move(state).value();
      options_.config = restored_->config_path;
    } else {
      restore_error_ = state.status().message();
    }
    // Never exit from here on: the programs are our children and would be orphaned.
    config_ = ConfigAfterExec(restored_, options_.config, &config_problems_);
  } else {
    config::LoadResult loaded = config::LoadConfigFile(options_.config);
    if (!loaded.config) {
      // Under systemd these lines are errors in the journal (`journalctl -u warden -p err`),
      // not info: the logger that adds the priorities does not exist yet.
      const char* err = StderrIsJournal() ? "<3>" : "";
      for (const auto& d : loaded.errors) std::fprintf(stderr, "%s%s\n", err, d.ToString().c_str());
      if (!options_.check) {
        std::fprintf(stderr, "%swardend: %s is not valid (%zu problem%s); not starting\n", err,
                     options_.config.c_str(), loaded.errors.size(),
                     loaded.errors.size() == 1 ? "" : "s");
      }
      return 1;
    }
    config_ = std::move(*loaded.config);
  }
  if (options_.check) {
    // What the host must provide too: users and groups (errors), commands and folders.
    const config::HostCheck host = config::CheckHost(config_);
    for (const auto& d : host.errors) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    for (const auto& d : host.warnings) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    // And the env files, as each start will read them: a bad line as FILE:LINE.
    const auto env_problems = config::CheckEnvFiles(config_);
    for (const auto& d : env_problems) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    if (!host.errors.empty() || !env_problems.empty()) return 1;
    std::printf("%s: ok (%zu program%s)\n", options_.config.c_str(), config_.programs.size(),
                config_.programs.size() == 1 ? "" : "s");
    return 0;
  }
  return std::nullopt;
}

std::optional<int> Daemon::StartLogging() {
  auto logger = MakeDaemonLogger(config_.warden);
  if (!logger.ok()) {
    if (!reexecuted()) {
      std::fprintf(stderr, "wardend: %s; not starting\n", logger.status().message().c_str());
      return 1;
    }
    // Re-executed: the programs are ours to keep whatever happens to the log; stderr it is.
    std::fprintf(stderr, "wardend: %s; logging to stderr\n", logger.status().message().c_str());
    config::Settings fallback = config_.warden;
    fallback.log_target = config::LogTarget::kStderr;
    logger = MakeDaemonLogger(fallback);
  }
  spdlog::set_default_logger(std::move(logger).value());
  for (const std::string& problem : config_problems_) {
    spdlog::critical("re-execution: {}", problem);
  }
  // A copy of the recent lines for `wardenctl maintail`, whatever the real destination is.
  daemon_log_ = std::make_shared<DaemonLog>();
  spdlog::default_logger()->sinks().push_back(daemon_log_);
  spdlog::set_level(ToSpdlog(config_.warden.log_level));
  if (restored_) spdlog::set_level(static_cast<spdlog::level::level_enum>(restored_->log_level));
  if (options_.log_level) {
    auto level = ParseLevel(*options_.log_level);
    if (!level) {
      std::fprintf(stderr, "wardend: unknown log level '%s'\n", options_.log_level->c_str());
      return 2;
    }
    spdlog::set_level(*level);
  }
  return std::nullopt;
}

std::optional<int> Daemon::StartServing() {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    spdlog::warn("cannot become a child subreaper: {}", strerror(errno));
  }
  if (auto s = os::MakeDirs(config_.warden.log_dir); !s.ok()) {
    spdlog::warn("log_dir: {}", s.message());
  }
  if (auto s = loop_.Init(); !s.ok()) {
    std::fprintf(stderr, "wardend: %s\n", s.message().c_str());
    return 1;
  }
  signal_fd_.reset(signalfd(-1, &handled_, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signal_fd_) {
    std::fprintf(stderr, "wardend: signalfd: %s\n", strerror(errno));
    return 1;
  }

  notifier_ = std::make_unique<SystemdNotifier>(loop_);
  supervisor_ = std::make_unique<Supervisor>(loop_, std::move(config_));
  supervisor_->logs().set_daemon_log(daemon_log_);
  aside_ = std::make_unique<AsideWorker>(loop_);
  if (auto s = aside_->Start(); s.ok()) {
    supervisor_->UseAsideWorker(aside_.get());
  } else {
    spdlog::warn("config files are read in the event loop: {}", s.message());
  }
  // What is tracked through /proc is written down beside the socket, for a wardend started
  // again after this one is killed (process_record.h); after a re-execution, before the
  // restore, which may start processes. A fresh wardend reads it in HandleLeftovers, once the
  // socket is its own (a wardend refused because another one listens never touches it).
  supervisor_->UseRecord(ProcessRecord::PathFor(supervisor_->config().warden.socket), reexecuted());
  server_ = std::make_unique<ControlServer>(loop_, *supervisor_, [this] { Shutdown(); });
  if (reexecuted()) {
    // Never exit from here on: the programs are our children and would be orphaned.
    TakeOver(std::move(restored_), restore_error_, options_.listen_fd, *supervisor_, *server_);
  } else if (auto s = server_->Listen(supervisor_->config().warden); !s.ok()) {
    std::fprintf(stderr, "wardend: %s\n", s.message().c_str());
    return 1;
  }
  // Process tracking: a cgroup per process where a cgroup2 hierarchy is writable, else /proc.
  // Only once the socket is ours: a second wardend refused above must not touch the first
  // one's cgroups.
  std::string no_cgroups;
  if (auto cgroups = CgroupTree::Open(loop_, supervisor_->config().warden, &no_cgroups)) {
    spdlog::info("processes are tracked in cgroups under {}", cgroups->base());
    supervisor_->UseCgroups(std::move(cgroups));
    if (reexecuted()) supervisor_->AdoptCgroups();
  } else {
    spdlog::info("processes are tracked through /proc: {}", no_cgroups);
  }
  if (reexecuted()) supervisor_->RecordRestored();
  WarnUnenforcedMemoryMax(no_cgroups);
  ServeReexec(*server_, *supervisor_, *notifier_);

  if (auto s = loop_.Add(signal_fd_.get(), EPOLLIN, EventLoop::kPrioritySignals,
                         [this](uint32_t) { OnSignals(); });
      !s.ok()) {
    std::fprintf(stderr, "wardend: %s\n", s.message().c_str());
    return 1;
  }
  supervisor_->set_on_change(
      [this] { notifier_->StatusSoon([this] { return supervisor_->Summary(); }); });
  // warden.exit_on_fatal: a program went FATAL; stop everything and exit 1.
  supervisor_->set_on_exit_on_fatal([this] {
    exit_status_ = 1;
    Shutdown();
  });
  supervisor_->set_reload_hooks([this] { notifier_->Reloading(); },
                                [this] {
                                  notifier_->Ready();
                                  notifier_->Status(supervisor_->Summary());
                                });
  return std::nullopt;
}

void Daemon::WarnUnenforcedMemoryMax(const std::string& no_cgroups) {
  // memory_max is the memory.max of each process's cgroup: it needs the cgroup backend and the
  // memory controller enabled below its base. Where either is missing, say so and why (the
  // programs run without the cap), as `wardend --check` does from what it can see.
  std::optional<std::string> problem;
  for (const config::Program& p : supervisor_->config().programs) {
    if (p.memory_max == 0) continue;
    if (!problem) {
      if (!supervisor_->tracks_by_cgroup()) {
        problem = "processes are tracked through /proc, not in cgroups (" + no_cgroups + ")";
      } else if (!supervisor_->MemoryMaxEnforceable()) {
        const std::string host = config::MemoryMaxUnavailable();
        problem =
            "the memory controller is not enabled for the processes' cgroups (" +
            (host.empty() ? "cgroup.subtree_control of their parent does not list it" : host) + ")";
      } else {
        problem = "";
      }
    }
    if (problem->empty()) break;
    spdlog::warn("{}: memory_max cannot be enforced here: {}; the program runs without it", p.name,
                 *problem);
  }
}

void Daemon::Shutdown() {
  if (supervisor_->shutting_down()) return;
  spdlog::info("shutting down: stopping all programs");
  notifier_->Stopping();
  supervisor_->Shutdown([this] {
    supervisor_->ReapChildren();
    loop_.Stop();
  });
}

void Daemon::OnSignals() {
  signalfd_siginfo info;
  while (read(signal_fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    switch (info.ssi_signo) {
      case SIGCHLD:
        break;  // reaped below, once per wakeup
      case SIGTERM:
      case SIGINT:
        spdlog::info("received SIG{}", info.ssi_signo == SIGTERM ? "TERM" : "INT");
        Shutdown();
        break;
      case SIGHUP:
        spdlog::info("received SIGHUP: applying {}", supervisor_->config().path);
        if (!supervisor_->shutting_down()) {
          supervisor_->Update({}, [](const Status&, auto) {});
        }
        break;
      case SIGUSR2:
        spdlog::info("received SIGUSR2: reopened {} log files", supervisor_->logs().ReopenAll());
        break;
      default:
        break;
    }
  }
  supervisor_->ReapChildren();
}

}  // namespace warden
