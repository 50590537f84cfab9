// The cgroup v2 backend of process tracking: one cgroup per supervised process, which its
// processes start in (os::SpawnSpec::cgroup_fd) and cannot leave by forking, changing session or
// clearing their environment. Its members are its cgroup.procs; "all gone" is `populated 0` in
// its cgroup.events, which the event loop watches through inotify (the kernel signals a change
// of the file as a modification); its leftovers are stopped with cgroup.kill; it is removed once
// empty and its process is down.
//
// The layout under the base folder (see Open):
//
//   BASE/supervisor/         wardend itself, when BASE is its own delegated cgroup (the kernel
//                            lets processes live in leaves only, once controllers are enabled)
//   BASE/programs/NAME       one per process (os::CgroupFolderName: web, webapps.web_00)
//
// Without a writable cgroup2 hierarchy there is no CgroupTree and the supervisor attributes
// processes from /proc (orphans.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "base/unique_fd.h"
#include "config/config.h"
#include "daemon/os/event_loop.h"

namespace warden {

class CgroupTree {
 public:
  // Finds where to put the cgroups, per warden.cgroup (config.h): a configured folder (created
  // when missing), else, with "auto", wardend's own cgroup when systemd delegated it (wardend
  // then moves itself into BASE/supervisor), or a folder named after the control socket below
  // its own cgroup when that is the hierarchy's root (wardend run by hand as root). Null, with
  // *why saying so, when the /proc tracking is to be used.
  static std::unique_ptr<CgroupTree> Open(EventLoop& loop, const config::Settings& settings,
                                          std::string* why);
  ~CgroupTree();
  CgroupTree(const CgroupTree&) = delete;
  CgroupTree& operator=(const CgroupTree&) = delete;

  const std::string& base() const { return base_; }
  // BASE/programs/NAME of a process.
  std::string FolderOf(const config::ProcessName& name) const;
  // Creates the folder when missing and opens it for CLONE_INTO_CGROUP.
  // `made` (may be null): whether this call made the folder (a new one: memory.max and
  // memory.high at "max", cpu.stat from 0).
  Result<UniqueFd> Prepare(const std::string& folder, bool* made = nullptr);
  // Calls on_change(id) from the loop whenever the folder's cgroup.events changes (populated
  // 0 <-> 1), until Unwatch. Changes of many folders at once (a stop of 10,000 programs) are
  // delivered in slices of about kDeliveryPerTurn, the rest from a timer due at once, so that
  // the control socket is served in between.
  static constexpr std::chrono::milliseconds kDeliveryPerTurn{5};
  void Watch(const std::string& folder, uint64_t id);
  // The same for the folder's memory.events (the memory controller's: it changes when the
  // cgroup goes over memory.high, memory.max, meets the OOM killer), calling on_memory(id).
  // Unwatch ends both.
  void WatchMemory(const std::string& folder, uint64_t id);
  void Unwatch(const std::string& folder);
  void set_on_change(std::function<void(uint64_t id)> fn) { on_change_ = std::move(fn); }
  void set_on_memory(std::function<void(uint64_t id)> fn) { on_memory_ = std::move(fn); }

  // The folders under BASE/programs with processes in them, with their pids: what an earlier
  // wardend on the same config left running.
  struct Populated {
    std::string folder;
    std::string name;  // the folder's name
    std::vector<int> pids;
  };
  std::vector<Populated> FindPopulated() const;
  // Waits, at most `timeout_ms`, until none of `folders` is populated (inotify, not polling).
  // Whether they all are empty.
  static bool WaitEmpty(const std::vector<std::string>& folders, int timeout_ms);
  // Removes the empty folders under BASE/programs, then BASE/programs and BASE when wardend made
  // BASE (at exit, once every program is down).
  void RemoveEmpty();

 private:
  CgroupTree(EventLoop& loop, std::string base, bool made_base);
  Status Start();
  void OnInotify();
  // Calls on_change_ for the changes not yet delivered, for about kDeliveryPerTurn.
  void DeliverChanges();
  // A watch (IN_MODIFY) of FOLDER/FILE for process `id`; its descriptor, or -1 (logged).
  int AddWatch(const std::string& folder, const char* file, uint64_t id);

  EventLoop& loop_;
  std::string base_;
  bool made_base_ = false;  // a folder named after the socket, not one given or delegated
  UniqueFd inotify_;
  std::unordered_map<std::string, int> watch_of_;          // folder -> watch descriptor
  std::unordered_map<int, uint64_t> id_of_;                // watch descriptor -> process id
  std::unordered_map<std::string, int> memory_watch_of_;   // folder -> memory.events watch
  std::unordered_map<int, std::string> memory_folder_of_;  // and back
  std::function<void(uint64_t)> on_change_;
  std::function<void(uint64_t)> on_memory_;
  // The processes whose cgroup.events changed and that on_change_ has not been told of yet, in
  // the order seen (each once); the timer of the next slice, 0 when none is booked.
  std::deque<uint64_t> undelivered_;
  std::unordered_set<uint64_t> undelivered_set_;
  EventLoop::TimerId delivery_timer_ = 0;
};

}  // namespace warden
