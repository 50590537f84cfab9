// CheckHost: what a configuration needs from the machine (config.h). Read-only lookups: the user
// and group databases, PATH, the file system.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

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

std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < line.size()) {
    const size_t end = std::min(line.find(' ', start), line.size());
    if (end > start) out.push_back(line.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

template <typename Fn>
void ForEachLine(std::string_view text, Fn fn) {
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    fn(text.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace

namespace internal {

std::string MemoryControllerProblem(
    std::string_view proc_self_cgroup, std::string_view mountinfo,
    const std::function<std::optional<std::string>(const std::string&)>& read) {
  std::optional<std::string> own;  // wardend's cgroup v2 path: the "0::PATH" line
  std::string v1_memory;           // where memory is on a v1 hierarchy, if it is
  ForEachLine(proc_self_cgroup, [&](std::string_view line) {
    if (line.starts_with("0::")) own = std::string(line.substr(3));
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && line.substr(colon).starts_with(":memory:")) {
      v1_memory = std::string(line.substr(colon + 8));
    }
  });
  const std::string v1_note =
      v1_memory.empty() ? "" : " (memory is on a cgroup v1 hierarchy here: /proc/self/cgroup)";
  if (!own)
    return "wardend is in no cgroup v2 hierarchy (/proc/self/cgroup has no 0:: line)" + v1_note;
  std::string mount, root;
  ForEachLine(mountinfo, [&](std::string_view line) {
    const std::vector<std::string_view> f = Fields(line);
    for (size_t i = 6; i + 1 < f.size(); ++i) {
      if (f[i] == "-") {
        if (f[i + 1] == "cgroup2" && mount.empty()) {
          root = std::string(f[3]);
          mount = std::string(f[4]);
        }
        break;
      }
    }
  });
  if (mount.empty()) return "no cgroup2 file system is mounted (/proc/self/mountinfo)" + v1_note;
  std::string relative = *own;
  if (root != "/" && relative.starts_with(root)) relative = relative.substr(root.size());
  if (relative == "/") relative.clear();
  const std::string file = mount + relative + "/cgroup.controllers";
  const std::optional<std::string> controllers = read(file);
  if (!controllers) return "cannot read " + file;
  for (std::string_view c :
       Fields(std::string_view(*controllers).substr(0, controllers->find('\n')))) {
    if (c == "memory") return "";
  }
  std::string listed(controllers->substr(0, controllers->find('\n')));
  return "the cgroup v2 hierarchy at " + mount + " has no memory controller (" + file +
         (listed.empty() ? " lists none" : " lists only: " + listed) + ")" + v1_note;
}

}  // namespace internal

std::string MemoryMaxUnavailable() {
  const auto cgroup = ReadSmallFile("/proc/self/cgroup");
  if (!cgroup) return "cannot read /proc/self/cgroup";
  const auto mountinfo = ReadSmallFile("/proc/self/mountinfo");
  if (!mountinfo) return "cannot read /proc/self/mountinfo";
  return internal::MemoryControllerProblem(*cgroup, *mountinfo, ReadSmallFile);
}

std::string MemoryMaxUnavailable(const Settings& settings) {
  if (settings.cgroup == "none") {
    return "warden.cgroup is none: processes are tracked through /proc, not in cgroups";
  }
  return MemoryMaxUnavailable();
}

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
  // memory_max needs the kernel's memory controller in cgroup v2: say once per program why
  // it cannot be enforced here (the program still runs, without the cap).
  std::optional<std::string> memory_problem;
  for (const Program& p : config.programs) {
    if (p.memory_max == 0) continue;
    if (!memory_problem) memory_problem = MemoryMaxUnavailable(config.warden);
    if (memory_problem->empty()) break;
    warn(p.places.memory_max, "program '" + p.name + "': memory_max cannot be enforced here: " +
                                  *memory_problem + "; the program runs without it");
  }
  return check;
}

}  // namespace warden::config
