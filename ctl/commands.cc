#include "ctl/commands.h"

#include <algorithm>
#include <sstream>

#include "ctl/event_commands.h"
#include "ctl/log_commands.h"
#include "ctl/signals.h"

namespace warden::ctl {
namespace {

Status UsageError(std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

// Optimal-string-alignment distance: edits are insert, delete, substitute and swapping two
// neighbours, so "stauts" is one edit from "status".
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// Splits "--opt=value"; returns false when `arg` is not `name` or `name=...`.
bool MatchLong(std::string_view arg, std::string_view name, std::string_view* value,
               bool* has_value) {
  if (!arg.starts_with(name)) return false;
  std::string_view rest = arg.substr(name.size());
  if (rest.empty()) {
    *has_value = false;
    return true;
  }
  if (rest[0] != '=') return false;
  *value = rest.substr(1);
  *has_value = true;
  return true;
}

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> kCommands = {
      {CommandKind::kStatus, "status", "[NAME...]",
       "show each process's state and why (every process when no NAME is given)",
       "wardenctl status web"},
      {CommandKind::kStart, "start", "NAME...|all",
       "start processes and wait until they are running (or have failed)", "wardenctl start web"},
      {CommandKind::kStop, "stop", "NAME...|all", "stop processes and wait until they have exited",
       "wardenctl stop 'webapps:*'"},
      {CommandKind::kRestart, "restart", "NAME...|all", "stop processes, then start them again",
       "wardenctl restart all"},
      {CommandKind::kSignal, "signal", "SIG NAME...|all",
       "send a signal (TERM, SIGHUP, 10, ...) to processes", "wardenctl signal HUP web"},
      {CommandKind::kPid, "pid", "[NAME]",
       "print a process's pid (nothing, exit 1: not running); without NAME, wardend's own",
       "wardenctl pid web"},
      {CommandKind::kShow, "show", "NAME",
       "one process in detail: state and why, pid and children, uptime, restarts, last exit, "
       "command, directory, user, environment, logs and their sizes, readiness, health, memory, "
       "cpu, and the last 10 lines of its logs",
       "wardenctl show web"},
      {CommandKind::kVersion, "version", "", "print the versions of wardenctl and wardend",
       "wardenctl version"},
      {CommandKind::kShutdown, "shutdown", "", "stop every process, then wardend itself",
       "wardenctl shutdown"},
      {CommandKind::kReexec, "reexec", "",
       "re-execute wardend's binary (an upgrade) keeping every program running, same pids",
       "wardenctl reexec"},
      {CommandKind::kAvail, "avail", "",
       "list every program: in use (running under wardend), avail (in the files, not yet "
       "added: `update` adds it) or removed (in use, gone from the files)",
       "wardenctl avail"},
      {CommandKind::kReread, "reread", "",
       "show what changed in the configuration files: added, removed, changed (and which keys)",
       "wardenctl reread"},
      {CommandKind::kUpdate, "update", "[NAME...]",
       "apply configuration changes: start added programs, stop removed ones, restart only "
       "what must",
       "wardenctl update web"},
      {CommandKind::kReload, "reload", "",
       "re-read everything and apply it (the same as update of all; running programs that did "
       "not change keep running)",
       "wardenctl reload"},
      {CommandKind::kCheck, "check", "[FILE]",
       "validate a configuration offline (default: -c FILE, else /etc/warden/warden.yaml), with "
       "its users, groups, commands and folders",
       "wardenctl check -c /etc/warden/warden.yaml"},
      {CommandKind::kImportSupervisord, "import-supervisord", "FILE",
       "convert a supervisord.conf (and its includes) to warden YAML on stdout; what cannot be "
       "converted is listed on stderr",
       "wardenctl import-supervisord /etc/supervisor/supervisord.conf > warden.yaml"},
      {CommandKind::kTail, "tail", "[-f] [-n N|-c N] NAME [stdout|stderr]",
       "print the last N lines (default 10) or bytes of a process's log; -f: then follow it",
       "wardenctl tail -f web stderr"},
      {CommandKind::kLogs, "logs", "[-f] [-n N] [NAME...]",
       "the last N lines (default 10) of several processes' logs, each line prefixed with its "
       "name (every process when no NAME is given); -f: then their live output interleaved, "
       "with wardend's lifecycle lines",
       "wardenctl logs -f web api"},
      {CommandKind::kMaintail, "maintail", "[-f] [-n N|-c N]",
       "print the end of wardend's own log; -f: then follow it", "wardenctl maintail -n 50"},
      {CommandKind::kLogRotate, "logrotate", "[NAME...]",
       "reopen log files after an external rotation (every process's by default; as SIGUSR2)",
       "wardenctl logrotate"},
      {CommandKind::kClear, "clear", "NAME...|all",
       "empty processes' log files and remove their rotated backups", "wardenctl clear web"},
      {CommandKind::kEvents, "events", "[--current] [NAME...]",
       "print state changes as they happen (time, process, from -> to, pid, reason); --json: "
       "one JSON object per line; --current: each process's state first (from == to)",
       "wardenctl events --json"},
      {CommandKind::kWait, "wait", "NAME STATE [--timeout S]",
       "block until NAME is in STATE (all its processes); exit 0, or 1 after the timeout",
       "wardenctl wait web RUNNING --timeout 30"},
      {CommandKind::kShell, "shell", "",
       "an interactive shell with the same commands, line editing, history and TAB completion "
       "(also what wardenctl with no command starts)",
       "wardenctl -s /run/warden/warden.sock shell"},
      {CommandKind::kHelp, "help", "[COMMAND]", "show the commands, or one command's help",
       "wardenctl help status"},
  };
  return kCommands;
}

const CommandSpec& SpecFor(CommandKind kind) {
  for (const CommandSpec& spec : Commands()) {
    if (spec.kind == kind) return spec;
  }
  return Commands().back();  // unreachable: every kind is in the table
}

const CommandSpec* FindCommand(std::string_view name) {
  for (const CommandSpec& spec : Commands()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

std::string SuggestCommand(std::string_view typo) {
  // A unique prefix ("sig" -> "signal", "shut" -> "shutdown") is the likeliest intent.
  if (typo.size() >= 2) {
    const CommandSpec* only = nullptr;
    size_t matches = 0;
    for (const CommandSpec& spec : Commands()) {
      if (std::string_view(spec.name).starts_with(typo)) {
        only = &spec;
        ++matches;
      }
    }
    if (matches == 1) return only->name;
  }
  // Otherwise the nearest name within two edits (never a rewrite of the whole word).
  std::vector<std::string> names;
  for (const CommandSpec& spec : Commands()) names.emplace_back(spec.name);
  return SuggestName(typo, names);
}

std::string SuggestName(std::string_view typo, const std::vector<std::string>& names) {
  const std::string* best = nullptr;
  size_t best_distance = 3;
  for (const std::string& name : names) {
    size_t d = EditDistance(typo, name);
    if (d < best_distance && d < typo.size()) {
      best = &name;
      best_distance = d;
    }
  }
  return best != nullptr ? *best : "";
}

namespace {

// `-s X`, `-sX`, `--socket X`, `--socket=X` and the same for -c/--config: when argv[*i] is one
// of them, stores the value (advancing *i past a separate one) and returns true. `joined`:
// whether "-sX" counts (not after the command, where "-c5" may be tail's option). `take_c`:
// whether -c is the config (not after tail/maintail, whose -c is a byte count).
Result<bool> TakeValueOption(const std::vector<std::string>& argv, size_t* i, bool joined,
                             bool take_c, GlobalOptions* opts) {
  std::string_view arg = argv[*i];
  std::string_view value;
  bool has_value = false;
  std::string* target = nullptr;
  std::string_view option;
  const bool short_s = arg.starts_with("-s") && (joined || arg.size() == 2);
  const bool short_c = take_c && arg.starts_with("-c") && (joined || arg.size() == 2);
  if (arg.size() >= 2 && (short_s || short_c) && !arg.starts_with("--")) {
    target = arg[1] == 's' ? &opts->socket : &opts->config;
    option = arg.substr(0, 2);
    has_value = arg.size() > 2;
    value = arg.substr(2);
  } else if (MatchLong(arg, "--socket", &value, &has_value)) {
    target = &opts->socket;
    option = "--socket";
  } else if (MatchLong(arg, "--config", &value, &has_value)) {
    target = &opts->config;
    option = "--config";
  }
  if (target == nullptr) return false;
  if (!has_value) {
    if (*i + 1 >= argv.size()) {
      return UsageError("option '" + std::string(option) + "' needs a value");
    }
    value = argv[++*i];
  }
  if (value.empty()) return UsageError("option '" + std::string(option) + "' needs a value");
  *target = std::string(value);
  return true;
}

// The command's words after global options written after the command (`wardenctl check -c
// FILE`, `wardenctl status -s SOCK`) are taken out; everything after `--` stays.
Result<std::vector<std::string>> TakeTrailingOptions(const std::vector<std::string>& words,
                                                     GlobalOptions* opts) {
  const bool tail = words[0] == "tail" || words[0] == "maintail";
  std::vector<std::string> kept = {words[0]};
  for (size_t i = 1; i < words.size(); ++i) {
    if (words[i] == "--") {
      kept.insert(kept.end(), words.begin() + static_cast<std::ptrdiff_t>(i), words.end());
      break;
    }
    Result<bool> taken = TakeValueOption(words, &i, /*joined=*/false, /*take_c=*/!tail, opts);
    if (!taken.ok()) return taken.status();
    if (*taken) continue;
    if (words[i] == "--no-color" || words[i] == "--no-colour") {
      opts->no_color = true;
      continue;
    }
    kept.push_back(words[i]);
  }
  return kept;
}

}  // namespace

Result<GlobalOptions> ParseGlobalOptions(const std::vector<std::string>& argv) {
  GlobalOptions opts;
  for (size_t i = 1; i < argv.size(); ++i) {
    std::string_view arg = argv[i];
    Result<bool> taken = TakeValueOption(argv, &i, /*joined=*/true, /*take_c=*/true, &opts);
    if (!taken.ok()) return taken.status();
    if (*taken) continue;
    if (arg == "--json") {
      opts.json = true;
    } else if (arg == "-h" || arg == "--help") {
      opts.help = true;
    } else if (arg == "--no-color" || arg == "--no-colour") {
      opts.no_color = true;
    } else if (arg == "--version" || arg == "-V") {
      opts.version = true;
    } else if (arg == "--") {
      opts.words.assign(argv.begin() + static_cast<std::ptrdiff_t>(i) + 1, argv.end());
      break;
    } else if (arg.size() > 1 && arg[0] == '-') {
      return UsageError("unknown option '" + std::string(arg) + "'");
    } else {
      Result<std::vector<std::string>> words = TakeTrailingOptions(
          std::vector<std::string>(argv.begin() + static_cast<std::ptrdiff_t>(i), argv.end()),
          &opts);
      if (!words.ok()) return words.status();
      opts.words = std::move(words).value();
      break;
    }
  }
  return opts;
}

Result<Command> ParseCommand(const std::vector<std::string>& words, bool json) {
  if (words.empty()) return UsageError("no command given");
  const CommandSpec* spec = FindCommand(words[0]);
  if (spec == nullptr) {
    std::string message = "unknown command '" + words[0] + "'";
    std::string suggestion = SuggestCommand(words[0]);
    if (!suggestion.empty()) message += " (did you mean '" + suggestion + "'?)";
    return UsageError(message);
  }
  const std::string name = spec->name;

  Command cmd;
  cmd.kind = spec->kind;
  cmd.json = json;
  std::vector<std::string> args;
  bool options_done = false;
  bool have_signal = false;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& arg = words[i];
    if (!options_done && arg.size() > 1 && arg[0] == '-') {
      if (arg == "--json") {
        cmd.json = true;
      } else if (arg == "-h" || arg == "--help") {
        cmd.help = true;
      } else if (arg == "--") {
        options_done = true;
      } else if (cmd.kind == CommandKind::kSignal && !have_signal && args.empty() &&
                 ParseSignal(std::string_view(arg).substr(1))) {
        // kill(1) style: `signal -HUP web`, `signal -9 web`.
        cmd.signal = *ParseSignal(std::string_view(arg).substr(1));
        have_signal = true;
      } else if (Status event_error; ParseEventOption(words, &i, &cmd, &event_error)) {
        if (!event_error.ok()) return UsageError(name + ": " + event_error.message());
      } else if (Status bad; ParseLogOption(words, &i, &cmd, &bad)) {
        if (!bad.ok()) return UsageError(name + ": " + bad.message());
      } else {
        return UsageError(name + ": unknown option '" + arg + "'");
      }
      continue;
    }
    args.push_back(arg);
  }
  if (cmd.help) return cmd;

  auto no_names = [&] {
    return UsageError(name + ": no process name given (use 'all' for every process)");
  };
  switch (cmd.kind) {
    case CommandKind::kHelp:
      if (args.size() > 1) return UsageError("help: takes at most one command");
      if (!args.empty()) {
        if (FindCommand(args[0]) == nullptr) {
          std::string message = "unknown command '" + args[0] + "'";
          std::string suggestion = SuggestCommand(args[0]);
          if (!suggestion.empty()) message += " (did you mean '" + suggestion + "'?)";
          return UsageError(message);
        }
        cmd.topic = args[0];
      }
      break;
    case CommandKind::kStatus:
      cmd.names = std::move(args);
      break;
    case CommandKind::kStart:
    case CommandKind::kStop:
    case CommandKind::kRestart:
      if (args.empty()) return no_names();
      cmd.names = std::move(args);
      break;
    case CommandKind::kSignal: {
      auto first = args.begin();
      if (!have_signal) {
        if (args.empty()) return UsageError("signal: no signal given");
        std::optional<int> sig = ParseSignal(args[0]);
        if (!sig) return UsageError("signal: unknown signal '" + args[0] + "'");
        cmd.signal = *sig;
        ++first;
      }
      if (first == args.end()) return no_names();
      cmd.names.assign(first, args.end());
      break;
    }
    case CommandKind::kPid:
      if (args.size() > 1) return UsageError("pid: takes at most one process name");
      cmd.names = std::move(args);
      break;
    case CommandKind::kShow:
      if (args.size() != 1) return UsageError("show: takes one process name");
      cmd.names = std::move(args);
      break;
    case CommandKind::kVersion:
    case CommandKind::kShutdown:
    case CommandKind::kReexec:
    case CommandKind::kReread:
    case CommandKind::kAvail:
    case CommandKind::kReload:
    case CommandKind::kShell:
      if (!args.empty()) return UsageError(name + ": takes no arguments");
      break;
    case CommandKind::kUpdate:
      cmd.names = std::move(args);
      break;
    case CommandKind::kCheck:
      if (args.size() > 1) return UsageError("check: takes at most one file");
      cmd.names = std::move(args);
      break;
    case CommandKind::kImportSupervisord:
      if (args.size() != 1) return UsageError("import-supervisord: takes one file");
      cmd.names = std::move(args);
      break;
    case CommandKind::kTail:
    case CommandKind::kLogs:
    case CommandKind::kMaintail:
    case CommandKind::kLogRotate:
    case CommandKind::kClear:
      if (Status s = FinishLogCommand(&cmd, std::move(args)); !s.ok()) return s;
      break;
    case CommandKind::kEvents:
    case CommandKind::kWait:
      if (Status s = FinishEventCommand(&cmd, std::move(args)); !s.ok()) return s;
      break;
  }
  return cmd;
}

std::string UsageText() {
  std::ostringstream out;
  out << "usage: wardenctl [-c FILE | -s SOCKET] [--json] COMMAND [ARGS...]\n"
         "       wardenctl [-c FILE | -s SOCKET] [shell]      (the interactive shell)\n"
         "\n"
         "Asks wardend, over its control socket, about the programs it supervises and tells it\n"
         "what to do with them. With no COMMAND, starts an interactive shell.\n"
         "\n"
         "Commands:\n";
  size_t width = 0;
  for (const CommandSpec& spec : Commands()) {
    width = std::max(width,
                     std::string_view(spec.name).size() + 1 + std::string_view(spec.args).size());
  }
  for (const CommandSpec& spec : Commands()) {
    std::string head = std::string(spec.name) + (*spec.args ? " " : "") + spec.args;
    out << "  " << head << std::string(width + 2 - head.size(), ' ') << spec.description << "\n";
  }
  out << "\n"
         "NAME is prog, group:*, group:proc or all.\n"
         "\n"
         "Options:\n"
         "  -s, --socket SOCKET  the control socket (default: $WARDEN_SOCKET, else the config's\n"
         "                       warden.socket, else the built-in default)\n"
         "  -c, --config FILE    read warden.socket from this configuration\n"
         "      --json           print machine-readable JSON (also after the command)\n"
         "      --no-color       never colour status states (also: NO_COLOR=1; colour is only\n"
         "                       used when stdout is a terminal)\n"
         "  -h, --help           show this help; `wardenctl COMMAND --help` for one command\n"
         "      --version        print wardenctl's version\n"
         "\n"
         "Examples:\n"
         "  wardenctl status                      every process, one line each\n"
         "  wardenctl -s /tmp/w.sock restart web  restart web through another socket\n"
         "  wardenctl status --json web           machine-readable\n"
         "  wardenctl                             the interactive shell\n"
         "\n"
         "Exit status: 0 done, 1 failure, 2 usage error, 3 status found a process not RUNNING,\n"
         "4 no such process. `wardenctl help COMMAND` or `wardenctl COMMAND --help`: one\n"
         "command's usage and an example. See also wardenctl(1).\n";
  return out.str();
}

std::string CommandHelp(const CommandSpec& spec) {
  std::string usage =
      std::string("usage: wardenctl ") + spec.name + (*spec.args ? " " : "") + spec.args + "\n";
  return usage + spec.description + "\nexample: " + spec.example + "\n";
}

}  // namespace warden::ctl
