// wardend: parses the command line, loads the config, and runs the event loop. Everything else
// lives in the classes it wires together.
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.h"
#include "config/config.h"
#include "config/env_file.h"
#include "daemon/control/control_server.h"
#include "daemon/logs/daemon_log.h"
#include "daemon/logs/log_targets.h"
#include "daemon/os/event_loop.h"
#include "daemon/os/os.h"
#include "daemon/reexec/reexec.h"
#include "daemon/supervisor/supervisor.h"
#include "daemon/systemd/notify.h"

namespace {

constexpr const char* kUsage =
    "usage: wardend [-c FILE] [--check] [--version] [--log-level LEVEL]\n"
    "\n"
    "Supervises the programs named in FILE (default /etc/warden/warden.yaml) and answers\n"
    "wardenctl on the control socket. Runs in the foreground.\n"
    "\n"
    "  -c, --config FILE    configuration file\n"
    "      --check          validate the configuration (and its includes) and exit:\n"
    "                       0 when valid, 1 with every problem as FILE:LINE:COL: message\n"
    "      --log-level L    trace, debug, info, warn or error (overrides the config)\n"
    "      --version        print the version and exit\n"
    "      --state-version  print the version of the re-execution state it reads and exit\n"
    "  -h, --help           this text\n";

struct Options {
  std::string config = warden::config::DefaultConfigPath();
  bool check = false;
  std::optional<std::string> log_level;
  // Re-execution (daemon/reexec/reexec.h): the state's memfd and the kept listening socket.
  int restore_fd = -1;
  int listen_fd = -1;
};

std::optional<int> ParseFd(std::string_view text) {
  int fd = 0;
  if (text.empty() || text.size() > 9) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    fd = fd * 10 + (c - '0');
  }
  return fd;
}

// Returns the exit status to stop with, or nullopt to go on.
std::optional<int> ParseArgs(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (arg.size() > name.size() && arg.substr(0, name.size()) == name &&
          arg[name.size()] == '=') {
        return std::string(arg.substr(name.size() + 1));
      }
      if (arg == name) {
        if (i + 1 >= argc) return std::nullopt;
        return std::string(argv[++i]);
      }
      return std::nullopt;
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("wardend %s\n", WARDEN_VERSION);
      return 0;
    } else if (arg == "--state-version") {
      std::printf("%s\n", warden::ReadableStateVersions().c_str());
      return 0;
    } else if (arg == "--restore-from" || arg == "--listen-fd") {
      auto v = value(arg);
      auto fd = v ? ParseFd(*v) : std::nullopt;
      if (!fd) {
        std::fprintf(stderr, "wardend: %s needs a file descriptor number\n", argv[i]);
        return 2;
      }
      (arg == "--restore-from" ? options->restore_fd : options->listen_fd) = *fd;
    } else if (arg == "--check") {
      options->check = true;
    } else if (arg == "-c" || arg.rfind("--config", 0) == 0) {
      auto v = value(arg == "-c" ? "-c" : "--config");
      if (!v) {
        std::fprintf(stderr, "wardend: %s needs a file\n%s", argv[i], kUsage);
        return 2;
      }
      options->config = *v;
    } else if (arg.rfind("--log-level", 0) == 0) {
      auto v = value("--log-level");
      if (!v) {
        std::fprintf(stderr, "wardend: --log-level needs a level\n");
        return 2;
      }
      options->log_level = *v;
    } else {
      std::fprintf(stderr, "wardend: unknown argument '%s'\n%s", argv[i], kUsage);
      return 2;
    }
  }
  return std::nullopt;
}

std::optional<spdlog::level::level_enum> ParseLevel(std::string_view name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "info") return spdlog::level::info;
  if (name == "warn" || name == "warning") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  return std::nullopt;
}

spdlog::level::level_enum ToSpdlog(warden::config::LogLevel level) {
  switch (level) {
    case warden::config::LogLevel::kTrace:
      return spdlog::level::trace;
    case warden::config::LogLevel::kDebug:
      return spdlog::level::debug;
    case warden::config::LogLevel::kInfo:
      return spdlog::level::info;
    case warden::config::LogLevel::kWarn:
      return spdlog::level::warn;
    case warden::config::LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::string Describe(const warden::config::LoadResult& loaded) {
  std::string out;
  for (const auto& d : loaded.errors) out += (out.empty() ? "" : "; ") + d.ToString();
  return out;
}

// The configuration of a re-executed wardend, which must not exit whatever happens: the one in
// force before the exec, built again from the files the state carries; else the file named on
// the command line; else none at all (the programs stay its children, unsupervised). What went
// wrong goes into `problems`, to be logged once there is a log.
warden::config::Config ConfigAfterExec(const std::optional<warden::DaemonState>& restored,
                                       const std::string& path,
                                       std::vector<std::string>* problems) {
  if (restored && !restored->config_sources.files.empty()) {
    warden::config::LoadResult loaded = warden::config::LoadConfigSources(restored->config_sources);
    if (loaded.config) return std::move(*loaded.config);
    problems->push_back("the configuration in force cannot be built again from the state (" +
                        Describe(loaded) + "); loading " + path + " instead");
  }
  warden::config::LoadResult loaded = warden::config::LoadConfigFile(path);
  if (loaded.config) return std::move(*loaded.config);
  problems->push_back(path + " cannot be loaded (" + Describe(loaded) +
                      "): running with no programs; the processes found are left running, "
                      "unsupervised; fix the file and run `wardenctl update`");
  warden::config::Config empty;
  empty.path = path;
  empty.warden.socket = restored ? restored->socket_path : warden::config::DefaultSocketPath();
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

int main(int argc, char** argv) {
  Options options;
  if (auto rc = ParseArgs(argc, argv, &options)) return *rc;
  // First of all: a re-executed image starts with the old one's fds open (daemon/os/os.h).
  warden::os::RaiseFdLimit();

  // Block the signals we handle before anything else exists, so none is lost or delivered the
  // default way; signalfd reads them from the event loop.
  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&handled, sig);
  sigprocmask(SIG_BLOCK, &handled, nullptr);
  signal(SIGPIPE, SIG_IGN);
  EnsureStandardFds();
  warden::os::ReserveSpawnSlots();  // while the lowest fds are free (daemon/os/os.h)

  // Re-executed by `wardenctl reexec` (daemon/reexec/reexec.h): the state names the config in
  // force.
  std::optional<warden::DaemonState> restored;
  std::string restore_error;
  if (options.restore_fd >= 0) {
    auto state = warden::ReadStateFd(options.restore_fd);
    if (state.ok()) {
      restored = std::move(state).value();
      options.config = restored->config_path;
    } else {
      restore_error = state.status().message();
    }
  }

  std::vector<std::string> config_problems;
  warden::config::Config config;
  if (options.restore_fd >= 0) {
    // Never exit from here on: the programs are our children and would be orphaned.
    config = ConfigAfterExec(restored, options.config, &config_problems);
  } else {
    warden::config::LoadResult loaded = warden::config::LoadConfigFile(options.config);
    if (!loaded.config) {
      // Under systemd these lines are errors in the journal (`journalctl -u warden -p err`),
      // not info: the logger that adds the priorities does not exist yet.
      const char* err = warden::StderrIsJournal() ? "<3>" : "";
      for (const auto& d : loaded.errors) std::fprintf(stderr, "%s%s\n", err, d.ToString().c_str());
      if (!options.check) {
        std::fprintf(stderr, "%swardend: %s is not valid (%zu problem%s); not starting\n", err,
                     options.config.c_str(), loaded.errors.size(),
                     loaded.errors.size() == 1 ? "" : "s");
      }
      return 1;
    }
    config = std::move(*loaded.config);
  }
  if (options.check) {
    const auto problems = warden::config::CheckEnvFiles(config);
    for (const auto& d : problems) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    if (!problems.empty()) return 1;
    std::printf("%s: ok (%zu program%s)\n", options.config.c_str(), config.programs.size(),
                config.programs.size() == 1 ? "" : "s");
    return 0;
  }

  auto logger = warden::MakeDaemonLogger(config.warden);
  if (!logger.ok()) {
    if (options.restore_fd < 0) {
      std::fprintf(stderr, "wardend: %s; not starting\n", logger.status().message().c_str());
      return 1;
    }
    // Re-executed: the programs are ours to keep whatever happens to the log; stderr it is.
    std::fprintf(stderr, "wardend: %s; logging to stderr\n", logger.status().message().c_str());
    warden::config::Settings fallback = config.warden;
    fallback.log_target = warden::config::LogTarget::kStderr;
    logger = warden::MakeDaemonLogger(fallback);
  }
  spdlog::set_default_logger(std::move(logger).value());
  for (const std::string& problem : config_problems) spdlog::critical("re-execution: {}", problem);
  // A copy of the recent lines for `wardenctl maintail`, whatever the real destination is.
  auto daemon_log = std::make_shared<warden::DaemonLog>();
  spdlog::default_logger()->sinks().push_back(daemon_log);
  spdlog::set_level(ToSpdlog(config.warden.log_level));
  if (restored) spdlog::set_level(static_cast<spdlog::level::level_enum>(restored->log_level));
  if (options.log_level) {
    auto level = ParseLevel(*options.log_level);
    if (!level) {
      std::fprintf(stderr, "wardend: unknown log level '%s'\n", options.log_level->c_str());
      return 2;
    }
    spdlog::set_level(*level);
  }

  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    spdlog::warn("cannot become a child subreaper: {}", strerror(errno));
  }
  if (auto s = warden::os::MakeDirs(config.warden.log_dir); !s.ok()) {
    spdlog::warn("log_dir: {}", s.message());
  }

  warden::EventLoop loop;
  if (auto s = loop.Init(); !s.ok()) {
    std::fprintf(stderr, "wardend: %s\n", s.message().c_str());
    return 1;
  }
  warden::UniqueFd signal_fd(signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signal_fd) {
    std::fprintf(stderr, "wardend: signalfd: %s\n", strerror(errno));
    return 1;
  }

  warden::SystemdNotifier notifier(loop);
  warden::Supervisor supervisor(loop, std::move(config));
  supervisor.logs().set_daemon_log(daemon_log);
  auto shutdown = [&] {
    if (supervisor.shutting_down()) return;
    spdlog::info("shutting down: stopping all programs");
    notifier.Stopping();
    supervisor.Shutdown([&] {
      supervisor.ReapChildren();
      loop.Stop();
    });
  };
  int exit_status = 0;
  supervisor.set_on_exit_on_fatal([&] {
    exit_status = 1;
    shutdown();
  });
  warden::ControlServer server(loop, supervisor, shutdown);
  const bool reexecuted = options.restore_fd >= 0;
  if (reexecuted) {
    // Never exit from here on: the programs are our children and would be orphaned.
    warden::TakeOver(std::move(restored), restore_error, options.listen_fd, supervisor, server);
  } else if (auto s = server.Listen(supervisor.config().warden); !s.ok()) {
    std::fprintf(stderr, "wardend: %s\n", s.message().c_str());
    return 1;
  }
  warden::ServeReexec(server, supervisor, notifier);

  auto on_signal = [&](uint32_t) {
    signalfd_siginfo info;
    while (read(signal_fd.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      switch (info.ssi_signo) {
        case SIGCHLD:
          break;  // reaped below, once per wakeup
        case SIGTERM:
        case SIGINT:
          spdlog::info("received SIG{}", info.ssi_signo == SIGTERM ? "TERM" : "INT");
          shutdown();
          break;
        case SIGHUP:
          spdlog::info("received SIGHUP: applying {}", supervisor.config().path);
          if (!supervisor.shutting_down()) {
            supervisor.Update({}, [](const warden::Status&, auto) {});
          }
          break;
        case SIGUSR2:
          spdlog::info("received SIGUSR2: reopened {} log files", supervisor.logs().ReopenAll());
          break;
        default:
          break;
      }
    }
    supervisor.ReapChildren();
  };
  if (auto s = loop.Add(signal_fd.get(), EPOLLIN, warden::EventLoop::kPrioritySignals, on_signal);
      !s.ok()) {
    std::fprintf(stderr, "wardend: %s\n", s.message().c_str());
    return 1;
  }
  supervisor.set_on_change([&] { notifier.StatusSoon([&] { return supervisor.Summary(); }); });
  supervisor.set_reload_hooks([&] { notifier.Reloading(); },
                              [&] {
                                notifier.Ready();
                                notifier.Status(supervisor.Summary());
                              });

  spdlog::info("wardend {} {} on {}{}", WARDEN_VERSION,
               reexecuted ? "re-executed, listening" : "listening", server.path(),
               server.socket_activated() ? " (socket activation)" : "");
  if (reexecuted) {
    supervisor.ReapChildren();  // children that exited during the exec window
  } else {
    supervisor.StartAutostart();
  }
  notifier.Status(supervisor.Summary());
  notifier.Ready();
  notifier.StartWatchdog();

  loop.Run();
  notifier.FlushBlocking(std::chrono::milliseconds(200));  // STOPPING=1, if still queued
  spdlog::info("wardend stopped{}", exit_status == 0 ? "" : " (a program went FATAL)");
  return exit_status;
}
