// [program:x] sections: the per-program settings, the per-process ones (expanded for each
// process number), and the decision between one warden program and one per process.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>

#include "base/signals.h"
#include "config/config.h"
#include "config/values.h"
#include "importer/import_supervisord_internal.h"

namespace warden::importer::import_internal {

// The keys of a [program:x] section (supervisord 4.x, options.py).
// clang-format off
const std::set<std::string, std::less<>> kProgramKeys = {
    "command", "process_name", "numprocs", "numprocs_start", "priority", "autostart",
    "autorestart", "startsecs", "startretries", "exitcodes", "stopsignal", "stopwaitsecs",
    "stopasgroup", "killasgroup", "user", "redirect_stderr", "environment", "directory", "umask",
    "serverurl",
    "stdout_logfile", "stdout_logfile_maxbytes", "stdout_logfile_backups",
    "stdout_capture_maxbytes", "stdout_events_enabled", "stdout_syslog",
    "stderr_logfile", "stderr_logfile_maxbytes", "stderr_logfile_backups",
    "stderr_capture_maxbytes", "stderr_events_enabled", "stderr_syslog"};
// clang-format on

// ---------------------------------------------------------------------------------------------
// [program:x]

std::optional<std::string> Importer::CommandYaml(const std::string& command, const IniValue& where,
                                                 const std::string& what) {
  Result<std::vector<std::string>> words = supervisord::ShlexSplit(command);
  if (!words.ok()) {
    At(where, Severity::kError,
       what + ": supervisord cannot split it into words (" + words.status().message() + ")");
    return std::nullopt;
  }
  if (words->empty()) {
    At(where, Severity::kError, what + " is empty");
    return std::nullopt;
  }
  // The words wardend must end with, after its own ${...} expansion.
  for (std::string& word : *words) word = Resolve(word);
  // Kept as one string when warden's splitting reads the same words (continuation lines
  // joined with blanks); else written as the exact list.
  std::string one_line = command;
  std::replace(one_line.begin(), one_line.end(), '\n', ' ');
  one_line = Resolve(one_line);
  Result<std::vector<std::string>> ours = config::SplitCommand(one_line);
  if (ours.ok() && *ours == *words) return YamlString(one_line);
  At(where, Severity::kNote,
     what +
         ": written as a list of words, because warden's shell-style splitting would read "
         "the string differently from supervisord's shlex");
  std::string list = "[";
  for (size_t i = 0; i < words->size(); ++i) list += (i ? ", " : "") + YamlString((*words)[i]);
  return list + "]";
}

std::set<std::string> Importer::ValuesToSplit(const IniValue& command, const Scope& scope,
                                              const std::string& what) {
  std::set<std::string> split;
  const std::string& text = command.text;
  for (size_t at = text.find("%(ENV_"); at != std::string::npos; at = text.find("%(ENV_", at + 1)) {
    const size_t end = text.find(")s", at);
    if (end == std::string::npos) break;
    const std::string name = text.substr(at + 6, end - at - 6);
    if (scope.count("ENV_" + name) || split.count(name)) continue;  // the program's own value
    const std::optional<std::string> value = host_.getenv(name);
    if (!value) continue;
    Result<std::vector<std::string>> words = supervisord::ShlexSplit(*value);
    if (!words.ok() || (words->size() == 1 && (*words)[0] == *value)) continue;
    split.insert(name);
    At(command, Severity::kNote,
       what + ": %(ENV_" + name + ")s is " + std::to_string(words->size()) +
           (words->size() == 1 ? " word" : " words") +
           " to supervisord, which splits the expanded command line (its value here has "
           "blanks, quotes or backslashes); written out as those words, since ${" +
           name + "} would be one word to wardend");
  }
  return split;
}

std::optional<LogSettings> Importer::ConvertLog(const IniSection& s, const std::string& stream,
                                                const Scope& scope) {
  LogSettings log;
  bool ok = true;
  const std::string key = stream + "_logfile";
  if (std::optional<std::string> file = Text(s, key, scope)) {
    const std::string lower = Lower(*file);
    if (lower == "none" || lower == "off") {
      log.file = "NONE";
    } else if (lower == "auto") {
      log.file = "AUTO";
    } else if (lower == "syslog") {
      At(*Get(s, key), Severity::kWarning,
         What(s, key) +
             "=syslog not converted: warden does not send program output to syslog; "
             "it goes to an AUTO log file instead");
      log.file = "AUTO";
    } else {
      log.file = ExpandUser(*file, *Get(s, key), What(s, key));
      if (!log.file->starts_with("/")) {
        At(*Get(s, key), Severity::kWarning,
           What(s, key) +
               " is relative: warden reads it relative to the config file's folder, "
               "supervisord to its working directory");
      }
    }
  } else if (Get(s, key) != nullptr) {
    ok = false;
  }
  if (Get(s, key + "_maxbytes") != nullptr) {
    log.max_bytes = Size(s, key + "_maxbytes", scope);
    ok = ok && log.max_bytes;
  }
  if (Get(s, key + "_backups") != nullptr) {
    log.backups = Int(s, key + "_backups", scope, 0, std::numeric_limits<int>::max());
    ok = ok && log.backups;
  }
  if (!ok) return std::nullopt;
  return log;
}

std::optional<ProcessSettings> Importer::ConvertProcess(const IniSection& s, Scope scope,
                                                        const std::string& program_name) {
  ProcessSettings p;
  bool ok = true;
  p.environment = global_env_;
  if (const IniValue* v = Get(s, "environment")) {
    if (std::optional<std::string> text =
            Expand(*v, scope, What(s, "environment"), /*references=*/true)) {
      std::vector<std::string> misread;
      auto pairs = supervisord::ParseKeyValuePairs(*text, &misread);
      for (const std::string& m : misread) {
        At(*v, Severity::kWarning,
           What(s, "environment") + ": " + m + "; converted as supervisord reads it");
      }
      if (pairs.ok()) NoteDollars(*pairs, *v, What(s, "environment"));
      if (!pairs.ok()) {
        At(*v, Severity::kError,
           What(s, "environment") + ": " + pairs.status().message() +
               " (write KEY=\"value\",KEY2=\"value\")");
        ok = false;
      } else {
        for (const auto& [name, value] : *pairs) {
          auto same = std::find_if(p.environment.begin(), p.environment.end(),
                                   [&](const auto& e) { return e.first == name; });
          if (same != p.environment.end()) {
            same->second = value;
          } else {
            p.environment.emplace_back(name, value);
          }
          // The program's own variables are %(ENV_X)s for its later settings.
          scope["ENV_" + Bake(name)] = Bake(value);
        }
      }
    } else {
      ok = false;
    }
  }
  if (Get(s, "directory") != nullptr) {
    p.directory = Text(s, "directory", scope);
    ok = ok && p.directory;
    if (p.directory && !p.directory->starts_with("/")) {
      At(*Get(s, "directory"), Severity::kWarning,
         What(s, "directory") +
             " is relative: wardend resolves it against its own working "
             "directory, as supervisord did against its own");
    }
  }
  std::optional<LogSettings> out = ConvertLog(s, "stdout", scope);
  std::optional<LogSettings> err = ConvertLog(s, "stderr", scope);
  if (!out || !err) return std::nullopt;
  p.out = *out;
  p.err = *err;
  const IniValue* command = Get(s, "command");
  if (command == nullptr) {
    AtSection(s, Severity::kError,
              "[" + s.name +
                  "] has no command (supervisord would refuse the file); program "
                  "not converted");
    return std::nullopt;
  }
  // supervisord expands the command line, then splits it: a value of several words stays several.
  const std::set<std::string> split = ValuesToSplit(*command, scope, What(s, "command"));
  std::optional<std::string> text =
      Expand(*command, scope, What(s, "command"), /*references=*/true, &split);
  if (!text) return std::nullopt;
  std::optional<std::string> yaml = CommandYaml(*text, *command, What(s, "command"));
  if (!yaml) return std::nullopt;
  p.command = *yaml;

  const IniValue default_name{"%(program_name)s", s.file, s.line};
  const IniValue* pattern = Get(s, "process_name");
  std::optional<std::string> name =
      Expand(pattern != nullptr ? *pattern : default_name, scope, What(s, "process_name"));
  if (!name) return std::nullopt;
  p.name = Trim(*name);
  if (p.name.empty() || p.name.find_first_of(" :/") != std::string::npos) {
    At(pattern != nullptr ? *pattern : default_name, Severity::kError,
       What(s, "process_name") + ": invalid process name '" + p.name + "' for program '" +
           program_name + "'");
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return p;
}

bool Importer::CollectMemmon(const IniSection& s) {
  const IniValue* command = Get(s, "command");
  if (command == nullptr) return false;
  auto words = config::SplitCommand(command->text);
  if (!words.ok() || words->empty()) return false;
  const std::string& program = words->front();
  if (program != "memmon" && !program.ends_with("/memmon")) return false;
  const std::string what = "[" + s.name + "] memmon";
  std::vector<std::string> ignored;
  bool cumulative = false;
  // memmon's options: -p NAME=SIZE, -g GROUP=SIZE, -a SIZE, -c, -u SECONDS, -m EMAIL, -n NAME
  // (each also as --program=, --group=, --any=, --cumulative, --uptime=, --email=, --name=).
  for (size_t i = 1; i < words->size(); ++i) {
    std::string option = (*words)[i];
    std::string value;
    if (const size_t eq = option.find('='); option.starts_with("--") && eq != std::string::npos) {
      value = option.substr(eq + 1);
      option = option.substr(0, eq);
    }
    const bool takes_value = option == "-p" || option == "--program" || option == "-g" ||
                             option == "--group" || option == "-a" || option == "--any" ||
                             option == "-u" || option == "--uptime" || option == "-m" ||
                             option == "--email" || option == "-n" || option == "--name";
    if (takes_value && value.empty()) {
      if (i + 1 == words->size()) {
        At(*command, Severity::kError, what + ": " + option + " needs a value");
        return true;
      }
      value = (*words)[++i];
    }
    auto size_of = [&](std::string_view text) -> std::optional<uint64_t> {
      auto size = supervisord::ParseByteSize(text);
      if (!size) {
        At(*command, Severity::kError,
           what + ": '" + std::string(text) +
               "' is not a size (bytes, or a number with KB, MB or GB)");
      }
      return size;
    };
    if (option == "-p" || option == "--program" || option == "-g" || option == "--group") {
      const size_t eq = value.rfind('=');
      if (eq == std::string::npos || eq == 0) {
        At(*command, Severity::kError, what + ": " + option + " '" + value + "' is not NAME=SIZE");
        continue;
      }
      if (auto size = size_of(std::string_view(value).substr(eq + 1))) {
        auto& into = option == "-p" || option == "--program" ? memmon_.programs : memmon_.groups;
        into[value.substr(0, eq)] = *size;
      }
    } else if (option == "-a" || option == "--any") {
      if (auto size = size_of(value)) memmon_.any = *size;
    } else if (option == "-c" || option == "--cumulative") {
      cumulative = true;
    } else {
      ignored.push_back(option + (value.empty() ? "" : " " + value));
    }
  }
  memmon_.converted.insert(s.name);
  std::string note = what +
                     ": converted to the programs' memory_limit (wardend restarts a program "
                     "whose processes together use more; checked every "
                     "warden.memory_check_interval, 10 s by default)";
  if (!cumulative) {
    note +=
        "; memmon without -c measured the main process only, warden sums every process of "
        "the program";
  }
  At(*command, Severity::kNote, note);
  if (!ignored.empty()) {
    std::string list;
    for (const std::string& o : ignored) list += (list.empty() ? "" : ", ") + o;
    At(*command, Severity::kWarning,
       what + ": not converted: " + list +
           " (warden logs each memory restart and sends it as an event: `wardenctl events`)");
  }
  return true;
}

std::optional<uint64_t> Importer::MemmonLimit(const std::string& name,
                                              const std::string& group) const {
  // As memmon looks them up: the process by name or group:name, then its group, then -a.
  for (const std::string& key : {name, group + ":" + name}) {
    if (auto it = memmon_.programs.find(key); it != memmon_.programs.end()) return it->second;
  }
  if (auto it = memmon_.groups.find(group); it != memmon_.groups.end()) return it->second;
  return memmon_.any;
}

void Importer::ConvertProgram(const IniSection& s) {
  const std::string name = Trim(std::string_view(s.name).substr(8));
  pending_comments_.clear();
  comments_ = &pending_comments_;
  // Messages about this program go into its YAML as comments (and, if it is not written, into
  // the file's header).
  struct Restore {
    Importer* self;
    ~Restore() {
      self->comments_ = &self->header_comments_;
      self->header_comments_.insert(self->header_comments_.end(), self->pending_comments_.begin(),
                                    self->pending_comments_.end());
      self->pending_comments_.clear();
    }
  } restore{this};

  if (name.empty() || name.find_first_of(" :/") != std::string::npos) {
    AtSection(s, Severity::kError, "[" + s.name + "]: invalid program name");
    return;
  }
  const auto group_it = group_of_.find(name);
  const std::string group = group_it != group_of_.end() ? groups_[group_it->second].name : name;
  Scope scope = global_;
  scope["program_name"] = name;
  scope["group_name"] = group;

  for (const auto& [key, v] : s.options) {
    if (!kProgramKeys.contains(key)) {
      At(v, Severity::kWarning,
         What(s, key) + ": unknown setting, ignored (as supervisord ignores it)");
    }
  }
  // Settings supervisord reads once per program.
  std::vector<std::string> settings;
  auto put = [&](const std::string& key, const std::string& yaml) {
    settings.push_back(key + ": " + yaml);
  };
  if (auto v = Int(s, "priority", scope, std::numeric_limits<int>::min(),
                   std::numeric_limits<int>::max())) {
    put("priority", std::to_string(*v));
  }
  if (auto v = Bool(s, "autostart", scope)) put("autostart", *v ? "true" : "false");
  if (auto text = Text(s, "autorestart", scope)) {
    const std::string lower = Lower(*text);
    if (lower == "unexpected") {
      put("autorestart", "unexpected");
    } else if (auto b = supervisord::ParseBoolean(lower)) {
      put("autorestart", *b ? "true" : "false");
    } else {
      At(*Get(s, "autorestart"), Severity::kError,
         What(s, "autorestart") + ": '" + *text + "' is not true, false or unexpected");
    }
  }
  if (auto text = Text(s, "exitcodes", scope)) {
    std::string list;
    bool good = true;
    std::istringstream items(*text);
    std::string item;
    while (!Trim(*text).empty() && std::getline(items, item, ',')) {
      auto code = supervisord::ParseInteger(item);
      good = good && code && *code >= 0 && *code <= 255;
      if (good) list += (list.empty() ? "" : ", ") + std::to_string(*code);
    }
    if (!good) {
      At(*Get(s, "exitcodes"), Severity::kError,
         What(s, "exitcodes") + ": '" + *text + "' is not a list of exit codes (0 to 255)");
    } else {
      put("exitcodes", "[" + list + "]");
    }
  }
  constexpr int64_t kYear = 31536000;
  if (auto v = Int(s, "startsecs", scope, 0, kYear)) put("startsecs", std::to_string(*v));
  if (auto v = Int(s, "startretries", scope, 0, std::numeric_limits<int>::max())) {
    put("startretries", std::to_string(*v));
  }
  if (auto text = Text(s, "stopsignal", scope)) {
    std::optional<int> number = config::internal::ParseSignal(Trim(*text));
    if (!number) {
      At(*Get(s, "stopsignal"), Severity::kError,
         What(s, "stopsignal") + ": '" + *text + "' is not a signal");
    } else {
      const std::string_view signal_name = SignalNameOf(*number);
      put("stopsignal", signal_name.empty() ? std::to_string(*number) : std::string(signal_name));
    }
  }
  if (auto v = Int(s, "stopwaitsecs", scope, 0, kYear)) put("stopwaitsecs", std::to_string(*v));
  std::optional<bool> stopasgroup = Bool(s, "stopasgroup", scope);
  std::optional<bool> killasgroup = Bool(s, "killasgroup", scope);
  if (stopasgroup) put("stopasgroup", *stopasgroup ? "true" : "false");
  if (killasgroup) {
    if (stopasgroup.value_or(false) && !*killasgroup) {
      At(*Get(s, "killasgroup"), Severity::kError,
         What(s, "killasgroup") +
             "=false with stopasgroup=true (supervisord would refuse the "
             "file; warden treats stopasgroup as implying killasgroup)");
    } else {
      put("killasgroup", *killasgroup ? "true" : "false");
    }
  }
  if (auto text = Text(s, "user", scope)) put("user", YamlString(Trim(*text)));
  if (auto text = Text(s, "umask", scope)) {
    std::optional<uint32_t> mask = supervisord::ParseOctal(*text);
    if (!mask || *mask > 0777) {
      At(*Get(s, "umask"), Severity::kError,
         What(s, "umask") + ": '" + *text + "' is not an octal umask such as 022");
    } else {
      char octal[8];
      std::snprintf(octal, sizeof octal, "%03o", *mask);
      put("umask", "\"" + std::string(octal) + "\"");
    }
  }
  if (auto limit = MemmonLimit(name, group)) put("memory_limit", SizeText(*limit));
  const bool redirect_stderr = Bool(s, "redirect_stderr", scope).value_or(false);
  for (const char* stream : {"stdout", "stderr"}) {
    const std::string prefix = stream;
    if (auto v = Size(s, prefix + "_capture_maxbytes", scope); v && *v != 0) {
      At(*Get(s, prefix + "_capture_maxbytes"), Severity::kWarning,
         What(s, prefix + "_capture_maxbytes") +
             " not converted: warden has no capture mode (PROCESS_COMMUNICATION events)");
    }
    const bool events = Bool(s, prefix + "_events_enabled", scope).value_or(false);
    if (events) {
      At(*Get(s, prefix + "_events_enabled"), Severity::kWarning,
         What(s, prefix + "_events_enabled") + " not converted: warden has no event listeners");
    }
    // Output forwarded by an event listener (supervisor_stdout and the like: the program's
    // file is NONE, its lines go out as PROCESS_LOG events): without the listener it would be
    // dropped in silence.
    const std::string key = prefix + "_logfile";
    // The raw text: a file name may hold %(process_num)s, expanded per process elsewhere.
    const IniValue* file = Get(s, key);
    const std::string written = file != nullptr ? Lower(Trim(file->text)) : "";
    const bool dropped = written == "none" || written == "off";
    const bool merged = prefix == "stderr" && redirect_stderr;
    const bool listener =
        std::any_of(doc_.sections.begin(), doc_.sections.end(),
                    [](const IniSection& x) { return x.name.starts_with("eventlistener:"); });
    if (dropped && !merged && (events || listener)) {
      At(*Get(s, key), Severity::kWarning,
         What(s, key) + "=NONE: the program's " + prefix +
             " went out through an [eventlistener] (PROCESS_LOG events), which warden does not "
             "have: as converted (file: NONE) it is lost. Write `" +
             prefix +
             ": {file: /dev/stdout, max_bytes: 0}` to send it to wardend's standard output (a "
             "container's log), or `file: AUTO` and read it with `wardenctl tail -f`");
    }
    if (auto v = Bool(s, prefix + "_syslog", scope); v && *v) {
      At(*Get(s, prefix + "_syslog"), Severity::kWarning,
         What(s, prefix + "_syslog") +
             " not converted: warden writes program output to its log files only");
    }
  }
  if (auto text = Text(s, "serverurl", scope); text && Lower(Trim(*text)) != "auto") {
    At(*Get(s, "serverurl"), Severity::kWarning,
       What(s, "serverurl") +
           " not converted: warden sets no SUPERVISOR_SERVER_URL (its "
           "programs get WARDEN_PROGRAM, WARDEN_PROCESS, WARDEN_GROUP)");
  }

  std::optional<int64_t> numprocs = 1;
  if (Get(s, "numprocs") != nullptr) numprocs = Int(s, "numprocs", scope, 0, 10000);
  std::optional<int64_t> start = 0;
  if (Get(s, "numprocs_start") != nullptr) {
    start = Int(s, "numprocs_start", scope, std::numeric_limits<int>::min() / 2,
                std::numeric_limits<int>::max() / 2);
  }
  if (!numprocs || !start) {
    AtSection(s, Severity::kError, "[" + s.name + "] not converted: see the errors above");
    return;
  }
  if (*numprocs == 0) {
    AtSection(s, Severity::kWarning,
              "[" + s.name +
                  "] has numprocs=0, so supervisord runs no process of it; not "
                  "converted (warden needs numprocs of 1 or more)");
    return;
  }
  const IniValue* pattern = Get(s, "process_name");
  if (*numprocs > 1 &&
      (pattern == nullptr || pattern->text.find("%(process_num)") == std::string::npos)) {
    AtSection(s, Severity::kError,
              "[" + s.name +
                  "] has numprocs > 1 but its process_name has no %(process_num) "
                  "(supervisord would refuse the file)");
    return;
  }

  // Settings supervisord computes per process: expand them for each.
  std::vector<ProcessSettings> processes;
  for (int64_t num = *start; num < *start + *numprocs; ++num) {
    Scope process_scope = scope;
    process_scope["process_num"] = num;
    process_scope["numprocs"] = *numprocs;
    std::optional<ProcessSettings> p = ConvertProcess(s, process_scope, name);
    if (!p) {
      AtSection(s, Severity::kError, "[" + s.name + "] not converted: see the errors above");
      return;
    }
    processes.push_back(std::move(*p));
  }
  if (redirect_stderr) {
    const IniValue* file = Get(s, "stderr_logfile");
    if (file != nullptr && processes[0].err.file && *processes[0].err.file != "AUTO" &&
        *processes[0].err.file != "NONE") {
      At(*file, Severity::kWarning,
         What(s, "stderr_logfile") +
             " is ignored because redirect_stderr=true (supervisord "
             "ignores it too)");
    }
    for (ProcessSettings& p : processes) p.err = LogSettings{};
  }

  // One warden program when every process is alike and warden's fixed naming gives the names
  // supervisord gives; else one program per process, grouped under supervisord's group name.
  bool alike = *start >= 0;
  for (size_t i = 0; i < processes.size() && alike; ++i) {
    char number[32];
    std::snprintf(number, sizeof number, "%02lld",
                  static_cast<long long>(*start) + static_cast<long long>(i));
    const std::string warden_name = *numprocs == 1 ? name : name + "_" + number;
    alike = processes[i].name == warden_name && processes[i].SameApartFromName(processes[0]);
  }
  const std::string origin = "[" + s.name + "] from " + s.file + ":" + std::to_string(s.line);
  std::vector<std::string>& written = written_[name];
  if (alike) {
    if (SanitizeName(name) != name) {
      AtSection(s, Severity::kWarning,
                "[" + s.name + "] renamed '" + SanitizeName(name) +
                    "': warden names use only letters, digits, '_', '.' and '-'");
    }
    EmitProgram(SanitizeName(name), origin, processes[0], static_cast<int>(*numprocs), *start,
                settings, redirect_stderr);
    written.push_back(SanitizeName(name));
    return;
  }
  std::string names;
  for (const ProcessSettings& p : processes) names += (names.empty() ? "" : ", ") + p.name;
  const bool same_settings = std::all_of(processes.begin(), processes.end(), [&](const auto& p) {
    return p.SameApartFromName(processes[0]);
  });
  AtSection(s, Severity::kNote,
            "[" + s.name + "] written as " + std::to_string(processes.size()) + " program(s) (" +
                names + ") in group '" + SanitizeName(group) + "', because " +
                (same_settings ? "its process_name is not warden's naming (PROGRAM, or "
                                 "PROGRAM_NN for numprocs > 1)"
                               : "its processes differ (%(process_num)) in their settings") +
                "; the process names stay as supervisord's");
  for (const ProcessSettings& p : processes) {
    if (SanitizeName(p.name) != p.name) {
      AtSection(s, Severity::kWarning,
                "[" + s.name + "] process '" + p.name + "' renamed '" + SanitizeName(p.name) +
                    "': warden names use only letters, digits, '_', '.' and '-'");
    }
    EmitProgram(SanitizeName(p.name), origin + ", process " + p.name, p, 1, 0, settings,
                redirect_stderr);
    written.push_back(SanitizeName(p.name));
  }
  if (group_it == group_of_.end()) {
    GroupOut g;
    g.name = SanitizeName(name);
    g.origin = origin;
    g.members.push_back(name);
    group_of_[name] = groups_.size();
    groups_.push_back(std::move(g));
  }
}

void Importer::EmitProgram(const std::string& name, const std::string& origin,
                           const ProcessSettings& p, int numprocs, int64_t numprocs_start,
                           const std::vector<std::string>& settings, bool redirect_stderr) {
  ProgramText t;
  t.name = name;
  t.lines.push_back("  # " + OneLine(origin));
  // The program's messages, once (a program written as one program per process has them above
  // the first).
  for (const Comment& c : pending_comments_) t.lines.push_back("  " + c.text);
  pending_comments_.clear();
  t.lines.push_back("  " + YamlName(name) + ":");
  t.lines.push_back("    command: " + p.command);
  if (numprocs > 1) t.lines.push_back("    numprocs: " + std::to_string(numprocs));
  if (numprocs > 1 && numprocs_start != 0) {
    t.lines.push_back("    numprocs_start: " + std::to_string(numprocs_start));
  }
  if (p.directory) t.lines.push_back("    directory: " + YamlString(*p.directory));
  if (!p.environment.empty()) {
    t.lines.push_back("    environment:");
    for (const auto& [key, value] : p.environment) {
      t.lines.push_back("      " + YamlName(Bake(key)) + ": " + YamlString(Resolve(value)));
    }
  }
  for (const std::string& line : settings) t.lines.push_back("    " + line);
  auto write_log = [&](const char* key, const LogSettings& l) {
    std::string parts;
    auto add = [&](const std::string& part) { parts += (parts.empty() ? "" : ", ") + part; };
    if (l.file) {
      add("file: " + (*l.file == "AUTO" || *l.file == "NONE" ? *l.file : YamlString(*l.file)));
    }
    if (l.max_bytes) add("max_bytes: " + SizeText(*l.max_bytes));
    if (l.backups) add("backups: " + std::to_string(*l.backups));
    if (!parts.empty()) t.lines.push_back("    " + std::string(key) + ": {" + parts + "}");
  };
  write_log("stdout", p.out);
  if (redirect_stderr) {
    t.lines.push_back("    stderr: stdout");
  } else {
    write_log("stderr", p.err);
  }
  programs_.push_back(std::move(t));
}

// superlance's httpok (`httpok [-p NAME]... [-t TIMEOUT] [-c CODE] URL`, run on TICK_N events):
// it restarts the programs named when URL does not answer. warden's healthcheck does that
// itself: each program named gets `healthcheck: {http: URL, interval: N, timeout: T, retries:
// 1}` (httpok restarts at the first failure). False when the listener is not httpok, or is one
// warden cannot express (then it is reported as any other listener).
bool Importer::ConvertHttpok(const IniSection& s) {
  const IniValue* command = s.Find("command");
  if (command == nullptr) return false;
  auto words = config::SplitCommand(command->text);
  if (!words.ok() || words->empty()) return false;
  const std::string& program = words->front();
  if (program != "httpok" && !program.ends_with("/httpok")) return false;
  std::vector<std::string> targets;
  std::string url, timeout = "10";
  for (size_t i = 1; i < words->size(); ++i) {
    const std::string& w = (*words)[i];
    const bool has_value = i + 1 < words->size();
    if (w == "-p" && has_value) {
      targets.push_back((*words)[++i]);
    } else if (w == "-t" && has_value) {
      timeout = (*words)[++i];
    } else if ((w == "-c" || w == "-b" || w == "-m" || w == "-s" || w == "-e") && has_value) {
      ++i;  // expected status, body, mail: warden's check wants 200-399 and reads no body
    } else if (w == "-a") {
      targets.push_back("*");
    } else if (!w.starts_with("-")) {
      url = w;
    }
  }
  if (url.empty() || targets.empty() || !config::ParseHttpUrl(url).ok()) return false;
  std::string interval = "60";
  if (const IniValue* events = s.Find("events")) {
    if (events->text.find("TICK_5") != std::string::npos) interval = "5";
    if (events->text.find("TICK_3600") != std::string::npos) interval = "3600";
  }
  const std::string line = "healthcheck: {http: " + YamlString(url) + ", interval: " + interval +
                           ", timeout: " + timeout + ", retries: 1}";
  for (const std::string& target : targets) health_checks_.push_back({target, line, command});
  return true;
}

void Importer::ApplyHealthChecks() {
  for (const PendingHealthCheck& h : health_checks_) {
    // -p takes a process name or group:name; the program it belongs to gets the check.
    const size_t colon = h.target.find(':');
    const std::string name = colon == std::string::npos ? h.target : h.target.substr(colon + 1);
    int applied = 0;
    for (const auto& [program, written] : written_) {
      if (h.target != "*" && program != name && !name.starts_with(program + "_")) continue;
      for (ProgramText& t : programs_) {
        if (std::find(written.begin(), written.end(), t.name) == written.end()) continue;
        t.lines.push_back("    " + h.line);
        ++applied;
      }
    }
    if (applied == 0) {
      At(*h.where, Severity::kWarning, "httpok -p " + h.target + ": no such program");
    } else {
      At(*h.where, Severity::kNote,
         "httpok became `" + h.line + "` of " + (h.target == "*" ? "every program" : name) +
             " (wardend checks and restarts it itself; 200-399 is healthy)");
    }
  }
}

}  // namespace warden::importer::import_internal
