#include "importer/import_supervisord.h"

#include <glob.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.h"
#include "importer/import_supervisord_internal.h"

namespace warden::importer {
namespace import_internal {

// ---------------------------------------------------------------------------------------------
// YAML text

// A double-quoted YAML scalar: safe for any text.
std::string YamlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A map key or list item: plain when it reads back as the same text, else quoted.
std::string YamlName(std::string_view s) {
  static const std::set<std::string, std::less<>> kSpecial = {
      "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
      "yes",  "Yes",  "YES",  "no",   "No",   "NO",   "on",    "On",    "ON",
      "off",  "Off",  "OFF",  "y",    "Y",    "n",    "N"};
  bool plain = !s.empty() && !kSpecial.contains(s) &&
               ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_');
  for (char c : s) {
    plain = plain && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-');
  }
  return plain ? std::string(s) : YamlString(s);
}

std::string SizeText(uint64_t bytes) {
  constexpr uint64_t kKB = 1024;
  if (bytes != 0 && bytes % (kKB * kKB * kKB) == 0) return std::to_string(bytes >> 30) + "GB";
  if (bytes != 0 && bytes % (kKB * kKB) == 0) return std::to_string(bytes >> 20) + "MB";
  if (bytes != 0 && bytes % kKB == 0) return std::to_string(bytes >> 10) + "KB";
  return std::to_string(bytes);
}

// What ${NAME} accepts: [A-Za-z_][A-Za-z0-9_]*.
bool IsVariableName(std::string_view name) {
  bool valid = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
  for (char c : name) {
    valid = valid && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_');
  }
  return valid;
}

std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

// ---------------------------------------------------------------------------------------------
// Names and paths

bool IsWardenNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

std::string SanitizeName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (!IsWardenNameChar(c)) c = '_';
  }
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void ReplaceAll(std::string* text, std::string_view from, std::string_view to) {
  for (size_t at = text->find(from); at != std::string::npos;
       at = text->find(from, at + to.size())) {
    text->replace(at, from.size(), to);
  }
}

// os.path.abspath: joined to `cwd` when relative, then normalized, without a trailing '/'.
std::string AbsolutePath(const std::string& path, const std::string& cwd) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(cwd) / p;
  std::string out = p.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string DirName(const std::string& abs_path) {
  std::string dir = std::filesystem::path(abs_path).parent_path().string();
  return dir.empty() ? "/" : dir;
}

void Importer::Report(Severity severity, const std::string& file, int line,
                      const std::string& message) {
  ImportMessage m{file, line, severity, message};
  if (!seen_messages_.insert(m.ToString()).second) return;
  messages_.push_back(m);
  const char* word = severity == Severity::kError     ? "error"
                     : severity == Severity::kWarning ? "warning"
                                                      : "note";
  comments_->push_back({file, line,
                        "# " + std::string(word) + ": " + OneLine(message) + " (" + file +
                            (line > 0 ? ":" + std::to_string(line) : "") + ")"});
}

bool Importer::ReadInto(const std::string& abs, const std::string& shown) {
  Result<std::string> text = host_.read_file(abs);
  files_.push_back(shown);
  shown_[abs] = shown;
  if (!text.ok()) {
    Report(Severity::kError, shown, 0, "cannot read: " + text.status().message());
    return false;
  }
  std::vector<supervisord::IniProblem> repeated;
  for (const auto& p : supervisord::ParseIni(*text, shown, &doc_, &repeated)) {
    Report(Severity::kError, shown, p.line, p.message + " (supervisord would refuse the file)");
  }
  for (const auto& p : repeated) Report(Severity::kNote, shown, p.line, p.message);
  // %(here)s in a file is that file's folder: supervisord replaces it file by file.
  const std::string here = DirName(abs);
  auto replace_here = [&](IniSection& s) {
    for (auto& [key, v] : s.options) {
      if (v.file == shown) ReplaceAll(&v.text, "%(here)s", here);
    }
  };
  for (IniSection& s : doc_.sections) replace_here(s);
  replace_here(doc_.defaults);
  return true;
}

void Importer::ReadIncludes() {
  const IniSection* include = doc_.Find("include");
  if (include == nullptr) return;
  const IniValue* files = include->Find("files");
  for (const auto& [key, v] : include->options) {
    if (key != "files")
      At(v, Severity::kWarning, "[include] " + key + ": unknown setting, ignored");
  }
  if (files == nullptr) {
    AtSection(*include, Severity::kError,
              "[include] has no 'files' setting (supervisord would refuse the file)");
    return;
  }
  std::optional<std::string> patterns = Expand(*files, global_, "[include] files");
  if (!patterns) return;
  // Copied: reading the included files grows doc_ (and may even set [include] files again,
  // which supervisord reads once, from the main file, as here).
  const IniValue where = *files;
  const std::string base = DirName(main_abs_);
  std::istringstream words(*patterns);
  std::string pattern;
  while (words >> pattern) {
    const std::string full = (std::filesystem::path(base) / pattern).string();
    std::vector<std::string> matches = host_.glob(full);
    std::sort(matches.begin(), matches.end());
    if (matches.empty()) {
      At(where, Severity::kNote,
         "[include] files: no file matches '" + full + "' (supervisord only warns, as here)");
      continue;
    }
    for (const std::string& match : matches) {
      if (shown_.contains(match)) continue;
      // A nested [include] is not followed by supervisord either; say so.
      IniDocument probe;
      if (Result<std::string> text = host_.read_file(match); text.ok()) {
        supervisord::ParseIni(*text, match, &probe);
        if (const IniSection* nested = probe.Find("include")) {
          AtSection(*nested, Severity::kWarning,
                    "[include] in an included file is ignored (supervisord does not follow "
                    "nested includes either)");
        }
      }
      ReadInto(match, match);
    }
  }
}

const IniValue* Importer::Get(const IniSection& s, std::string_view key) const {
  if (const IniValue* v = s.Find(key)) return v;
  return doc_.defaults.Find(key);
}

std::optional<std::string> Importer::Expand(const IniValue& v, const Scope& scope,
                                            const std::string& what, bool references,
                                            const std::set<std::string>* fixed) {
  std::vector<std::pair<std::string, std::string>> from_env;
  std::vector<std::string> as_references;
  bool node_name = false;
  auto lookup = [&](std::string_view name) -> std::optional<ExpansionValue> {
    if (auto it = scope.find(name); it != scope.end()) return it->second;
    if (name == "host_node_name") {
      node_name = true;
      return host_.host_node_name;
    }
    if (!name.starts_with("ENV_")) return std::nullopt;
    const std::string variable(name.substr(4));
    if (references && IsVariableName(variable) && (fixed == nullptr || !fixed->count(variable))) {
      as_references.push_back(variable);
      return Marker(variable);
    }
    if (std::optional<std::string> value = host_.getenv(variable)) {
      from_env.emplace_back(variable, *value);
      return *value;
    }
    return std::nullopt;
  };
  Result<std::string> expanded = supervisord::PythonFormat(v.text, lookup);
  if (!expanded.ok()) {
    const std::string reason = expanded.status().message();
    if (expanded.status().code() != ErrorCode::kNotFound) {
      At(v, Severity::kError, what + ": " + reason + " (supervisord would refuse the file)");
    } else if (reason.starts_with("ENV_")) {
      At(v, Severity::kError,
         what + ": %(" + reason + ")s: $" + reason.substr(4) +
             " is not set in this environment (supervisord would refuse to start); set it and "
             "convert again");
    } else {
      std::string names;
      for (const auto& [name, value] : scope) names += name + ", ";
      At(v, Severity::kError,
         what + ": %(" + reason + ")s cannot be expanded here (supervisord would refuse the " +
             "file); names available: " + names + "host_node_name, ENV_*");
    }
    return std::nullopt;
  }
  for (const auto& [name, value] : from_env) {
    At(v, Severity::kNote,
       what + ": %(ENV_" + name + ")s replaced with $" + name + " of this environment (\"" + value +
           "\"): warden expands no variables here, so the value is now fixed");
  }
  for (const std::string& name : as_references) {
    if (host_.getenv(name)) {
      At(v, Severity::kNote,
         what + ": %(ENV_" + name + ")s written as ${" + name +
             "}: wardend expands it from its own environment when it starts the program, as "
             "supervisord did when it started; give wardend " +
             name + " (e.g. Environment= in its systemd unit)");
    } else {
      At(v, Severity::kWarning,
         what + ": %(ENV_" + name + ")s written as ${" + name + "}, but $" + name +
             " is not set in this environment (supervisord would refuse to start without it); "
             "wardend expands it to \"\" unless its own environment has it");
    }
  }
  if (node_name) {
    At(v, Severity::kNote,
       what + ": %(host_node_name)s replaced with this machine's name (\"" + host_.host_node_name +
           "\")");
  }
  return std::move(expanded).value();
}

std::string Importer::Marker(const std::string& name) {
  auto [it, added] = marker_of_.try_emplace(name, referenced_.size());
  if (added) referenced_.push_back(name);
  return std::string(kMarker) + std::to_string(it->second) + "__";
}

std::string Importer::ReplaceMarkers(
    std::string_view text, bool escape,
    const std::function<std::string(const std::string&, const std::string&)>& replacement) const {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i).starts_with(kMarker)) {
      size_t end = i + kMarker.size();
      size_t index = 0;
      while (end < text.size() && text[end] >= '0' && text[end] <= '9') {
        index = index * 10 + static_cast<size_t>(text[end++] - '0');
      }
      if (text.substr(end).starts_with("__") && index < referenced_.size()) {
        out += replacement(referenced_[index], out);
        i = end + 2;
        continue;
      }
    }
    if (escape && text.substr(i).starts_with("${")) {
      out += "$${";  // wardend's escape for a literal "${"
      i += 2;
      continue;
    }
    out += text[i++];
  }
  return out;
}

std::string Importer::Resolve(std::string_view text) const {
  return ReplaceMarkers(text, true, [&](const std::string& name, const std::string& before) {
    // After a literal '$', "${X}" would read as the escape "$${": the value goes in instead.
    if (!before.empty() && before.back() == '$') return host_.getenv(name).value_or("");
    return "${" + name + "}";
  });
}

std::string Importer::Bake(std::string_view text) const {
  return ReplaceMarkers(text, false, [&](const std::string& name, const std::string&) {
    return host_.getenv(name).value_or("");
  });
}

void Importer::NoteDollars(const Pairs& pairs, const IniValue& where, const std::string& what) {
  for (const auto& [name, value] : pairs) {
    const std::string literal =
        ReplaceMarkers(value, false, [](const std::string&, const std::string&) { return ""; });
    if (literal.find('$') != std::string::npos) {
      At(where, Severity::kNote,
         what + ": the value of " + name + " keeps its '$' as written (\"" + Resolve(value) +
             "\"; a literal \"${\" is written \"$${\"), as supervisord passed it; for the "
             "value of a variable write ${VAR}, which wardend expands when it starts the "
             "program");
    }
  }
}

std::optional<std::string> Importer::Text(const IniSection& s, std::string_view key,
                                          const Scope& scope) {
  const IniValue* v = Get(s, key);
  if (v == nullptr) return std::nullopt;
  return Expand(*v, scope, What(s, key));
}

std::optional<bool> Importer::Bool(const IniSection& s, std::string_view key, const Scope& scope) {
  std::optional<std::string> text = Text(s, key, scope);
  if (!text) return std::nullopt;
  std::optional<bool> value = supervisord::ParseBoolean(*text);
  if (!value) {
    At(*Get(s, key), Severity::kError,
       What(s, key) + ": '" + *text + "' is not a boolean (true/false, yes/no, on/off, 1/0)");
  }
  return value;
}

std::optional<int64_t> Importer::Int(const IniSection& s, std::string_view key, const Scope& scope,
                                     int64_t min, int64_t max) {
  std::optional<std::string> text = Text(s, key, scope);
  if (!text) return std::nullopt;
  std::optional<int64_t> value = supervisord::ParseInteger(*text);
  if (!value) {
    At(*Get(s, key), Severity::kError, What(s, key) + ": '" + *text + "' is not an integer");
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    At(*Get(s, key), Severity::kError,
       What(s, key) + ": " + std::to_string(*value) + " is out of warden's range (" +
           std::to_string(min) + " to " + std::to_string(max) + "); not converted");
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> Importer::Size(const IniSection& s, std::string_view key,
                                       const Scope& scope) {
  std::optional<std::string> text = Text(s, key, scope);
  if (!text) return std::nullopt;
  std::optional<uint64_t> value = supervisord::ParseByteSize(*text);
  if (!value) {
    At(*Get(s, key), Severity::kError,
       What(s, key) + ": '" + *text + "' is not a size (bytes, or a number with KB, MB or GB)");
  }
  return value;
}

// os.path.expanduser for "~" and "~/...", which supervisord applies to log paths.
std::string Importer::ExpandUser(const std::string& path, const IniValue& where,
                                 const std::string& what) {
  if (path != "~" && !path.starts_with("~/")) return path;
  std::optional<std::string> home = host_.getenv("HOME");
  if (!home) {
    At(where, Severity::kWarning, what + ": '~' kept as written: $HOME is not set here");
    return path;
  }
  At(where, Severity::kNote,
     what + ": '~' replaced with $HOME of this environment (\"" + *home + "\")");
  return *home + path.substr(1);
}

void Importer::Unsupported(const IniSection& s, const std::string& why) {
  std::string keys;
  for (const auto& [key, v] : s.options) keys += (keys.empty() ? "" : ", ") + key;
  AtSection(
      s, Severity::kWarning,
      "[" + s.name + "] not converted" + (keys.empty() ? "" : " (" + keys + ")") + ": " + why);
}

// ---------------------------------------------------------------------------------------------
// [supervisord], [unix_http_server], [supervisorctl]

void Importer::ConvertSupervisord(const IniSection& s) {
  auto unmapped = [&](const std::string& key, const std::string& why) {
    if (const IniValue* v = s.Find(key)) {
      At(*v, Severity::kWarning,
         "[supervisord] " + key + "=" + OneLine(v->text) + " not converted: " + why);
    }
  };
  static const std::set<std::string, std::less<>> kKnown = {
      "logfile",  "logfile_maxbytes", "logfile_backups", "loglevel",    "pidfile",   "umask",
      "nodaemon", "silent",           "minfds",          "minprocs",    "nocleanup", "childlogdir",
      "user",     "directory",        "strip_ansi",      "environment", "identifier"};
  for (const auto& [key, v] : s.options) {
    if (!kKnown.contains(key)) {
      At(v, Severity::kWarning,
         "[supervisord] " + key +
             ": unknown setting, ignored (as "
             "supervisord ignores it)");
    }
  }
  if (const IniValue* v = s.Find("logfile")) {
    std::optional<std::string> file = Expand(*v, global_, "[supervisord] logfile");
    if (file && *file != "/dev/stdout" && *file != "/dev/stderr") {
      unmapped("logfile",
               "wardend writes its own log to stderr (the journal under systemd), not to a file");
    }
  }
  unmapped("logfile_maxbytes", "wardend has no log file of its own to rotate");
  unmapped("logfile_backups", "wardend has no log file of its own to rotate");
  if (std::optional<std::string> level = Text(s, "loglevel", global_)) {
    static const std::map<std::string, std::string, std::less<>> kLevels = {
        {"critical", "error"}, {"error", "error"}, {"warn", "warn"},    {"info", "info"},
        {"debug", "debug"},    {"trace", "trace"}, {"blather", "trace"}};
    auto it = kLevels.find(Lower(*level));
    if (it == kLevels.end()) {
      At(*s.Find("loglevel"), Severity::kError,
         "[supervisord] loglevel: '" + *level + "' is not a supervisord log level");
    } else {
      if (it->first != it->second) {
        At(*s.Find("loglevel"), Severity::kNote,
           "[supervisord] loglevel=" + it->first + " written as log_level: " + it->second +
               " (the nearest level warden has)");
      }
      warden_lines_.push_back("  log_level: " + it->second);
    }
  }
  if (std::optional<std::string> dir = Text(s, "childlogdir", global_)) {
    const std::string path = ExpandUser(*dir, *Get(s, "childlogdir"), "[supervisord] childlogdir");
    if (!path.starts_with("/")) {
      At(*Get(s, "childlogdir"), Severity::kWarning,
         "[supervisord] childlogdir is relative: warden reads it relative to the config file's "
         "folder, supervisord to its working directory");
    }
    warden_lines_.push_back("  log_dir: " + YamlString(path));
  }
  if (const IniValue* v = s.Find("environment")) {
    if (std::optional<std::string> text =
            Expand(*v, global_, "[supervisord] environment", /*references=*/true)) {
      std::vector<std::string> misread;
      auto pairs = supervisord::ParseKeyValuePairs(*text, &misread);
      for (const std::string& m : misread) {
        At(*v, Severity::kWarning,
           "[supervisord] environment: " + m + "; converted as supervisord reads it");
      }
      if (pairs.ok()) NoteDollars(*pairs, *v, "[supervisord] environment");
      if (!pairs.ok()) {
        At(*v, Severity::kError, "[supervisord] environment: " + pairs.status().message());
      } else {
        global_env_ = *pairs;
        for (const auto& [name, value] : global_env_) global_["ENV_" + Bake(name)] = Bake(value);
        At(*v, Severity::kNote,
           "[supervisord] environment added to every program's environment (warden has no "
           "daemon-wide environment setting)");
      }
    }
  }
  if (const IniValue* v = s.Find("nodaemon")) {
    if (supervisord::ParseBoolean(v->text) == false) {
      At(*v, Severity::kNote,
         "[supervisord] nodaemon=false: wardend never daemonizes; run it "
         "under systemd (units/warden.service) or your init system");
    }
  }
  unmapped("pidfile",
           "wardend writes no pid file (`wardenctl pid` prints its pid; systemd "
           "tracks it)");
  unmapped("umask",
           "wardend keeps the umask it starts with (UMask= in the systemd unit), or set "
           "umask per program");
  unmapped("minfds", "set LimitNOFILE= in the systemd unit (or ulimit -n) instead");
  unmapped("minprocs", "set LimitNPROC= in the systemd unit (or ulimit -u) instead");
  unmapped("user", "run wardend as that user instead (User= in the systemd unit)");
  unmapped("directory",
           "wardend does not daemonize or change folder; set WorkingDirectory= in "
           "the systemd unit, or directory per program");
  unmapped("identifier", "warden has no identifier setting");
  unmapped("silent", "wardend's own log always goes to stderr");
  if (const IniValue* v = s.Find("nocleanup")) {
    At(*v, Severity::kNote,
       "[supervisord] nocleanup: warden never deletes AUTO log files at "
       "start-up");
  }
  if (const IniValue* v = s.Find("strip_ansi");
      v != nullptr && supervisord::ParseBoolean(v->text) != false) {
    unmapped("strip_ansi", "warden writes program output to the logs as it is");
  }
}

void Importer::ConvertUnixHttpServer(const IniSection& s) {
  for (const auto& [key, v] : s.options) {
    if (key == "username" || key == "password") {
      At(v, Severity::kWarning,
         "[unix_http_server] " + key +
             " not converted: warden has no password "
             "authentication; whoever can open the socket (socket_mode, socket_group) may control "
             "it");
    } else if (key != "file" && key != "chmod" && key != "chown") {
      At(v, Severity::kWarning, "[unix_http_server] " + key + ": unknown setting, ignored");
    }
  }
  Scope scope = global_;
  if (std::optional<std::string> file = Text(s, "file", scope)) {
    std::string path = ExpandUser(Trim(*file), *s.Find("file"), "[unix_http_server] file");
    if (!path.starts_with("/")) {
      At(*s.Find("file"), Severity::kWarning,
         "[unix_http_server] file is relative: warden reads it relative to the config file's "
         "folder, supervisord to its working directory");
    }
    socket_ = path;
    warden_lines_.push_back("  socket: " + YamlString(path));
  }
  if (std::optional<std::string> chmod = Text(s, "chmod", scope)) {
    std::optional<uint32_t> mode = supervisord::ParseOctal(*chmod);
    if (!mode || *mode > 0777) {
      At(*s.Find("chmod"), Severity::kError,
         "[unix_http_server] chmod: '" + *chmod + "' is not an octal mode such as 0700");
    } else {
      char text[8];
      std::snprintf(text, sizeof text, "%04o", *mode);
      warden_lines_.push_back("  socket_mode: \"" + std::string(text) + "\"");
    }
  }
  if (std::optional<std::string> chown = Text(s, "chown", scope)) {
    const size_t colon = chown->find(':');
    const std::string user = chown->substr(0, colon);
    if (colon != std::string::npos && colon + 1 < chown->size()) {
      warden_lines_.push_back("  socket_group: " + YamlString(chown->substr(colon + 1)));
    }
    if (!user.empty()) {
      At(*s.Find("chown"), Severity::kWarning,
         "[unix_http_server] chown: the owner '" + user +
             "' is not converted: the socket belongs to the user wardend runs as" +
             (colon == std::string::npos ? "" : " (its group is converted: socket_group)"));
    }
  }
}

void Importer::ConvertSupervisorctl(const IniSection& s) {
  for (const auto& [key, v] : s.options) {
    if (key == "serverurl") {
      const std::string url = Trim(v.text);
      if (url.starts_with("unix://") && socket_ && url.substr(7) == *socket_) continue;
      At(v, Severity::kWarning,
         "[supervisorctl] serverurl=" + url +
             " not converted: wardenctl talks to wardend's Unix socket only (warden.socket, or "
             "wardenctl -s SOCKET / $WARDEN_SOCKET)");
    } else {
      At(v, Severity::kWarning,
         "[supervisorctl] " + key + " not converted: wardenctl has no such setting");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// [group:x]

void Importer::CollectGroup(const IniSection& s) {
  const std::string name = Trim(std::string_view(s.name).substr(6));
  if (name.empty() || name.find_first_of(" :/") != std::string::npos) {
    AtSection(s, Severity::kError, "[" + s.name + "]: invalid group name");
    return;
  }
  for (const auto& [key, v] : s.options) {
    if (key == "priority") {
      if (Trim(v.text) != "999") {
        At(v, Severity::kWarning,
           "[" + s.name + "] priority=" + v.text +
               " not converted: warden orders programs by their own priority only");
      }
    } else if (key != "programs") {
      At(v, Severity::kWarning, "[" + s.name + "] " + key + ": unknown setting, ignored");
    }
  }
  std::optional<std::string> list = Text(s, "programs", global_);
  if (!list) {
    if (Get(s, "programs") == nullptr) {
      AtSection(s, Severity::kError,
                "[" + s.name + "] has no 'programs' setting (supervisord would refuse the file)");
    }
    return;
  }
  if (SanitizeName(name) != name) {
    AtSection(s, Severity::kWarning,
              "[" + s.name + "] renamed '" + SanitizeName(name) +
                  "': warden names use only letters, digits, '_', '.' and '-'");
  }
  GroupOut group;
  group.name = name;  // supervisord's, for %(group_name)s; written sanitized
  group.origin = "[" + s.name + "] from " + s.file + ":" + std::to_string(s.line);
  std::string item;
  std::istringstream items(*list);
  while (std::getline(items, item, ',')) {
    const std::string program = Trim(item);
    if (doc_.Find("program:" + program) == nullptr) {
      if (doc_.Find("fcgi-program:" + program) != nullptr) {
        At(*Get(s, "programs"), Severity::kWarning,
           "[" + s.name + "] programs: '" + program +
               "' is an [fcgi-program], which warden does not support; left out of the group");
      } else {
        At(*Get(s, "programs"), Severity::kError,
           "[" + s.name + "] programs: no [program:" + program +
               "] (supervisord would refuse the file)");
      }
      continue;
    }
    if (auto it = group_of_.find(program); it != group_of_.end()) {
      At(*Get(s, "programs"), Severity::kWarning,
         "[" + s.name + "] programs: '" + program + "' is already in group '" +
             groups_[it->second].name +
             "'; a warden program is in one group at most, so it stays there");
      continue;
    }
    group_of_[program] = groups_.size();
    group.members.push_back(program);
  }
  groups_.push_back(std::move(group));
}

// ---------------------------------------------------------------------------------------------
// The whole file

std::string Importer::Render() const {
  std::ostringstream out;
  out << "# warden configuration converted from " << OneLine(main_shown_)
      << " by wardenctl import-supervisord.\n"
      << "# Check it with: wardend --check -c FILE (or wardenctl check FILE).\n";
  // In file order (the files as read), then by line, as on stderr.
  std::vector<Comment> header = header_comments_;
  auto rank = [&](const Comment& c) {
    return std::make_pair(std::find(files_.begin(), files_.end(), c.file) - files_.begin(), c.line);
  };
  std::stable_sort(header.begin(), header.end(),
                   [&](const Comment& a, const Comment& b) { return rank(a) < rank(b); });
  for (const Comment& c : header) out << c.text << "\n";
  if (!warden_lines_.empty()) {
    out << "warden:\n";
    for (const std::string& line : warden_lines_) out << line << "\n";
  }
  if (programs_.empty()) {
    out << "programs: {}\n";
  } else {
    out << "programs:\n";
    for (const ProgramText& p : programs_) {
      for (const std::string& line : p.lines) out << line << "\n";
    }
  }
  bool any_group = false;
  for (const GroupOut& g : groups_) {
    if (g.programs.empty()) continue;
    if (!any_group) out << "groups:\n";
    any_group = true;
    out << "  # " << OneLine(g.origin) << "\n  " << YamlName(SanitizeName(g.name)) << ": [";
    for (size_t i = 0; i < g.programs.size(); ++i) {
      out << (i ? ", " : "") << YamlName(g.programs[i]);
    }
    out << "]\n";
  }
  return out.str();
}

void Importer::Validate(const std::string& yaml) {
  config::LoadResult loaded =
      config::LoadConfigString(yaml, AbsolutePath("warden.yaml", host_.cwd));
  for (const config::Diagnostic& d : loaded.errors) {
    Report(Severity::kError, main_shown_, 0,
           "the converted configuration does not load in warden (line " +
               std::to_string(d.where.line) + " of the output): " + d.message);
  }
}

ImportResult Importer::Run(const std::string& path) {
  main_shown_ = path;
  main_abs_ = AbsolutePath(path, host_.cwd);
  global_["here"] = DirName(main_abs_);
  ImportResult result;
  if (!ReadInto(main_abs_, path)) {
    result.messages = messages_;
    return result;
  }
  ReadIncludes();

  if (const IniSection* s = doc_.Find("supervisord")) ConvertSupervisord(*s);
  if (const IniSection* s = doc_.Find("unix_http_server")) ConvertUnixHttpServer(*s);
  for (const IniSection& s : doc_.sections) {
    if (s.name.starts_with("group:")) CollectGroup(s);
    if (s.name.starts_with("eventlistener:")) CollectMemmon(s);
  }
  for (const IniSection& s : doc_.sections) {
    const std::string& n = s.name;
    if (n.starts_with("program:")) {
      ConvertProgram(s);
    } else if (n == "supervisord" || n == "unix_http_server" || n == "include" ||
               n.starts_with("group:")) {
      // converted above
    } else if (n == "supervisorctl") {
      ConvertSupervisorctl(s);
    } else if (n.starts_with("inet_http_server")) {
      Unsupported(s,
                  "warden listens on its Unix socket only; reach it over ssh, or give "
                  "socket_group access to local users");
    } else if (n.starts_with("unix_http_server")) {
      Unsupported(s, "warden has one control socket ([unix_http_server] became warden.socket)");
    } else if (n.starts_with("fcgi-program:")) {
      Unsupported(s,
                  "warden does not support FastCGI programs (a socket shared by the "
                  "processes); run the program with its own listening socket instead");
    } else if (memmon_.converted.contains(n)) {
      // memmon: its limits became memory_limit (CollectMemmon).
    } else if (n.starts_with("eventlistener:") && ConvertHttpok(s)) {
      // superlance's httpok: a healthcheck of the programs it watches (applied below).
    } else if (n.starts_with("eventlistener:")) {
      // A listener for state changes (PROCESS_STATE, PROCESS_STATE_FATAL, ...) is most often
      // there to act on a failure: warden's own key for it.
      const IniValue* events = s.Find("events");
      const bool states =
          events != nullptr && events->text.find("PROCESS_STATE") != std::string::npos;
      Unsupported(s, states ? "warden has no event listeners; to act when a program fails, "
                              "give it `on_fatal: [COMMAND...]` (or set `warden.on_fatal`, or "
                              "`warden.exit_on_fatal: true` to stop the container); "
                              "`wardenctl events --json` streams every state change"
                            : "warden has no event listeners; watch `wardenctl status --json` "
                              "or the journal instead");
    } else if (n.starts_with("rpcinterface:")) {
      const IniValue* factory = s.Find("supervisor.rpcinterface_factory");
      const bool standard = n == "rpcinterface:supervisor" && s.options.size() == 1 &&
                            factory != nullptr &&
                            Trim(factory->text) == "supervisor.rpcinterface:make_main_rpcinterface";
      if (!standard) Unsupported(s, "warden has no RPC plugins");
    } else if (n.starts_with("ctlplugin:")) {
      Unsupported(s, "wardenctl has no plugins");
    } else {
      Unsupported(s, "unknown section (supervisord ignores it too)");
    }
  }
  ApplyHealthChecks();
  for (const auto& [key, v] : doc_.defaults.options) {
    if (kProgramKeys.contains(key)) {
      At(v, Severity::kNote, "[DEFAULT] " + key + " applied to every program that does not set it");
    } else {
      At(v, Severity::kWarning, "[DEFAULT] " + key + ": not a program setting; ignored");
    }
  }

  for (GroupOut& g : groups_) {
    for (const std::string& member : g.members) {
      if (auto it = written_.find(member); it != written_.end()) {
        g.programs.insert(g.programs.end(), it->second.begin(), it->second.end());
      }
    }
  }
  result.yaml = Render();
  Validate(result.yaml);

  result.programs = static_cast<int>(programs_.size());
  for (const GroupOut& g : groups_) result.groups += g.programs.empty() ? 0 : 1;
  // By file (in the order read), then by line; stable, so a line's messages keep their order.
  auto rank = [&](const ImportMessage& m) {
    const auto it = std::find(files_.begin(), files_.end(), m.file);
    return std::make_pair(it - files_.begin(), m.line);
  };
  std::stable_sort(messages_.begin(), messages_.end(),
                   [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  result.messages = messages_;
  return result;
}

}  // namespace import_internal

std::string ImportMessage::ToString() const {
  using import_internal::Severity;
  const char* word = severity == Severity::kError     ? "error"
                     : severity == Severity::kWarning ? "warning"
                                                      : "note";
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  return out + ": " + word + ": " + message;
}

bool ImportResult::ok() const { return Count(ImportMessage::Severity::kError) == 0; }

int ImportResult::Count(ImportMessage::Severity severity) const {
  return static_cast<int>(std::count_if(messages.begin(), messages.end(),
                                        [&](const auto& m) { return m.severity == severity; }));
}

ImportResult ImportSupervisord(const std::string& path, const ImportHost& host) {
  return import_internal::Importer(host).Run(path);
}

ImportHost SystemImportHost() {
  ImportHost host;
  host.read_file = [](const std::string& path) -> Result<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status(ErrorCode::kIo, std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return Status(ErrorCode::kIo, std::strerror(errno));
    return text.str();
  };
  host.glob = [](const std::string& pattern) {
    std::vector<std::string> paths;
    glob_t matches{};
    if (::glob(pattern.c_str(), 0, nullptr, &matches) == 0) {
      for (size_t i = 0; i < matches.gl_pathc; ++i) paths.emplace_back(matches.gl_pathv[i]);
    }
    ::globfree(&matches);
    return paths;
  };
  host.getenv = [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  struct utsname uts {};
  if (::uname(&uts) == 0) host.host_node_name = uts.nodename;
  std::error_code ec;
  host.cwd = std::filesystem::current_path(ec).string();
  if (ec) host.cwd = "/";
  return host;
}

}  // namespace warden::importer
