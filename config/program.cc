// Reading one entry of `programs:`. Keys and defaults follow supervisord's [program:x] section;
// docs/configuration.md is the reference for each.
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "config/loader_internal.h"
#include "config/values.h"

namespace warden::config::internal {
namespace {

constexpr std::array<std::string_view, 34> kProgramKeys = {
    "command",      "numprocs",     "numprocs_start", "directory",    "environment",
    "user",         "umask",        "autostart",      "autorestart",  "exitcodes",
    "startsecs",    "startretries", "ready",          "stopsignal",   "stopwaitsecs",
    "stopasgroup",  "killasgroup",  "priority",       "depends_on",   "stdout",
    "stderr",       "group",        "ready_timeout",  "backoff",      "rlimits",
    "keep_orphans", "access",       "env_file",       "on_fatal",     "fatal_retry",
    "memory_limit", "memory_max",   "healthcheck",    "watchdog_sec",
};
// Keys of supervisord's [program:x] (and of other supervisors) that warden spells otherwise:
// "did you mean" names the warden form. Kept apart from kProgramKeys so that they are never
// accepted, only explained.
constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kForeignKeys = {{
    {"stdout_logfile", "stdout: {file: PATH}"},
    {"stdout_logfile_maxbytes", "stdout: {max_bytes: SIZE}"},
    {"stdout_logfile_backups", "stdout: {backups: N}"},
    {"stderr_logfile", "stderr: {file: PATH}"},
    {"stderr_logfile_maxbytes", "stderr: {max_bytes: SIZE}"},
    {"stderr_logfile_backups", "stderr: {backups: N}"},
    {"redirect_stderr", "stderr: stdout"},
    {"logfile", "stdout: {file: PATH}"},
    {"process_name", "numprocs (processes are named NAME_00, NAME_01, ...)"},
    {"cmd", "command"},
    {"exec", "command"},
    {"args", "command (a list: [program, arg, ...])"},
    {"cwd", "directory"},
    {"workdir", "directory"},
    {"working_dir", "directory"},
    {"env", "environment"},
    {"restart", "autorestart"},
    {"retries", "startretries"},
    {"stop_signal", "stopsignal"},
    {"depends", "depends_on"},
    {"requires", "depends_on"},
    {"after", "depends_on"},
    {"max_memory_restart", "memory_limit"},  // PM2
    {"memory_high", "memory_limit"},
}};
constexpr std::array<std::string_view, 6> kLogKeys = {"file",    "max_bytes",  "backups",
                                                      "on_full", "timestamps", "journal"};
constexpr std::array<std::string_view, 2> kOnFullModes = {"block", "drop"};

// More processes than this from one program is surely a typo, and would cost memory at once.
constexpr int64_t kMaxNumprocs = 10000;
constexpr int64_t kIntMax = std::numeric_limits<int>::max();
constexpr int64_t kIntMin = std::numeric_limits<int>::min();

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

void ReadCommand(const FileReader& reader, const Entry& entry, Program* program) {
  if (auto words = ReadCommandWords(reader, entry)) program->command = std::move(*words);
}

void ReadEnvironment(const FileReader& reader, const Entry& entry, Program* program) {
  const std::string what = "'environment' of program " + Quote(program->name);
  reader.ForEachEntry(entry.value, entry.value_where, what, [&](const Entry& var) {
    if (var.key.empty() || var.key.find('=') != std::string::npos) {
      reader.Error(var.key_where, "invalid environment variable name " + Quote(var.key));
      return;
    }
    // Numbers and booleans are welcome as their text (PORT: 8080); yaml-cpp keeps it as written.
    if (!var.value.IsScalar()) {
      reader.Error(var.value_where, "environment variable " + Quote(var.key) +
                                        " must be a string (write \"\" for an empty value)");
      return;
    }
    program->environment.emplace_back(var.key, var.value.Scalar());
  });
}

// `env_file: PATH` or a list; relative paths against the config file's folder; `-PATH`: optional.
void ReadEnvFiles(const FileReader& reader, const Entry& entry, const std::string& base_dir,
                  Program* program) {
  const auto paths = reader.StringList(entry);
  if (!paths) return;
  for (const Located& item : *paths) {
    EnvFile file;
    std::string_view path = item.text;
    if (!path.empty() && path.front() == '-') {
      file.optional = true;
      path.remove_prefix(1);
    }
    if (path.empty()) {
      reader.Error(item.where, "'env_file' entries must be paths (optional: -PATH)");
      continue;
    }
    file.path = ResolvePath(base_dir, std::string(path));
    file.where = item.where;
    program->env_files.push_back(std::move(file));
  }
}

void ReadAutorestart(const FileReader& reader, const Entry& entry, Program* program) {
  if (entry.value.IsScalar()) {
    const std::string& text = entry.value.Scalar();
    if (text == "unexpected") {
      program->autorestart = AutoRestart::kUnexpected;
      return;
    }
    if (const auto value = ParseBool(text)) {
      program->autorestart = *value ? AutoRestart::kTrue : AutoRestart::kFalse;
      return;
    }
  }
  static constexpr std::array<std::string_view, 3> kChoices = {"true", "false", "unexpected"};
  const std::string hint =
      entry.value.IsScalar() ? DidYouMean(entry.value.Scalar(), kChoices) : std::string();
  reader.Error(entry.value_where, "'autorestart' must be true, false or unexpected" + hint);
}

void ReadExitcodes(const FileReader& reader, const Entry& entry, Program* program) {
  const auto items = reader.StringList(entry);
  if (!items) return;
  std::vector<int> codes;
  bool ok = true;
  for (const Located& item : *items) {
    const auto code = ParseInteger(item.text);
    if (!code || *code < 0 || *code > 255) {
      reader.Error(item.where, "'exitcodes' must be a list of integers from 0 to 255");
      ok = false;
      continue;
    }
    codes.push_back(static_cast<int>(*code));
  }
  if (ok) program->exitcodes = std::move(codes);
}

LogSpec ReadLog(const FileReader& reader, const Entry& entry, const std::string& program_name,
                const std::string& base_dir) {
  LogSpec log;
  if (entry.key == "stderr" && entry.value.IsScalar()) {
    if (entry.value.Scalar() == "stdout") {
      log.merge_into_stdout = true;
    } else {
      reader.Error(entry.value_where,
                   "'stderr' must be a map such as {file: AUTO}, or the word stdout");
    }
    return log;
  }
  if (!entry.value.IsMap()) {
    reader.Error(entry.value_where,
                 Quote(entry.key) + " must be a map such as {file: AUTO, max_bytes: 50MB}");
    return log;
  }
  const std::string context = Quote(entry.key) + " of program " + Quote(program_name);
  reader.ForEachEntry(entry.value, entry.value_where, context, [&](const Entry& e) {
    if (e.key == "file") {
      if (auto file = reader.NonEmptyString(e)) {
        std::string upper = *file;
        for (char& c : upper) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
        if (upper == "AUTO" || upper == "NONE") {
          log.file = upper;
        } else {
          log.file = ResolvePath(base_dir, *file);
        }
      }
    } else if (e.key == "max_bytes") {
      if (auto size = reader.Size(e)) log.max_bytes = *size;
    } else if (e.key == "backups") {
      if (auto backups = reader.Integer(e, 0, kIntMax)) log.backups = static_cast<int>(*backups);
    } else if (e.key == "on_full") {
      if (auto v = reader.Choice(e, kOnFullModes))
        log.on_full = *v == 0 ? OnFull::kBlock : OnFull::kDrop;
    } else if (e.key == "timestamps") {
      if (auto v = reader.Bool(e)) log.timestamps = *v;
    } else if (e.key == "journal") {
      if (auto v = reader.Bool(e)) log.journal = *v;
    } else {
      reader.UnknownKey(e, "in " + context, kLogKeys);
    }
  });
  return log;
}

}  // namespace

std::optional<std::vector<std::string>> ReadCommandWords(const FileReader& reader,
                                                         const Entry& entry) {
  const std::string key = Quote(entry.key);
  std::vector<std::string> command;
  if (entry.value.IsSequence()) {
    const auto words = reader.StringList(entry);
    if (!words) return std::nullopt;
    if (words->empty()) {
      reader.Error(entry.value_where, key + " must not be empty");
      return std::nullopt;
    }
    for (const Located& word : *words) command.push_back(word.text);
  } else if (entry.value.IsScalar()) {
    auto words = SplitCommand(entry.value.Scalar());
    if (!words) {
      const std::string why = words.status().message();
      reader.Error(entry.value_where,
                   why == "empty command" ? key + " must not be empty" : key + ": " + why);
      return std::nullopt;
    }
    command = std::move(words).value();
  } else {
    reader.Error(entry.value_where, key + " must be a string or a list of strings");
    return std::nullopt;
  }
  if (command.front().empty()) {
    reader.Error(entry.value_where, key + " must not start with an empty word");
    return std::nullopt;
  }
  return command;
}

std::span<const std::string_view> ProgramKeys() { return kProgramKeys; }
std::span<const std::string_view> LogKeys() { return kLogKeys; }

ProgramDraft ReadProgram(const FileReader& reader, const Entry& entry,
                         const std::string& base_dir) {
  ProgramDraft draft;
  Program& p = draft.program;
  p.name = entry.key;
  p.where = entry.key_where;
  p.places = {p.where, p.where, p.where, p.where, p.where};
  const std::string context = "program " + Quote(p.name);
  bool has_command = false;

  if (!entry.value.IsNull() && !entry.value.IsMap()) {
    reader.Error(entry.value_where, "program " + Quote(p.name) + " must be a map of settings");
    return draft;
  }
  reader.ForEachEntry(entry.value, entry.value_where, context, [&](const Entry& e) {
    const std::string_view key = e.key;
    if (key == "command") {
      has_command = true;
      p.places.command = e.value_where;
      ReadCommand(reader, e, &p);
      CheckExpansions(reader, e.value_where, "'command'", p.command);
    } else if (key == "numprocs") {
      if (auto v = reader.Integer(e, 1, kMaxNumprocs)) p.numprocs = static_cast<int>(*v);
    } else if (key == "numprocs_start") {
      if (auto v = reader.Integer(e, 0, kIntMax)) p.numprocs_start = static_cast<int>(*v);
    } else if (key == "directory") {
      p.places.directory = e.value_where;
      if (auto v = reader.String(e)) p.directory = *v;
    } else if (key == "environment") {
      ReadEnvironment(reader, e, &p);
      std::vector<std::string> values;
      for (const auto& [name, value] : p.environment) values.push_back(value);
      CheckExpansions(reader, e.value_where, "'environment'", values);
    } else if (key == "on_fatal") {
      if (auto words = ReadCommandWords(reader, e)) p.on_fatal = std::move(*words);
    } else if (key == "fatal_retry") {
      if (auto v = reader.Seconds(e)) p.fatal_retry = *v;
    } else if (key == "env_file") {
      ReadEnvFiles(reader, e, base_dir, &p);
    } else if (key == "user") {
      p.places.user = e.value_where;
      if (auto v = reader.NonEmptyString(e)) p.user = *v;
    } else if (key == "umask") {
      if (auto v = reader.Octal(e, 0777)) p.umask = static_cast<mode_t>(*v);
    } else if (key == "autostart") {
      if (auto v = reader.Bool(e)) p.autostart = *v;
    } else if (key == "autorestart") {
      ReadAutorestart(reader, e, &p);
    } else if (key == "exitcodes") {
      ReadExitcodes(reader, e, &p);
    } else if (key == "startsecs") {
      if (auto v = reader.Seconds(e)) p.startsecs = *v;
    } else if (key == "startretries") {
      if (auto v = reader.Integer(e, 0, kIntMax)) p.startretries = static_cast<int>(*v);
    } else if (key == "ready") {
      ReadReady(reader, e, &p);
    } else if (key == "healthcheck") {
      ReadHealthCheck(reader, e, &p);
    } else if (key == "watchdog_sec") {
      if (auto v = reader.Seconds(e)) p.watchdog_sec = *v;
    } else if (key == "ready_timeout") {
      if (auto v = reader.Seconds(e)) p.ready_timeout = *v;
    } else if (key == "backoff") {
      ReadBackoff(reader, e, &p);
    } else if (key == "rlimits") {
      ReadRlimits(reader, e, &p);
    } else if (key == "memory_limit") {
      if (auto v = reader.Size(e)) p.memory_limit = *v;
    } else if (key == "memory_max") {
      p.places.memory_max = e.value_where;
      if (auto v = reader.Size(e)) p.memory_max = *v;
    } else if (key == "keep_orphans") {
      if (auto v = reader.Bool(e)) p.keep_orphans = *v;
    } else if (key == "access") {
      ReadAccess(reader, e, context, &p.access);
    } else if (key == "group") {
      p.places.group = e.value_where;
      if (auto v = reader.NonEmptyString(e)) p.group = *v;
    } else if (key == "stopsignal") {
      if (auto v = reader.Signal(e)) p.stopsignal = *v;
    } else if (key == "stopwaitsecs") {
      if (auto v = reader.Seconds(e)) p.stopwaitsecs = *v;
    } else if (key == "stopasgroup") {
      if (auto v = reader.Bool(e)) p.stopasgroup = *v;
    } else if (key == "killasgroup") {
      if (auto v = reader.Bool(e)) p.killasgroup = *v;
    } else if (key == "priority") {
      if (auto v = reader.Integer(e, kIntMin, kIntMax)) p.priority = static_cast<int>(*v);
    } else if (key == "depends_on") {
      if (auto v = reader.StringList(e)) {
        draft.depends_on = std::move(*v);
        for (const Located& name : draft.depends_on) p.depends_on.push_back(name.text);
      }
    } else if (key == "stdout") {
      p.stdout_log = ReadLog(reader, e, p.name, base_dir);
    } else if (key == "stderr") {
      p.stderr_log = ReadLog(reader, e, p.name, base_dir);
    } else if (const auto* foreign =
                   std::find_if(kForeignKeys.begin(), kForeignKeys.end(),
                                [&](const auto& known) { return known.first == key; });
               foreign != kForeignKeys.end()) {
      reader.Error(e.key_where, "unknown key " + Quote(key) + " in " + context +
                                    " (did you mean '" + std::string(foreign->second) + "'?)");
    } else {
      reader.UnknownKey(e, "in " + context, kProgramKeys);
    }
  });
  if (!has_command) reader.Error(p.where, "program " + Quote(p.name) + " has no 'command'");
  if (p.numprocs_start > kIntMax - p.numprocs) {
    reader.Error(p.where, "program " + Quote(p.name) + ": 'numprocs_start' is too large");
    p.numprocs_start = 0;
  }
  if (p.watchdog_sec > 0 && p.ready != ReadyMode::kNotify) {
    reader.Error(p.where, "program " + Quote(p.name) +
                              ": 'watchdog_sec' needs 'ready: notify' (WATCHDOG=1 comes through "
                              "the notify socket)");
  }
  // As supervisord: signalling the group on stop implies killing the group on timeout.
  if (p.stopasgroup) p.killasgroup = true;
  return draft;
}

}  // namespace warden::config::internal
