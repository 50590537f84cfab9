// The record of the processes wardend tracks through /proc, kept in a small file beside the
// control socket (SOCKET.procs), so that a wardend started again after the one before was killed
// (SIGKILL, a crash) finds what that one's programs left running. The cgroup backend needs no
// record (its folders are one); the /proc backend has nothing else that survives wardend: its
// processes are reparented away from it, and their environments may be overwritten (nginx sets
// its process title there) or cleared (`setsid env -i`).
//
// The file is a log of lines, each written with one write(2) in O_APPEND mode:
//
//   # warden process record, boot BOOT_ID      (first line, written by a rewrite)
//   + PID START NAME                           (a process of NAME seen: a main process at its
//                                               spawn, what a scan attributed to it)
//   - PID START                                (it is gone)
//
// START is field 22 of /proc/PID/stat (clock ticks after boot), so a pid used again since is
// never taken for the process recorded; BOOT_ID (/proc/sys/kernel/random/boot_id) makes a
// record from before a reboot worth nothing. A line cut short by a crash is skipped.
//
// Why a log and not a file rewritten on a timer: one append per spawn and per exit costs the
// same whatever the number of programs and needs no timer (an idle wardend makes no wakeup),
// and it is on disk before wardend goes on, so a kill at any moment loses nothing. The file
// stays open for appending (one fd, opened at the first append after a rewrite: a rewrite puts
// a new file in its place), so an append is one write(2), not an open, a write and a close. The
// log is
// rewritten whole (a temporary file renamed over it: never half-written) when it holds more than
// twice the live entries (plus a little slack), which keeps it O(live) in size and each change
// O(1) amortized.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "daemon/os/os.h"

namespace warden {

struct RecordEntry {
  int pid = 0;
  uint64_t start_ticks = 0;
  std::string name;  // the process's full name (web, webapps:web_00)
  bool operator==(const RecordEntry&) const = default;
};

// --- the format (pure) ---------------------------------------------------------------------------

struct ParsedRecord {
  std::string boot;               // from the first line; "" when there is none
  std::vector<RecordEntry> live;  // added and not removed, in the order first added
  size_t lines = 0;               // complete lines read
};
ParsedRecord ParseRecord(std::string_view text);
std::string FormatRecordHeader(const std::string& boot);
std::string FormatAdded(const RecordEntry& entry);
std::string FormatRemoved(int pid, uint64_t start_ticks);

// The live processes of `snapshot` (every process of the machine) that belong to a recorded
// entry, per entry name: a recorded process still alive with the same start time; a process in
// the session or process group of a recorded one (started after it, and while that pid names no
// other process); and every descendant of those. `self` (the wardend reading it) is never one.
// Zombies are left out (they are dead already); their children are not. In name order, each
// list by pid.
struct RecordedLeftovers {
  std::string name;
  std::vector<os::ProcStat> processes;
};
std::vector<RecordedLeftovers> FindRecordedLeftovers(const std::vector<RecordEntry>& entries,
                                                     const std::vector<os::ProcStat>& snapshot,
                                                     int self);

// --- the file ------------------------------------------------------------------------------------

class ProcessRecord {
 public:
  // Writes go through `system` (the kernel's files, or a simulation's).
  ProcessRecord(os::System& system, std::string path);
  // The record of the wardend whose control socket is `socket`: SOCKET.procs.
  static std::string PathFor(const std::string& socket) { return socket + ".procs"; }

  const std::string& path() const { return path_; }
  // What an earlier wardend recorded: the live entries, when the file is from this boot.
  std::vector<RecordEntry> Read() const;
  // Starts the record afresh with `entries` (one rewrite).
  void Reset(const std::vector<RecordEntry>& entries);
  // Goes on with the file as it is (after a re-execution: same wardend, same processes).
  void Resume();
  void Add(int pid, uint64_t start_ticks, const std::string& name);
  void Remove(int pid, uint64_t start_ticks);
  bool Has(int pid, uint64_t start_ticks) const { return live_.count({pid, start_ticks}) != 0; }
  // The live entries, by pid.
  std::vector<RecordEntry> Entries() const;
  size_t size() const { return live_.size(); }
  // At exit: keeps the entries whose process still runs (left alone by on_leftovers: leave, or
  // not dead yet), and removes the file when there are none. Nothing when the record was never
  // started (Reset or Resume): the file may be another wardend's, which holds the socket.
  void Finish();

 private:
  void Append(const std::string& line);
  void Rewrite();
  std::string Boot() const;

  os::System& system_;
  std::string path_;
  std::string boot_;
  std::map<std::pair<int, uint64_t>, std::string> live_;  // (pid, start) -> name
  size_t lines_ = 0;                                      // lines in the file
  bool stale_ = false;    // a write failed: the next change rewrites the file whole
  UniqueFd append_fd_;    // the file as last opened for appending; invalid until needed
  bool started_ = false;  // Reset or Resume: the file is this wardend's
};

}  // namespace warden
