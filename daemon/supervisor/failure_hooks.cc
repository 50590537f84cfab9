// What wardend does when a process goes FATAL: the `on_fatal` commands and `exit_on_fatal`
// (docs/configuration.md). A hook is a child of wardend like any program's process, started
// with the same clone+exec (no waiting: os::Spawn returns once it has exec'd), watched so that
// its exit is logged and it is reaped, and never waited for by the loop.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "daemon/os/spawn_setup.h"
#include "daemon/supervisor/supervisor.h"

namespace warden {
namespace {

// The exit status a shell would show: the code, or 128 + N for signal N; empty when the
// process never ran (a spawn error).
std::string ShellExitStatus(const std::optional<core::ExitStatus>& exit) {
  if (!exit) return "";
  return std::to_string(exit->signaled ? 128 + exit->value : exit->value);
}

}  // namespace

void Supervisor::OnFatal(const Process& process) {
  const core::ProcessMachine& m = process.machine();
  const std::vector<std::pair<std::string, std::string>> vars = {
      {"WARDEN_PROCESS", process.full_name()},
      {"WARDEN_STATE", core::StateName(m.state())},
      {"WARDEN_EXIT_STATUS", ShellExitStatus(m.last_exit())},
      {"WARDEN_REASON", m.reason()},
  };
  const std::vector<std::string>* commands[] = {&process.program().on_fatal,
                                                &config_.warden.on_fatal};
  for (const std::vector<std::string>* command : commands) {
    if (command->empty()) continue;
    os::SpawnSpec spec;
    spec.env = InheritedEnvironment();
    for (const auto& [key, value] : vars) SetVariable(spec.env, key, value);
    spec.argv = *command;
    int search_error = 0;
    spec.path = os::SearchPath(spec.argv.front(), GetVariable(spec.env, "PATH").value_or(""),
                               &search_error);
    const std::string what = process.full_name() + ": on_fatal " + spec.argv.front();
    if (spec.path.empty()) {
      spdlog::error("{}: {}", what, core::SpawnError{"exec", search_error}.ToString());
      continue;
    }
    // Its output goes where wardend's own goes (the terminal, the journal's stream).
    spec.stdout_fd = STDERR_FILENO;
    spec.stderr_fd = STDERR_FILENO;
    const core::SpawnOutcome outcome = system_.Spawn(spec);
    if (outcome.pid <= 0) {
      spdlog::error("{}: {}", what,
                    outcome.error ? outcome.error->ToString() : std::string("spawn failed"));
      continue;
    }
    spdlog::info("{}: started, pid {}", what, outcome.pid);
    WatchChild(outcome.pid, [what, pid = outcome.pid](core::ExitStatus status) {
      if (!status.signaled && status.value == 0) {
        spdlog::info("{}: pid {} done", what, pid);
      } else {
        spdlog::warn("{}: pid {} {}", what, pid, core::DescribeExit(status));
      }
    });
  }
  if (config_.warden.exit_on_fatal && on_exit_on_fatal_) {
    spdlog::error("{} is FATAL and warden.exit_on_fatal is set: shutting down",
                  process.full_name());
    on_exit_on_fatal_();
  }
}

}  // namespace warden
