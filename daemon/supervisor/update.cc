// Supervisor::Reread, Update and Apply: the config file read again, and its changes applied to
// the running programs (added, removed, changed), as one job.
#include <spdlog/spdlog.h>
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "daemon/supervisor/outcomes.h"
#include "daemon/supervisor/supervisor.h"

namespace warden {

using outcomes::Gather;
using outcomes::IsStoppedState;
using outcomes::Ok;

void Supervisor::ReadConfig(std::function<void(config::LoadResult)> then) {
  auto loaded = std::make_shared<config::LoadResult>();
  auto work = [path = config_.path, loaded] { *loaded = config::LoadConfigFile(path); };
  auto done = [loaded, then = std::move(then)] { then(std::move(*loaded)); };
  if (aside_ == nullptr) {
    work();
    done();
    return;
  }
  aside_->Run(std::move(work), std::move(done));
}

namespace {

// Every problem of a file that could not be read, one FILE:LINE:COL line each.
std::string Problems(const config::LoadResult& loaded) {
  std::string message;
  for (const auto& d : loaded.errors) message += (message.empty() ? "" : "\n") + d.ToString();
  return message;
}

}  // namespace

void Supervisor::Reread(std::function<void(Result<std::vector<config::ProgramChange>>)> done) {
  ReadConfig([this, done = std::move(done)](config::LoadResult loaded) {
    if (!loaded.config) return done(::warden::Status(ErrorCode::kConfig, Problems(loaded)));
    done(config::Diff(config_, *loaded.config));
  });
}

namespace {

// The `warden` settings wardend applies only at start-up (the socket is bound, the log folder and
// target opened, once), changed between `in_force` and `in_file`: one result each.
std::vector<ActionOutcome> SettingsNeedingRestart(const config::Settings& in_force,
                                                  const config::Settings& in_file) {
  std::vector<ActionOutcome> results;
  auto check = [&](const char* key, const std::string& now, const std::string& wanted) {
    if (now == wanted) return;
    results.push_back({std::string("warden.") + key, ErrorCode::kOk,
                       "changed to " + wanted +
                           ": not applied, wardend must be restarted for it "
                           "(in force until then: " +
                           now + ")"});
  };
  auto octal = [](mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
    return std::string(text);
  };
  auto target = [](const config::Settings& s) -> std::string {
    switch (s.log_target) {
      case config::LogTarget::kStderr:
        return "stderr";
      case config::LogTarget::kJournald:
        return "journald";
      case config::LogTarget::kFile:
        return s.log_file;
    }
    return "stderr";
  };
  check("socket", in_force.socket, in_file.socket);
  check("socket_mode", octal(in_force.socket_mode), octal(in_file.socket_mode));
  check("socket_group", in_force.socket_group.empty() ? "(wardend's group)" : in_force.socket_group,
        in_file.socket_group.empty() ? "(wardend's group)" : in_file.socket_group);
  check("log_dir", in_force.log_dir, in_file.log_dir);
  check("log_target", target(in_force), target(in_file));
  check("cgroup", in_force.cgroup, in_file.cgroup);
  auto leftovers = [](config::OnLeftovers o) {
    return std::string(o == config::OnLeftovers::kKill ? "kill" : "leave");
  };
  check("on_leftovers", leftovers(in_force.on_leftovers), leftovers(in_file.on_leftovers));
  return results;
}

}  // namespace

namespace {

// The result of a program whose process `failed` to start during an update: the cause, and which
// process when the program has several ("spawn error: web:web_01: exec /x: ..."). Set after the
// program's own message, so that "added process group" never hides it.
ActionOutcome StartFailure(const std::string& program, const ActionOutcome& failed) {
  std::string message = failed.message;
  if (failed.name != program) {
    const std::string lead = "spawn error: ";
    const size_t at = message.starts_with(lead) ? lead.size() : 0;
    message.insert(at, failed.name + ": ");
  }
  return {program, failed.code, std::move(message)};
}

}  // namespace

void Supervisor::Update(const std::vector<std::string>& names,
                        std::function<void(::warden::Status, std::vector<ActionOutcome>)> done) {
  done = jobs_.Completion(jobs_.Open(JobKind::kUpdate), std::move(done));
  ReadConfig([this, names, done = std::move(done)](config::LoadResult loaded) mutable {
    ApplyRead(names, std::move(loaded), std::move(done));
  });
}

void Supervisor::ApplyRead(const std::vector<std::string>& names, config::LoadResult loaded,
                           std::function<void(::warden::Status, std::vector<ActionOutcome>)> done) {
  if (shutting_down_) {
    done(::warden::Status(ErrorCode::kShuttingDown, "wardend is shutting down"), {});
    return;
  }
  if (!loaded.config) {
    for (const auto& d : loaded.errors) spdlog::error("{}", d.ToString());
    spdlog::error("{} is not valid; the configuration in force is kept", config_.path);
    done(::warden::Status(ErrorCode::kConfig, Problems(loaded)), {});
    return;
  }
  config::Config next = std::move(*loaded.config);

  // Names are program names or group names, in either config.
  std::vector<std::string> programs;
  std::vector<ActionOutcome> unknown;
  for (const std::string& name : names) {
    bool any = false;
    for (const config::Config* c : {&config_, &next}) {
      if (c->FindProgram(name)) {
        programs.push_back(name);
        any = true;
      }
      for (const config::Group& g : c->groups) {
        if (g.name != name) continue;
        programs.insert(programs.end(), g.programs.begin(), g.programs.end());
        any = true;
      }
    }
    if (!any) unknown.push_back({name, ErrorCode::kNotFound, "no such program or group"});
  }
  if (!names.empty() && programs.empty()) {
    done(::warden::Status::Ok(), std::move(unknown));
    return;
  }
  if (names.empty()) {
    // Settings bound at start-up stay as they are (config::Merge); each one changed in the file
    // gets a result of its own saying so, rather than being ignored in silence.
    std::vector<ActionOutcome> kept = SettingsNeedingRestart(config_.warden, next.warden);
    for (const ActionOutcome& r : kept) spdlog::warn("{}: {}", r.name, r.message);
    unknown.insert(unknown.end(), kept.begin(), kept.end());
  }
  if (on_reload_begin_) on_reload_begin_();
  if (names.empty()) {
    // config::LogLevel lists the levels in spdlog's order (trace .. error).
    spdlog::set_level(static_cast<spdlog::level::level_enum>(next.warden.log_level));
  }
  Apply(std::move(next), programs,
        [this, unknown, done = std::move(done)](std::vector<ActionOutcome> results) {
          results.insert(results.begin(), unknown.begin(), unknown.end());
          if (on_reload_end_) on_reload_end_();
          done(::warden::Status::Ok(), std::move(results));
        });
}

void Supervisor::Apply(config::Config next, const std::vector<std::string>& only,
                       ResultsCallback done) {
  config::Config merged = config::Merge(config_, std::move(next), only);
  std::vector<config::ProgramChange> changes = config::Diff(config_, merged);
  config_ = std::move(merged);

  auto gather = std::make_shared<Gather>();
  gather->results.resize(changes.size());
  gather->remaining = changes.size() + 1;  // +1 until every operation is under way
  gather->done = std::move(done);

  // Each program's result is complete when its own operations are.
  struct ProgramOp {
    std::shared_ptr<Gather> gather;
    size_t slot;
    ActionOutcome result;
    size_t pending = 1;
    void Finish() {
      if (--pending == 0) gather->Put(slot, result);
    }
  };

  // Every lookup below by name, built once: a scan of every process (and of the config) for
  // each change made an update that removes or adds N/2 of N programs O(N^2), seconds at 10,000.
  std::unordered_map<std::string, std::vector<Process*>> by_program;
  std::unordered_map<std::string, uint64_t> removing_by_name;  // full name -> id
  for (auto& p : processes_) {
    if (p->removing()) {
      removing_by_name[p->full_name()] = p->id();
    } else {
      by_program[p->program().name].push_back(p.get());
    }
  }
  // A removal in this update counts too: an addition of the same full name (from another
  // program) waits for it, as one of an earlier update does.
  auto remove = [this, &removing_by_name](Process* p, const std::shared_ptr<ProgramOp>& op) {
    removing_by_name[p->full_name()] = p->id();
    op->pending++;
    RemoveProcess(p, [op] { op->Finish(); });
  };
  std::unordered_map<std::string_view, const config::Program*> in_config;
  for (const config::Program& program : config_.programs) in_config[program.name] = &program;
  // The added processes to start, requested once all are in (PumpStarts launches them in
  // slices): a request per addition rebuilt the dependency graph, O(N), each time.
  std::vector<std::pair<Process*, std::shared_ptr<ProgramOp>>> to_start;
  for (size_t slot = 0; slot < changes.size(); ++slot) {
    const config::ProgramChange& change = changes[slot];
    auto op = std::make_shared<ProgramOp>();
    op->gather = gather;
    op->slot = slot;
    op->result = {change.name, ErrorCode::kOk, ""};

    std::vector<Process*> existing;
    if (auto it = by_program.find(change.name); it != by_program.end()) existing = it->second;
    const auto found = in_config.find(change.name);
    const config::Program* program = found == in_config.end() ? nullptr : found->second;
    if (change.kind == config::ProgramChange::Kind::kRemoved || program == nullptr) {
      op->result.message = "removed process group";
      spdlog::info("{}: removed from the configuration", change.name);
      for (Process* p : existing) remove(p, op);
      op->Finish();
      continue;
    }

    auto shared = std::make_shared<const config::Program>(*program);
    std::vector<config::ProcessName> wanted = config::ExpandProcessNames(config_, *program);
    // A set: a scan of `wanted` for each existing process made an update of a program with
    // numprocs N O(N^2) (seconds at 10,000).
    std::unordered_set<std::string> wanted_names;
    wanted_names.reserve(wanted.size());
    for (const auto& n : wanted) wanted_names.insert(n.FullName());
    auto wanted_has = [&](const std::string& full) { return wanted_names.count(full) != 0; };
    bool restarted = false;
    bool at_next_start = false;
    for (Process* p : existing) {
      if (!wanted_has(p->full_name())) {
        remove(p, op);
        restarted = restarted || change.restart;  // its instances are replaced
        continue;
      }
      const core::State state = p->machine().state();
      const bool up = state == core::State::kStarting || state == core::State::kRunning;
      if (!change.restart) {
        p->Replace(shared);  // supervision keys: live
      } else if (up) {
        // Stopped now, started again with the new definition once down, unless a client's stop
        // or an update's removal comes first, or a restart in flight starts it anyway.
        restarted = true;
        op->pending++;
        p->pending_program_ = shared;
        (void)p->machine().Stop(EventLoop::Now());
        const uint64_t stops = p->stop_requests_;
        p->Observe([this, p, op, stops](core::State s) {
          if (!IsStoppedState(s)) return false;
          const core::State now = p->machine().state();
          if (p->removing() || p->stop_requests_ != stops || p->start_after_stop() ||
              p->start_pending() || !IsStoppedState(now)) {
            op->Finish();
            return true;
          }
          StartOne(p, [op](ActionOutcome r) {
            if (r.code != ErrorCode::kOk) op->result = StartFailure(op->result.name, r);
            op->Finish();
          });
          return true;
        });
      } else if (state == core::State::kStopping) {
        // On its way down: the new definition waits for the stop. A restart in flight then
        // starts it with the new definition; otherwise it stays stopped, as asked.
        p->pending_program_ = shared;
        (p->start_after_stop() ? restarted : at_next_start) = true;
      } else {
        p->Replace(shared);  // not running: its next start uses the new definition
        at_next_start = true;
      }
    }
    if (change.kind == config::ProgramChange::Kind::kAdded) {
      op->result.message = "added process group";
      spdlog::info("{}: added to the configuration", change.name);
    } else {
      std::string keys;
      for (const auto& k : change.keys) keys += (keys.empty() ? "" : ", ") + k;
      op->result.message =
          std::string(restarted       ? "updated process group (restarted: "
                      : at_next_start ? "updated process group (at the next start: "
                                      : "updated process group (applied live: ") +
          keys + ")";
      spdlog::info("{}: {}", change.name, op->result.message);
    }
    for (const auto& name : wanted) {
      if (by_full_name_.count(name.FullName())) continue;
      Process* added = AddProcess(shared, name);
      // The removed process of the same name, if it is still stopping, goes first.
      if (auto it = removing_by_name.find(added->full_name()); it != removing_by_name.end()) {
        added->predecessor_ = it->second;
      }
      if (shared->autostart && !shutting_down_) {
        op->pending++;
        to_start.emplace_back(added, op);
      }
    }
    op->Finish();
  }
  SortProcesses();
  for (auto& [added, op] : to_start) {
    RequestStart(
        added,
        [op](ActionOutcome r) {
          if (r.code != ErrorCode::kOk) op->result = StartFailure(op->result.name, r);
          op->Finish();
        },
        /*pump=*/false);
  }
  if (!to_start.empty()) PumpStarts();
  memory_watch_.Arm();  // memory_limit may have been set or removed live
  gather->Release();    // the hold: if nothing is pending, the results go out now
}

}  // namespace warden
