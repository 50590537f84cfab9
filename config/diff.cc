#include "config/diff.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace warden::config {

std::unordered_map<std::string, std::string> GroupsByProgram(const Config& config) {
  std::unordered_map<std::string, std::string> groups;
  // The first group naming a program holds it (as a scan of the groups in order found).
  for (const Group& g : config.groups) {
    for (const std::string& program : g.programs) groups.emplace(program, g.name);
  }
  return groups;
}

namespace {

const std::string& Lookup(const std::unordered_map<std::string, std::string>& groups,
                          const std::string& program) {
  static const std::string kNone;
  auto it = groups.find(program);
  return it == groups.end() ? kNone : it->second;
}

}  // namespace

bool KeyNeedsRestart(const std::string& key) {
  static const char* const kRestartKeys[] = {
      "command",        "environment",    "env_file",   "directory",   "user",
      "umask",          "numprocs_start", "group",      "stdout.file", "stderr.file",
      "stdout.journal", "stderr.journal", "memory_max", "watchdog_sec"};
  return std::any_of(std::begin(kRestartKeys), std::end(kRestartKeys),
                     [&](const char* k) { return key == k; });
}

std::vector<std::string> ChangedKeys(const Program& a, const std::string& group_a, const Program& b,
                                     const std::string& group_b) {
  std::vector<std::string> keys;
  auto check = [&](const char* key, bool differs) {
    if (differs) keys.emplace_back(key);
  };
  check("command", a.command != b.command);
  check("numprocs", a.numprocs != b.numprocs);
  check("numprocs_start", a.numprocs_start != b.numprocs_start);
  check("directory", a.directory != b.directory);
  check("environment", a.environment != b.environment);
  check("env_file", a.env_files != b.env_files);
  check("user", a.user != b.user);
  check("umask", a.umask != b.umask);
  check("group", group_a != group_b);
  check("autostart", a.autostart != b.autostart);
  check("autorestart", a.autorestart != b.autorestart);
  check("exitcodes", a.exitcodes != b.exitcodes);
  check("startsecs", a.startsecs != b.startsecs);
  check("startretries", a.startretries != b.startretries);
  check("ready", a.ready != b.ready);
  check("stopsignal", a.stopsignal != b.stopsignal);
  check("stopwaitsecs", a.stopwaitsecs != b.stopwaitsecs);
  check("stopasgroup", a.stopasgroup != b.stopasgroup);
  check("killasgroup", a.killasgroup != b.killasgroup);
  check("priority", a.priority != b.priority);
  check("depends_on", a.depends_on != b.depends_on);
  check("stdout.file", a.stdout_log.file != b.stdout_log.file);
  check("stdout.max_bytes", a.stdout_log.max_bytes != b.stdout_log.max_bytes);
  check("stdout.backups", a.stdout_log.backups != b.stdout_log.backups);
  check("stdout.on_full", a.stdout_log.on_full != b.stdout_log.on_full);
  check("stdout.timestamps", a.stdout_log.timestamps != b.stdout_log.timestamps);
  check("stdout.journal", a.stdout_log.journal != b.stdout_log.journal);
  check("stderr.file", a.stderr_log.file != b.stderr_log.file ||
                           a.stderr_log.merge_into_stdout != b.stderr_log.merge_into_stdout);
  check("stderr.max_bytes", a.stderr_log.max_bytes != b.stderr_log.max_bytes);
  check("stderr.backups", a.stderr_log.backups != b.stderr_log.backups);
  check("stderr.on_full", a.stderr_log.on_full != b.stderr_log.on_full);
  check("stderr.timestamps", a.stderr_log.timestamps != b.stderr_log.timestamps);
  check("stderr.journal", a.stderr_log.journal != b.stderr_log.journal);
  check("access", a.access != b.access);
  check("on_fatal", a.on_fatal != b.on_fatal);
  check("fatal_retry", a.fatal_retry != b.fatal_retry);
  check("healthcheck", a.healthcheck != b.healthcheck);
  check("watchdog_sec", a.watchdog_sec != b.watchdog_sec);
  check("memory_limit", a.memory_limit != b.memory_limit);
  check("memory_max", a.memory_max != b.memory_max);
  return keys;
}

std::vector<ProgramChange> Diff(const Config& before, const Config& after) {
  std::map<std::string, const Program*> old_programs, new_programs;
  for (const Program& p : before.programs) old_programs[p.name] = &p;
  for (const Program& p : after.programs) new_programs[p.name] = &p;

  const auto old_groups = GroupsByProgram(before);
  const auto new_groups = GroupsByProgram(after);

  std::vector<ProgramChange> changes;
  for (const auto& [name, program] : old_programs) {
    auto it = new_programs.find(name);
    if (it == new_programs.end()) {
      changes.push_back({name, ProgramChange::Kind::kRemoved, {}, false});
      continue;
    }
    std::vector<std::string> keys =
        ChangedKeys(*program, Lookup(old_groups, name), *it->second, Lookup(new_groups, name));
    if (keys.empty()) continue;
    bool restart = std::any_of(keys.begin(), keys.end(), KeyNeedsRestart);
    changes.push_back({name, ProgramChange::Kind::kChanged, std::move(keys), restart});
  }
  for (const auto& [name, program] : new_programs) {
    if (!old_programs.count(name))
      changes.push_back({name, ProgramChange::Kind::kAdded, {}, false});
  }
  std::sort(changes.begin(), changes.end(),
            [](const ProgramChange& x, const ProgramChange& y) { return x.name < y.name; });
  return changes;
}

Config Merge(const Config& current, Config next, const std::vector<std::string>& only) {
  ConfigSources::Update update{std::move(next.sources.files), only};
  Config merged;
  if (only.empty()) {
    LogLevel level = next.warden.log_level;
    AccessRules access = next.warden.access;
    const double status_max_age = next.warden.status_max_age;
    const double memory_check_interval = next.warden.memory_check_interval;
    merged = std::move(next);
    merged.warden = current.warden;
    merged.warden.log_level = level;
    merged.warden.status_max_age = status_max_age;
    merged.warden.memory_check_interval = memory_check_interval;
    merged.warden.access = std::move(access);  // who may do what applies at once
    // An update of everything replaces every earlier one; the first load still gives `warden`.
    merged.sources.files = current.sources.files;
    merged.sources.updates.clear();
  } else {
    const std::unordered_set<std::string> only_set(only.begin(), only.end());
    auto named = [&](const std::string& program) { return only_set.count(program) != 0; };
    merged = current;
    merged.programs.clear();
    for (const auto& p : current.programs) {
      if (!named(p.name)) merged.programs.push_back(p);
    }
    for (const auto& p : next.programs) {
      if (named(p.name)) merged.programs.push_back(p);
    }
    std::sort(merged.programs.begin(), merged.programs.end(), [](const auto& a, const auto& b) {
      return std::tie(a.priority, a.name) < std::tie(b.priority, b.name);
    });
    const auto next_groups = GroupsByProgram(next);
    const auto current_groups = GroupsByProgram(current);
    std::map<std::string, Group> groups;
    for (const auto& p : merged.programs) {
      const std::string& group = Lookup(named(p.name) ? next_groups : current_groups, p.name);
      if (group.empty()) continue;
      groups[group].name = group;
      groups[group].programs.push_back(p.name);
    }
    merged.groups.clear();
    for (auto& [name, group] : groups) merged.groups.push_back(std::move(group));
    // An earlier update of some programs that this one names all again no longer decides
    // anything: drop it, so that `update web` run again and again keeps one copy of the files.
    std::erase_if(merged.sources.updates, [&](const ConfigSources::Update& earlier) {
      return !earlier.only.empty() && std::all_of(earlier.only.begin(), earlier.only.end(), named);
    });
  }
  merged.sources.updates.push_back(std::move(update));
  return merged;
}

}  // namespace warden::config
