// CheckHost: what a configuration needs from the machine (config.h). Read-only lookups: the user
// and group databases, PATH, the file system.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/loader_internal.h"

namespace warden::config {
namespace {

bool HasExpansion(std::string_view text) { return text.find('$') != std::string_view::npos; }

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// The PATH the program's command is looked up in: its own `environment`'s, else wardend's.
std::string SearchPath(const Program& program) {
  for (const auto& [name, value] : program.environment) {
    if (name == "PATH") return value;
  }
  const char* path = std::getenv("PATH");
  return path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
}

bool FoundOnPath(const std::string& name, const std::string& path) {
  size_t start = 0;
  for (;;) {
    const size_t end = path.find(':', start);
    std::string dir =
        path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dir.empty()) dir = ".";
    if (IsExecutableFile(dir + "/" + name)) return true;
    if (end == std::string::npos) return false;
    start = end + 1;
  }
}

}  // namespace

HostCheck CheckHost(const Config& config) {
  HostCheck check;
  auto warn = [&](const SourceLocation& where, std::string message) {
    check.warnings.push_back(Diagnostic{where, "warning: " + std::move(message)});
  };
  for (const Program& p : config.programs) {
    const std::string program = "program '" + p.name + "'";
    std::string why;
    if (!p.user.empty() && !HasExpansion(p.user) &&
        !internal::LookUp(internal::IdKind::kUser, p.user, &why)) {
      check.errors.push_back({p.places.user, program + ": user '" + p.user + "': " + why});
    }
    if (!p.group.empty() && !HasExpansion(p.group) &&
        !internal::LookUp(internal::IdKind::kGroup, p.group, &why)) {
      check.errors.push_back({p.places.group, program + ": group '" + p.group + "': " + why});
    }
    if (!p.command.empty() && !HasExpansion(p.command.front())) {
      const std::string& file = p.command.front();
      if (file.find('/') == std::string::npos) {
        const std::string path = SearchPath(p);
        if (!HasExpansion(path) && !FoundOnPath(file, path)) {
          warn(p.places.command,
               program + ": command '" + file + "' is not found on PATH (" + path + ")");
        }
      } else if (!IsExecutableFile(file)) {
        struct stat st {};
        warn(p.places.command,
             program + ": command '" + file + "' " +
                 (::stat(file.c_str(), &st) != 0 ? "does not exist" : "is not an executable file"));
      }
    }
    if (!p.directory.empty() && !HasExpansion(p.directory)) {
      struct stat st {};
      if (::stat(p.directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        warn(p.places.directory,
             program + ": directory '" + p.directory + "' does not exist (yet)");
      }
    }
  }
  return check;
}

}  // namespace warden::config
