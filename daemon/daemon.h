// Daemon: wardend as one object. It loads the configuration (or takes over a previous image's
// state after `wardenctl reexec`), sets up its own log, and wires the rooms together: the event
// loop (os/), the supervisor (supervisor/), the control socket (control/), re-execution
// (reexec/) and systemd's protocols (systemd/). main.cc only reads the command line.
#pragma once

#include <signal.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "config/config.h"
#include "daemon/control/control_server.h"
#include "daemon/logs/daemon_log.h"
#include "daemon/os/event_loop.h"
#include "daemon/supervisor/saved_state.h"
#include "daemon/supervisor/supervisor.h"
#include "daemon/systemd/notify.h"

namespace warden {

struct DaemonOptions {
  std::string config = config::DefaultConfigPath();
  bool check = false;                    // --check: validate and exit
  std::optional<std::string> log_level;  // --log-level
  // Re-execution (reexec/reexec.h): the state's memfd and the kept listening socket.
  int restore_fd = -1;
  int listen_fd = -1;
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs wardend until it shuts down. The exit status: 0 after a clean shutdown or a valid
  // --check, 1 when it cannot start (with one line why on stderr) or when it shut down because
  // a program went FATAL with warden.exit_on_fatal, 2 for a bad --log-level.
  int Run();

 private:
  bool reexecuted() const { return options_.restore_fd >= 0; }
  // Each returns the exit status to stop with, or nullopt to go on.
  std::optional<int> LoadConfiguration();
  std::optional<int> StartLogging();
  std::optional<int> StartServing();
  // Says in the log, once per program with memory_max, when it cannot be enforced and why.
  void WarnUnenforcedMemoryMax(const std::string& no_cgroups);
  void OnSignals();
  void Shutdown();

  DaemonOptions options_;
  int exit_status_ = 0;  // what Run returns after the loop
  sigset_t handled_{};
  std::optional<DaemonState> restored_;
  std::string restore_error_;
  std::vector<std::string> config_problems_;
  config::Config config_;
  std::shared_ptr<DaemonLog> daemon_log_;
  // Destroyed in the reverse order: the server before the supervisor it serves, both before
  // the loop.
  EventLoop loop_;
  UniqueFd signal_fd_;
  std::unique_ptr<SystemdNotifier> notifier_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<ControlServer> server_;
  // Reads config files for reread/update off the loop's thread; destroyed first, so that no
  // result reaches a supervisor that is gone.
  std::unique_ptr<AsideWorker> aside_;
};

}  // namespace warden
