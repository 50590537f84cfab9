// `wardenctl import-supervisord supervisord.conf > warden.yaml`: converts a supervisord
// configuration (with the files its [include] names) into one warden.yaml.
//
// What maps (docs/migrating-from-supervisord.md has the full table): [program:x] with every key
// warden has; [group:x]; [include] (the included programs are written inline, each with a comment
// naming its file); [supervisord] loglevel, childlogdir and environment (added to every program,
// as supervisord does); [unix_http_server] file, chmod and the group of chown. The %(...)s
// expansions are resolved as supervisord resolves them when it starts: %(here)s, %(program_name)s,
// %(group_name)s, %(process_num)02d, %(numprocs)d, %(host_node_name)s, and %(ENV_X)s, which takes
// X's value from the environment of the conversion (warden expands no variables, so the value is
// fixed in the output; each one is noted). A program whose processes differ (a command with
// %(process_num)) or whose process_name is not warden's fixed PROGRAM / PROGRAM_NN naming becomes
// one program per process, in a group named as supervisord's, so that every process keeps its
// supervisord name (group:process).
//
// Everything that does not map is reported as FILE:LINE: warning: ..., never dropped silently;
// what supervisord itself would refuse (a missing command, an unset %(ENV_X)s, a bad value) is an
// error. Output that warden would not load is an error too: the result is checked with the real
// config loader before it is returned.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace warden::importer {

// What the importer needs from the system; tests pass their own.
struct ImportHost {
  std::function<Result<std::string>(const std::string& path)> read_file;
  // The paths a glob(3) pattern matches, in any order; none when nothing matches.
  std::function<std::vector<std::string>(const std::string& pattern)> glob;
  // A variable of the environment supervisord would have started with (for %(ENV_X)s).
  std::function<std::optional<std::string>(std::string_view name)> getenv;
  std::string host_node_name;  // %(host_node_name)s: the node name (uname -n)
  std::string cwd;             // makes a relative config path absolute, as %(here)s is
};

// The real file system, environment and node name.
ImportHost SystemImportHost();

struct ImportMessage {
  enum class Severity { kNote, kWarning, kError };
  std::string file;
  int line = 0;  // 0: the file as a whole
  Severity severity = Severity::kWarning;
  std::string message;

  // "FILE:LINE: warning: message" ("FILE: error: message" without a line).
  std::string ToString() const;
};

struct ImportResult {
  std::string yaml;  // the warden configuration (empty if the file is unreadable)
  std::vector<ImportMessage> messages;  // by file (the main file first), then line
  int programs = 0;                     // programs written
  int groups = 0;                       // groups written

  bool ok() const;  // no kError message
  int Count(ImportMessage::Severity severity) const;
};

ImportResult ImportSupervisord(const std::string& path, const ImportHost& host);

}  // namespace warden::importer
