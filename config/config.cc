// The small pieces of the model that need no YAML: diagnostics, lookups, process names and the
// default socket path.
#include "config/config.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace warden::config {

std::string Diagnostic::ToString() const {
  // A problem with the file as a whole (it cannot be read) has no line to point at: line 0.
  std::string out = where.file;
  if (where.line > 0) {
    if (!out.empty()) out += ':';
    out += std::to_string(where.line);
    // A problem with a whole line (of an env file) has no column: FILE:LINE.
    if (where.column > 0) out += ":" + std::to_string(where.column);
  }
  if (!out.empty()) out += ": ";
  return out + message;
}

const Program* Config::FindProgram(std::string_view name) const {
  for (const Program& program : programs) {
    if (program.name == name) return &program;
  }
  return nullptr;
}

std::vector<ProcessName> ExpandProcessNames(const Config& config, const Program& program) {
  std::string group = program.name;
  for (const Group& g : config.groups) {
    bool member = false;
    for (const std::string& p : g.programs) member = member || p == program.name;
    if (member) {
      group = g.name;
      break;
    }
  }
  std::vector<ProcessName> names;
  if (program.numprocs <= 1) {
    names.push_back({group, program.name});
    return names;
  }
  names.reserve(static_cast<size_t>(program.numprocs));
  for (int i = 0; i < program.numprocs; ++i) {
    // supervisord's default process_name, %(program_name)s_%(process_num)02d: two digits at
    // least, more when the number needs them.
    char number[16];
    std::snprintf(number, sizeof number, "%02d", program.numprocs_start + i);
    names.push_back({group, program.name + "_" + number});
  }
  return names;
}

namespace {
// The first path of a systemd directory variable ($RUNTIME_DIRECTORY may list several,
// colon-separated), or "" when it is unset or not absolute.
std::string SystemdDirectory(const char* variable) {
  const char* value = std::getenv(variable);
  if (value == nullptr || value[0] != '/') return "";
  std::string first(value);
  return first.substr(0, first.find(':'));
}
}  // namespace

std::string DefaultSocketPath() {
  if (std::string dir = SystemdDirectory("RUNTIME_DIRECTORY"); !dir.empty()) {
    return dir + "/warden.sock";
  }
  if (::geteuid() == 0) return "/run/warden/warden.sock";
  const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
  if (runtime_dir != nullptr && runtime_dir[0] == '/') {
    return std::string(runtime_dir) + "/warden/warden.sock";
  }
  return "/tmp/warden-" + std::to_string(::geteuid()) + "/warden.sock";
}

std::string DefaultLogDir() {
  std::string dir = SystemdDirectory("LOGS_DIRECTORY");
  return dir.empty() ? "/var/log/warden" : dir;
}

std::string DefaultConfigPath() {
  std::string dir = SystemdDirectory("CONFIGURATION_DIRECTORY");
  return dir.empty() ? kDefaultConfigPath : dir + "/warden.yaml";
}

}  // namespace warden::config
