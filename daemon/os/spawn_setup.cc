// Program attributes into a SpawnSpec. See spawn_setup.h.
#include "daemon/os/spawn_setup.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "base/unique_fd.h"
#include "config/env_file.h"
#include "config/expand.h"

extern char** environ;

namespace warden {
namespace {

// Variables wardend's own environment may hold that belong to wardend, not its children.
bool InheritedVariable(std::string_view entry) {
  static constexpr std::string_view kDropped[] = {
      "NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID=",     "LISTEN_FDNAMES=", "WATCHDOG_USEC=",
      "WATCHDOG_PID=",  "WARDEN_",     "JOURNAL_STREAM=", "INVOCATION_ID=",
  };
  for (auto prefix : kDropped) {
    if (entry.substr(0, prefix.size()) == prefix) return false;
  }
  return true;
}

std::optional<gid_t> LookupGroup(const std::string& group) {
  std::vector<char> buf(16384);
  struct group gr {};
  struct group* found = nullptr;
  char* end = nullptr;
  const unsigned long numeric = std::strtoul(group.c_str(), &end, 10);
  if (!group.empty() && *end == '\0') {
    if (getgrgid_r(static_cast<gid_t>(numeric), &gr, buf.data(), buf.size(), &found) != 0 ||
        found == nullptr) {
      return static_cast<gid_t>(numeric);  // a number names a gid even without an entry
    }
    return found->gr_gid;
  }
  if (getgrnam_r(group.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return found->gr_gid;
}

std::vector<gid_t> GroupList(const std::string& user, gid_t primary) {
  int count = 64;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  while (getgrouplist(user.c_str(), primary, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count) + 64);
    count = static_cast<int>(groups.size());
  }
  groups.resize(static_cast<size_t>(count));
  return groups;
}

// wardend's own OOM score adjustment; 0 when it cannot be read.
int OwnOomScoreAdj() {
  UniqueFd fd(open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC));
  if (!fd) return 0;
  char buf[16] = {};
  if (read(fd.get(), buf, sizeof buf - 1) <= 0) return 0;
  return std::atoi(buf);
}

core::SpawnError Failure(std::string stage, int error) { return {std::move(stage), error}; }

}  // namespace

std::vector<std::string> InheritedEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (InheritedVariable(*e)) env.emplace_back(*e);
  }
  return env;
}

void SetVariable(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  const std::string prefix = key + "=";
  for (auto& entry : env) {
    if (entry.compare(0, prefix.size(), prefix) == 0) {
      entry = prefix + value;
      return;
    }
  }
  env.push_back(prefix + value);
}

std::optional<std::string> GetVariable(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& entry : env) {
    if (entry.size() > key.size() && entry.compare(0, key.size(), key) == 0 &&
        entry[key.size()] == '=') {
      return entry.substr(key.size() + 1);
    }
  }
  return std::nullopt;
}

int ResourceByName(std::string_view name) {
  struct Entry {
    std::string_view name;
    int resource;
  };
  static constexpr Entry kResources[] = {
      {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
      {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},
      {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
      {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},
      {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
      {"stack", RLIMIT_STACK},
  };
  for (const Entry& e : kResources) {
    if (e.name == name) return e.resource;
  }
  return -1;
}

std::optional<core::SpawnError> PrepareProgramSpawn(const config::Program& p,
                                                    const config::ProcessName& name,
                                                    os::SpawnSpec* spec) {
  spec->env = InheritedEnvironment();

  // --- identity ---
  const bool root = geteuid() == 0;
  if (!p.user.empty()) {
    auto user = os::LookupUser(p.user);
    if (!user.ok()) return Failure(user.status().message(), 0);
    if (!root && user->uid != geteuid()) {
      return Failure("user " + p.user + " (wardend is not root)", EPERM);
    }
    spec->uid = user->uid;
    spec->gid = user->gid;
    spec->groups = user->groups;
    if (!p.group.empty()) {
      auto gid = LookupGroup(p.group);
      if (!gid) return Failure("group " + p.group + ": no such group", 0);
      spec->gid = *gid;
      spec->groups = GroupList(user->name, *gid);
    }
    SetVariable(spec->env, "HOME", user->home);
    SetVariable(spec->env, "USER", user->name);
    SetVariable(spec->env, "LOGNAME", user->name);
  } else if (!p.group.empty()) {
    auto gid = LookupGroup(p.group);
    if (!gid) return Failure("group " + p.group + ": no such group", 0);
    if (root) {
      spec->change_group = true;
      spec->gid = *gid;
      spec->groups = {*gid};
    } else if (*gid != getegid()) {
      return Failure("group " + p.group + " (wardend is not root)", EPERM);
    }
  }

  // --- environment ---
  auto set_names = [&] {
    SetVariable(spec->env, "WARDEN_PROGRAM", p.name);
    SetVariable(spec->env, "WARDEN_PROCESS", name.name);
    SetVariable(spec->env, "WARDEN_GROUP", name.group);
  };
  set_names();
  // Read at each start, so that a changed file applies on the next one.
  auto from_files = config::ReadEnvFiles(p.env_files);
  if (!from_files.ok()) return Failure("env_file " + from_files.status().message(), 0);
  for (const auto& [key, value] : *from_files) SetVariable(spec->env, key, value);
  auto lookup = [&](std::string_view key) { return GetVariable(spec->env, key); };
  for (const auto& [key, value] : p.environment) {
    auto expanded = config::ExpandVariables(value, lookup);
    if (!expanded.ok())
      return Failure("environment " + key + ": " + expanded.status().message(), 0);
    SetVariable(spec->env, key, *expanded);
  }
  set_names();

  // --- command ---
  spec->argv.clear();
  for (const std::string& word : p.command) {
    auto expanded = config::ExpandVariables(word, lookup);
    if (!expanded.ok()) return Failure("command: " + expanded.status().message(), 0);
    spec->argv.push_back(std::move(expanded).value());
  }
  if (spec->argv.empty() || spec->argv.front().empty()) return Failure("exec (empty)", ENOENT);
  int search_error = 0;
  spec->path = os::SearchPath(spec->argv.front(), GetVariable(spec->env, "PATH").value_or(""),
                              &search_error);
  if (spec->path.empty()) return Failure("exec " + spec->argv.front(), search_error);

  spec->directory = p.directory;
  spec->umask = p.umask;

  // --- limits ---
  bool sets_nofile = false;
  for (const config::ResourceLimit& limit : p.rlimits) {
    const int resource = ResourceByName(limit.name);
    if (resource < 0) return Failure("rlimit " + limit.name, EINVAL);
    const rlim_t value =
        limit.value ? static_cast<rlim_t>(*limit.value) : static_cast<rlim_t>(RLIM_INFINITY);
    spec->rlimits.push_back({resource, value, value});
    sets_nofile = sets_nofile || resource == RLIMIT_NOFILE;
  }
  // wardend raised its own fd limit: a program gets the one wardend was started with (programs
  // written for select(2) break above 1024), unless its `rlimits` says otherwise.
  if (auto started = os::FdLimitForPrograms(); started && !sets_nofile) {
    spec->rlimits.push_back({RLIMIT_NOFILE, started->rlim_cur, started->rlim_max});
  }
  spec->reset_oom_score_adj = OwnOomScoreAdj() != 0;
  return std::nullopt;
}

}  // namespace warden
