// `env_file:` of a program: files in systemd's EnvironmentFile= syntax, read at each start of
// the program (so a changed file applies on its next start) and by `--check`.
//
// The syntax, as systemd reads it: one KEY=VALUE assignment a line; blank lines and lines
// starting with `#` or `;` are ignored; whitespace around the key and before the value is
// dropped. A value in double quotes may hold `\"`, `\\`, `\$`, `` \` `` and a backslash before a
// newline (the line goes on); a value in single quotes is taken as written; an unquoted value
// loses its trailing whitespace, and a backslash at the end of its line joins the next line.
// Nothing is expanded: `${X}` in a value stays as written. A key must be non-empty and made of
// letters, digits and `_`, not starting with a digit.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "config/config.h"

namespace warden::config {

using EnvAssignments = std::vector<std::pair<std::string, std::string>>;

// One bad line of an env file: its 1-based number and what is wrong there.
struct EnvFileError {
  int line = 0;
  std::string message;
};

struct EnvFileParse {
  EnvAssignments assignments;        // in file order (a later one of a key wins when applied)
  std::vector<EnvFileError> errors;  // every bad line; the assignments of good lines are kept
};

// Parses the text of an env file. Pure.
EnvFileParse ParseEnvFile(std::string_view text);

// Reads every file of `files` in order: a missing optional file (`-PATH`) is skipped; any other
// failure (unreadable, a bad line) is an error naming "PATH: why" or "PATH:LINE: why".
Result<EnvAssignments> ReadEnvFiles(const std::vector<EnvFile>& files);

// `--check`: the problems of every program's env files as diagnostics: a bad line at
// "ENVFILE:LINE: message", an unreadable required file at the `env_file` entry of the config.
std::vector<Diagnostic> CheckEnvFiles(const Config& config);

}  // namespace warden::config
