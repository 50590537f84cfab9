#include "ctl/render.h"

#include <time.h>

#include <cmath>
#include <cstdio>
#include <string_view>

#include "ctl/signals.h"

namespace warden::ctl {
namespace {

using proto::ExitKind;
using proto::ProcessInfo;
using proto::ProcessState;

constexpr size_t kMinNameWidth = 30;  // supervisorctl's minimum name column, before the +3
constexpr size_t kNameGap = 3;
constexpr size_t kStateWidth = 10;

std::string OneDecimal(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", value);
  return buf;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) {
    if (part.empty()) continue;
    if (!out.empty()) out += ", ";
    out += part;
  }
  return out;
}

std::string PadRight(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

bool HasLiveProcess(const ProcessInfo& info) {
  switch (info.state) {
    case ProcessState::kRunning:
    case ProcessState::kStarting:
    case ProcessState::kStopping:
      return info.pid != 0;
    default:
      return false;
  }
}

std::string LiveDescription(const ProcessInfo& info) {
  std::string out = "pid " + std::to_string(info.pid) + ", uptime " + FormatUptime(info.uptime_ms);
  // kernel_state 0 means wardend could not read /proc/PID: cpu and rss would be zeros, not
  // measurements, so they are left out with it.
  if (info.kernel_state != 0) {
    out += ", state ";
    out += static_cast<char>(info.kernel_state);
    out += ", cpu " + FormatCpuPercent(info.cpu_time_ms, info.uptime_ms);
    out += ", rss " + FormatBytes(info.rss_bytes);
  }
  if (!info.children.empty()) {
    out += ", children " + std::to_string(info.children.size());
    size_t zombies = 0;
    for (const proto::ChildProcess& child : info.children) {
      if (child.kernel_state == 'Z') ++zombies;
    }
    if (zombies > 0) out += " (Z: " + std::to_string(zombies) + ")";
  }
  if (!info.status_text.empty()) out += ", status: " + info.status_text;
  return out;
}

nlohmann::ordered_json SecondsOrNull(int64_t unix_ms) {
  if (unix_ms == 0) return nullptr;
  return static_cast<double>(unix_ms) / 1000.0;
}

nlohmann::ordered_json KernelStateOrNull(uint8_t letter) {
  if (letter == 0) return nullptr;
  return std::string(1, static_cast<char>(letter));
}

const char* DoneWord(CommandKind kind) {
  switch (kind) {
    case CommandKind::kStart:
      return "started";
    case CommandKind::kStop:
      return "stopped";
    case CommandKind::kRestart:
      return "restarted";
    case CommandKind::kSignal:
      return "signalled";
    case CommandKind::kLogRotate:
      return "reopened";
    case CommandKind::kClear:
      return "cleared";
    default:
      return "done";
  }
}

}  // namespace

std::string FormatUptime(uint64_t uptime_ms) {
  uint64_t total = uptime_ms / 1000;
  uint64_t days = total / 86400;
  uint64_t rest = total % 86400;
  char clock[32];
  std::snprintf(
      clock, sizeof clock, "%llu:%02llu:%02llu", static_cast<unsigned long long>(rest / 3600),
      static_cast<unsigned long long>(rest / 60 % 60), static_cast<unsigned long long>(rest % 60));
  if (days == 0) return clock;
  return std::to_string(days) + (days == 1 ? " day, " : " days, ") + clock;
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + "B";
  static constexpr char kUnits[] = {'K', 'M', 'G', 'T', 'P'};
  double value = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  // Move up a unit when the value would print as 1024.0 or more.
  while (std::round(value * 10.0) >= 1024.0 * 10.0 && unit + 1 < sizeof kUnits) {
    value /= 1024.0;
    ++unit;
  }
  return OneDecimal(value) + kUnits[unit];
}

std::string FormatCpuPercent(uint64_t cpu_time_ms, uint64_t uptime_ms) {
  if (uptime_ms == 0) return "0.0%";
  return OneDecimal(static_cast<double>(cpu_time_ms) * 100.0 / static_cast<double>(uptime_ms)) +
         "%";
}

std::string FormatStopTime(int64_t unix_ms) {
  time_t seconds = static_cast<time_t>(unix_ms / 1000);
  struct tm local {};
  if (localtime_r(&seconds, &local) == nullptr) return "";
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%b %d %I:%M %p", &local);
  return std::string(buf, n);
}

std::string ExitDescription(ExitKind kind, int32_t value) {
  switch (kind) {
    case ExitKind::kExited:
      return "exit status " + std::to_string(value);
    case ExitKind::kSignaled:
      return "terminated by " + SignalName(value);
    case ExitKind::kNone:
      break;
  }
  return "";
}

std::string Describe(const ProcessInfo& info) {
  if (HasLiveProcess(info)) return LiveDescription(info);
  switch (info.state) {
    case ProcessState::kStopped: {
      std::string when;
      if (info.stop_time_ms != 0) {
        when = FormatStopTime(info.stop_time_ms);
      } else if (info.start_time_ms == 0) {
        when = "Not started";
      }
      return Join({info.reason, when});
    }
    case ProcessState::kExited:
      return Join({info.reason, ExitDescription(info.exit_kind, info.exit_value),
                   info.stop_time_ms != 0 ? FormatStopTime(info.stop_time_ms) : ""});
    case ProcessState::kFatal:
    case ProcessState::kBackoff: {
      std::string why = !info.reason.empty()
                            ? info.reason
                            : "unknown error (try \"tail " + info.FullName() + "\")";
      // When the next attempt is (crash-loop and start-failure backoff).
      if (info.state == ProcessState::kBackoff && info.retry_in_ms > 0) {
        why += ", next try in " + OneDecimal(static_cast<double>(info.retry_in_ms) / 1000.0) + "s";
      }
      return why;
    }
    default:
      return info.reason;
  }
}

size_t NameColumnWidth(const std::vector<ProcessInfo>& processes) {
  size_t longest = kMinNameWidth;
  for (const ProcessInfo& info : processes) longest = std::max(longest, info.FullName().size());
  return longest + kNameGap;
}

std::string StatusLine(const ProcessInfo& info, size_t name_width, bool color) {
  std::string state = proto::ProcessStateName(info.state);
  std::string padding =
      state.size() < kStateWidth ? std::string(kStateWidth - state.size(), ' ') : std::string();
  const char* sgr = color ? StateColor(info.state) : "";
  if (*sgr != '\0') state = sgr + state + "\033[0m";
  std::string line = PadRight(info.FullName(), name_width) + state + padding + Describe(info);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

std::vector<std::string> StatusLines(const std::vector<ProcessInfo>& processes, bool color) {
  size_t width = NameColumnWidth(processes);
  std::vector<std::string> lines;
  lines.reserve(processes.size());
  for (const ProcessInfo& info : processes) lines.push_back(StatusLine(info, width, color));
  return lines;
}

const char* StateColor(ProcessState state) {
  switch (state) {
    case ProcessState::kRunning:
      return "\033[32m";  // green
    case ProcessState::kStarting:
    case ProcessState::kStopping:
      return "\033[36m";  // cyan: on its way
    case ProcessState::kExited:
    case ProcessState::kBackoff:
      return "\033[33m";  // yellow: not running, may come back
    case ProcessState::kFatal:
    case ProcessState::kUnknown:
      return "\033[1;31m";  // bold red: needs a person
    case ProcessState::kStopped:
      break;
  }
  return "";
}

bool ColorWanted(bool stdout_is_tty, bool no_color_option, const char* no_color_env,
                 const char* term_env) {
  if (!stdout_is_tty || no_color_option) return false;
  if (no_color_env != nullptr && *no_color_env != '\0') return false;
  return term_env == nullptr || std::string_view(term_env) != "dumb";
}

std::string NoSuchProcessLine(const std::string& name) {
  return name + ": " + ErrorText(ErrorCode::kNotFound, "");
}

nlohmann::ordered_json StatusJson(const std::vector<ProcessInfo>& processes) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const ProcessInfo& info : processes) {
    nlohmann::ordered_json children = nlohmann::ordered_json::array();
    for (const proto::ChildProcess& child : info.children) {
      children.push_back(
          {{"pid", child.pid}, {"kernel_state", KernelStateOrNull(child.kernel_state)}});
    }
    nlohmann::ordered_json obj = {
        {"name", info.FullName()},
        {"group", info.group},
        {"state", proto::ProcessStateName(info.state)},
        {"pid", info.pid != 0 ? nlohmann::ordered_json(info.pid) : nlohmann::ordered_json(nullptr)},
        {"kernel_state", KernelStateOrNull(info.kernel_state)},
        {"uptime_s", static_cast<double>(info.uptime_ms) / 1000.0},
        {"restarts", info.restarts},
        {"exit_status", info.exit_kind == ExitKind::kExited
                            ? nlohmann::ordered_json(info.exit_value)
                            : nlohmann::ordered_json(nullptr)},
        {"exit_signal", info.exit_kind == ExitKind::kSignaled
                            ? nlohmann::ordered_json(info.exit_value)
                            : nlohmann::ordered_json(nullptr)},
        {"description", Describe(info)},
        {"start_time", SecondsOrNull(info.start_time_ms)},
        {"stop_time", SecondsOrNull(info.stop_time_ms)},
        {"cpu_time_s", static_cast<double>(info.cpu_time_ms) / 1000.0},
        {"rss_bytes", info.rss_bytes},
        {"children", std::move(children)},
        {"reason", info.reason},
        {"status_text", info.status_text.empty() ? nlohmann::ordered_json(nullptr)
                                                 : nlohmann::ordered_json(info.status_text)},
        {"retry_in_s", info.state == ProcessState::kBackoff
                           ? nlohmann::ordered_json(static_cast<double>(info.retry_in_ms) / 1000.0)
                           : nlohmann::ordered_json(nullptr)},
    };
    array.push_back(std::move(obj));
  }
  return array;
}

int StatusExitCode(const proto::StatusReply& reply) {
  if (!reply.unknown_names.empty()) return kExitNoSuchProcess;
  for (const ProcessInfo& info : reply.processes) {
    if (info.state != ProcessState::kRunning) return kExitNotRunning;
  }
  return kExitOk;
}

std::string ErrorText(ErrorCode code, const std::string& message) {
  std::string word(ErrorCodeName(code));
  std::string_view detail = message;
  // The daemon may already have led with the same word ("spawn error: exec: ..."); say it once.
  if (detail.starts_with(word)) {
    std::string_view rest = detail.substr(word.size());
    if (rest.empty() || rest.starts_with(": ")) detail = rest.empty() ? rest : rest.substr(2);
  }
  if (detail.empty()) return "ERROR (" + word + ")";
  return "ERROR (" + word + ": " + std::string(detail) + ")";
}

std::vector<std::string> ActionLines(CommandKind kind, const proto::ActionReply& reply) {
  std::vector<std::string> lines;
  for (const proto::ActionResult& result : reply.results) {
    if (result.code != ErrorCode::kOk) {
      lines.push_back(result.name + ": " + ErrorText(result.code, result.message));
    } else if (kind == CommandKind::kRestart) {
      lines.push_back(result.name + ": stopped");
      lines.push_back(result.name + ": started");
    } else {
      lines.push_back(result.name + ": " + DoneWord(kind));
    }
  }
  return lines;
}

nlohmann::ordered_json ActionJson(CommandKind kind, const proto::ActionReply& reply) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const proto::ActionResult& result : reply.results) {
    bool ok = result.code == ErrorCode::kOk;
    array.push_back({
        {"name", result.name},
        {"ok", ok},
        {"result", ok ? nlohmann::ordered_json(DoneWord(kind)) : nlohmann::ordered_json(nullptr)},
        {"error", ok ? nlohmann::ordered_json(nullptr)
                     : nlohmann::ordered_json(std::string(ErrorCodeName(result.code)))},
        {"message", result.message},
    });
  }
  return array;
}

int ActionExitCode(const proto::ActionReply& reply) {
  int code = kExitOk;
  for (const proto::ActionResult& result : reply.results) {
    if (result.code == ErrorCode::kNotFound) return kExitNoSuchProcess;
    if (result.code != ErrorCode::kOk) code = kExitFailure;
  }
  return code;
}

}  // namespace warden::ctl
