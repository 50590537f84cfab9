// wardenctl: the command-line client of wardend's control socket. A thin shell around
// ctl/dispatch.h: parse the global options, find the socket, run one command (or, with no
// command, the interactive shell of ctl/shell.h).
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "config/config.h"
#include "ctl/client.h"
#include "ctl/commands.h"
#include "ctl/dispatch.h"
#include "ctl/render.h"
#include "ctl/shell.h"

namespace {

using namespace warden;

Result<std::string> ResolveSocket(const ctl::GlobalOptions& options, std::ostream& err) {
  return ctl::ResolveSocketPath(options.socket, options.config, err, "wardenctl");
}

int Main(const std::vector<std::string>& args) {
  Result<ctl::GlobalOptions> options = ctl::ParseGlobalOptions(args);
  if (!options.ok()) {
    std::cerr << "wardenctl: " << options.status().message() << "\n"
              << "run 'wardenctl --help' for usage\n";
    return ctl::kExitUsage;
  }
  if (options->help) {
    std::cout << ctl::UsageText();
    return ctl::kExitOk;
  }
  if (options->version) {
    std::cout << "wardenctl " WARDEN_VERSION "\n";
    return ctl::kExitOk;
  }
  const bool color = ctl::ColorWanted(isatty(STDOUT_FILENO) == 1, options->no_color,
                                      std::getenv("NO_COLOR"), std::getenv("TERM"));
  const std::string check_config =
      options->config.empty() ? config::DefaultConfigPath() : options->config;

  std::optional<ctl::Command> command;
  if (!options->words.empty()) {
    command = ctl::ParseOrReport(options->words, options->json, std::cerr);
    if (!command) return ctl::kExitUsage;
  }
  if (!command || (command->kind == ctl::CommandKind::kShell && !command->help)) {
    // No command, or `shell`: the interactive shell, connecting at its first command.
    Result<std::string> resolved = ResolveSocket(*options, std::cerr);
    if (!resolved.ok()) {
      std::cerr << "wardenctl: " << resolved.status().message() << "\n";
      return ctl::kExitFailure;
    }
    ctl::ShellOptions shell;
    shell.json = options->json;
    shell.color = color;
    shell.interactive = isatty(STDIN_FILENO) == 1;
    shell.fit_terminal = isatty(STDOUT_FILENO) == 1;
    shell.history_path = ctl::HistoryPath(std::getenv("XDG_STATE_HOME"), std::getenv("HOME"));
    shell.check_config = check_config;
    ctl::Session session(std::move(resolved).value());
    int status = ctl::RunShell(shell, session, std::cin, std::cout, std::cerr);
    std::cout.flush();
    return status;
  }
  command->color = color;
  command->columns = ctl::TerminalColumns(STDOUT_FILENO);
  if (command->kind == ctl::CommandKind::kCheck && command->names.empty()) {
    command->names.push_back(check_config);
  }
  std::string socket;
  if (ctl::NeedsDaemon(*command)) {
    Result<std::string> resolved = ResolveSocket(*options, std::cerr);
    if (!resolved.ok()) {
      std::cerr << "wardenctl: " << resolved.status().message() << "\n";
      return ctl::kExitFailure;
    }
    socket = std::move(resolved).value();
  }
  ctl::Session session(socket);
  int status = ctl::Execute(*command, session, std::cout, std::cerr);
  std::cout.flush();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(std::vector<std::string>(argv, argv + argc));
  } catch (const std::exception& e) {
    // Nothing below throws by design; this is the boundary for the unexpected (bad_alloc, ...).
    std::cerr << "wardenctl: " << e.what() << "\n";
    return ctl::kExitFailure;
  }
}
