// One process in detail, for `wardenctl show` (the SHOW message): its status, its definition as
// configured, its log files with their sizes and last lines. In the supervisor's own types;
// daemon/control/wire_types.cc turns it into proto::ShowReply.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "daemon/supervisor/reports.h"

namespace warden {

class Supervisor;

struct ShowReport {
  ProcessReport process;
  std::vector<std::string> command;
  std::string directory;
  std::string user;
  std::vector<std::string> environment;  // KEY=VALUE, in file order
  std::vector<std::string> env_files;    // "-PATH" when optional
  struct LogFile {
    std::string stream;  // stdout, stderr
    std::string path;    // the file; or "journal", "NONE", "stdout" (merged)
    int64_t size = -1;   // -1: no such file
  };
  std::vector<LogFile> logs;
  std::string readiness;
  std::string healthcheck;
  double watchdog_sec = 0;
  std::vector<std::string> stdout_tail;
  std::vector<std::string> stderr_tail;
};

// How many log lines of each stream a show carries.
inline constexpr int kShowTailLines = 10;

// The process `name` names (one only: NOT_FOUND for none, INVALID_ARGUMENT for several).
Result<ShowReport> ShowProcess(Supervisor& supervisor, const std::string& name);

class Process;
// The one process `name` names, or why not: NOT_FOUND ("NAME: no such process"), or
// INVALID_ARGUMENT for a name of several ("'web' names 3 processes (...); `verb` one of them").
Result<Process*> OneProcess(Supervisor& supervisor, const std::string& name,
                            const std::string& verb);

}  // namespace warden
