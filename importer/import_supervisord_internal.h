// Private to ctl/import_supervisord*.cc: the converter itself, split in two files:
// import_supervisord.cc (reading, expansions, the global sections, the output) and
// import_supervisord_program.cc ([program:x]).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "importer/import_supervisord.h"
#include "importer/supervisord_ini.h"

namespace warden::importer::import_internal {

using supervisord::ExpansionValue;
using supervisord::IniDocument;
using supervisord::IniSection;
using supervisord::IniValue;
using Severity = ImportMessage::Severity;
using Scope = std::map<std::string, ExpansionValue, std::less<>>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

// YAML text: a double-quoted scalar (safe for any text); a key or list item, plain when it
// reads back as the same text; a size as NNMB / NNKB / NNGB / bytes; newlines as blanks.
std::string YamlString(std::string_view s);
std::string YamlName(std::string_view s);
std::string SizeText(uint64_t bytes);
std::string OneLine(std::string s);

// What ${NAME} accepts: [A-Za-z_][A-Za-z0-9_]*.
bool IsVariableName(std::string_view name);
// Warden names: [A-Za-z0-9_.-]; anything else becomes '_'.
std::string SanitizeName(std::string_view name);
std::string Trim(std::string_view s);  // blanks and tabs at both ends
std::string Lower(std::string_view s);
void ReplaceAll(std::string* text, std::string_view from, std::string_view to);
// os.path.abspath: joined to `cwd` when relative, normalized, no trailing '/'.
std::string AbsolutePath(const std::string& path, const std::string& cwd);
std::string DirName(const std::string& abs_path);

// Stands for ${X} inside text being split (see Importer::Marker): word characters only.
inline constexpr std::string_view kMarker = "__warden_env_ref_";

// The keys of a [program:x] section (supervisord 4.x, options.py).
extern const std::set<std::string, std::less<>> kProgramKeys;

struct LogSettings {
  std::optional<std::string> file;  // "AUTO", "NONE" or a path
  std::optional<uint64_t> max_bytes;
  std::optional<int64_t> backups;
  bool operator==(const LogSettings&) const = default;
};

// What supervisord computes for each process of a program.
struct ProcessSettings {
  std::string name;     // process_name, expanded
  std::string command;  // as YAML
  Pairs environment;    // [supervisord] environment, then the program's
  std::optional<std::string> directory;
  LogSettings out;
  LogSettings err;

  bool SameApartFromName(const ProcessSettings& o) const {
    return command == o.command && environment == o.environment && directory == o.directory &&
           out == o.out && err == o.err;
  }
};

class Importer {
 public:
  explicit Importer(const ImportHost& host) : host_(host) {}

  ImportResult Run(const std::string& path);

 private:
  // Messages --------------------------------------------------------------------------------
  void Report(Severity severity, const std::string& file, int line, const std::string& message);
  void At(const IniValue& v, Severity severity, const std::string& message) {
    Report(severity, v.file, v.line, message);
  }
  void AtSection(const IniSection& s, Severity severity, const std::string& message) {
    Report(severity, s.file, s.line, message);
  }

  // Reading ---------------------------------------------------------------------------------
  bool ReadInto(const std::string& path, const std::string& shown);
  void ReadIncludes();

  // Values ----------------------------------------------------------------------------------
  const IniValue* Get(const IniSection& s, std::string_view key) const;
  // `v`'s text with its %(...)s expansions done as supervisord does them. With `references`
  // (a command or an environment value, which wardend expands itself when it starts the
  // program), %(ENV_X)s of the conversion's environment becomes a marker for ${X} (see Resolve);
  // elsewhere it becomes X's value here. The variables in `fixed` become their value here even
  // with `references`.
  std::optional<std::string> Expand(const IniValue& v, const Scope& scope, const std::string& what,
                                    bool references = false,
                                    const std::set<std::string>* fixed = nullptr);
  // The %(ENV_X)s of a command whose value here supervisord would split into other words than
  // the one ${X} is to wardend (blanks, quotes, backslashes, or nothing), each with a note.
  std::set<std::string> ValuesToSplit(const IniValue& command, const Scope& scope,
                                      const std::string& what);
  // A marker stands for ${X} while the text is split into words or key=value pairs: it is made
  // of word characters only, so that both treat it as part of a word.
  std::string Marker(const std::string& name);
  // For wardend's expansion: literal "${" escaped as "$${", markers as ${X}.
  std::string Resolve(std::string_view text) const;
  // Markers replaced with the variables' values in this environment (for keys warden does not
  // expand).
  std::string Bake(std::string_view text) const;
  // Each marker replaced with replacement(X, the text before it); with `escape`, literal "${"
  // becomes "$${" too.
  std::string ReplaceMarkers(
      std::string_view text, bool escape,
      const std::function<std::string(const std::string&, const std::string&)>& replacement) const;
  std::optional<std::string> Text(const IniSection& s, std::string_view key, const Scope& scope);
  std::optional<bool> Bool(const IniSection& s, std::string_view key, const Scope& scope);
  std::optional<int64_t> Int(const IniSection& s, std::string_view key, const Scope& scope,
                             int64_t min, int64_t max);
  std::optional<uint64_t> Size(const IniSection& s, std::string_view key, const Scope& scope);
  std::string What(const IniSection& s, std::string_view key) const {
    return "[" + s.name + "] " + std::string(key);
  }
  std::string ExpandUser(const std::string& path, const IniValue& where, const std::string& what);
  // PATH="/opt/bin:$PATH" passes "$PATH" literally, in supervisord as in warden: worth a note.
  void NoteDollars(const Pairs& pairs, const IniValue& where, const std::string& what);

  // Sections --------------------------------------------------------------------------------
  void ConvertSupervisord(const IniSection& s);
  void ConvertUnixHttpServer(const IniSection& s);
  void ConvertSupervisorctl(const IniSection& s);
  void CollectGroup(const IniSection& s);
  void ConvertProgram(const IniSection& s);
  std::optional<ProcessSettings> ConvertProcess(const IniSection& s, Scope scope,
                                                const std::string& program_name);
  std::optional<LogSettings> ConvertLog(const IniSection& s, const std::string& stream,
                                        const Scope& scope);
  std::optional<std::string> CommandYaml(const std::string& command, const IniValue& where,
                                         const std::string& what);
  void EmitProgram(const std::string& name, const std::string& origin, const ProcessSettings& p,
                   int numprocs, int64_t numprocs_start, const std::vector<std::string>& settings,
                   bool redirect_stderr);
  void Unsupported(const IniSection& s, const std::string& why);
  bool ConvertHttpok(const IniSection& s);
  void ApplyHealthChecks();
  // superlance's memmon ([eventlistener:x] command=memmon -p NAME=SIZE -g GROUP=SIZE -a SIZE):
  // read before the programs, whose memory_limit it becomes (import_supervisord_program.cc).
  // False when the section runs something else.
  bool CollectMemmon(const IniSection& s);
  // The limit memmon put on program `name` of group `group`, or nullopt.
  std::optional<uint64_t> MemmonLimit(const std::string& name, const std::string& group) const;

  std::string Render() const;
  void Validate(const std::string& yaml);

  const ImportHost& host_;
  IniDocument doc_;
  std::string main_shown_;  // the main file as given, for messages
  std::string main_abs_;
  Scope global_;      // here, host_node_name is looked up lazily; ENV_ of [supervisord]
  Pairs global_env_;  // [supervisord] environment
  std::optional<std::string> socket_;
  std::map<std::string, size_t, std::less<>> marker_of_;  // X -> index in referenced_
  std::vector<std::string> referenced_;                   // the X of each marker

  std::vector<ImportMessage> messages_;
  std::set<std::string> seen_messages_;
  std::vector<std::string> files_;                         // in reading order, for sorting messages
  std::map<std::string, std::string, std::less<>> shown_;  // absolute path -> as shown

  // Output.
  // Messages as YAML comments: beside the program they concern, else at the top of the file.
  struct Comment {
    std::string file;
    int line = 0;
    std::string text;
  };
  std::vector<Comment> header_comments_;
  std::vector<std::string> warden_lines_;
  struct ProgramText {
    std::string name;
    std::vector<std::string> lines;
  };
  std::vector<ProgramText> programs_;
  std::vector<Comment>* comments_ = &header_comments_;  // where messages go as comments
  std::vector<Comment> pending_comments_;
  struct GroupOut {
    std::string name;
    std::string origin;
    std::vector<std::string> members;   // supervisord program names, as listed
    std::vector<std::string> programs;  // warden programs written for them
  };
  std::vector<GroupOut> groups_;
  std::map<std::string, size_t, std::less<>> group_of_;  // program name -> groups_ index
  struct Memmon {
    std::map<std::string, uint64_t, std::less<>> programs;  // -p: NAME or GROUP:NAME
    std::map<std::string, uint64_t, std::less<>> groups;    // -g
    std::optional<uint64_t> any;                            // -a
    std::set<std::string> converted;  // the memmon sections that became memory_limit
  } memmon_;
  std::map<std::string, std::vector<std::string>, std::less<>> written_;  // program -> programs
  struct PendingHealthCheck {
    std::string target;  // httpok's -p (process, group:process), "*" for -a
    std::string line;    // the healthcheck: line
    const IniValue* where;
  };
  std::vector<PendingHealthCheck> health_checks_;
};

}  // namespace warden::importer::import_internal
