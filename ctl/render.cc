#include "ctl/render.h"

#include <time.h>

#include <charconv>
#include <cmath>
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

// The append helpers below build a status line in place: `wardenctl status` of a thousand
// processes then formats into one buffer, with no string per field or per line.

template <typename Integer>
void AppendInteger(std::string* out, Integer value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out->append(buf, end);
}

// As printf's "%.1f" (std::to_chars with a precision is specified to round the same way).
void AppendOneDecimal(std::string* out, double value) {
  char buf[352];  // the longest "%.1f" of a double: 309 integer digits, a sign, ".d"
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, 1);
  out->append(buf, end);
}

void AppendTwoDigits(std::string* out, uint64_t value) {  // "%02llu" of a value below 100
  out->push_back(static_cast<char>('0' + value / 10));
  out->push_back(static_cast<char>('0' + value % 10));
}

void AppendUptime(std::string* out, uint64_t uptime_ms) {
  uint64_t total = uptime_ms / 1000;
  uint64_t days = total / 86400;
  uint64_t rest = total % 86400;
  if (days != 0) {
    AppendInteger(out, days);
    out->append(days == 1 ? " day, " : " days, ");
  }
  AppendInteger(out, rest / 3600);
  out->push_back(':');
  AppendTwoDigits(out, rest / 60 % 60);
  out->push_back(':');
  AppendTwoDigits(out, rest % 60);
}

void AppendBytes(std::string* out, uint64_t bytes) {
  if (bytes < 1024) {
    AppendInteger(out, bytes);
    out->push_back('B');
    return;
  }
  static constexpr char kUnits[] = {'K', 'M', 'G', 'T', 'P'};
  double value = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  // Move up a unit when the value would print as 1024.0 or more.
  while (std::round(value * 10.0) >= 1024.0 * 10.0 && unit + 1 < sizeof kUnits) {
    value /= 1024.0;
    ++unit;
  }
  AppendOneDecimal(out, value);
  out->push_back(kUnits[unit]);
}

void AppendCpuPercent(std::string* out, uint64_t cpu_time_ms, uint64_t uptime_ms) {
  if (uptime_ms == 0) {
    out->append("0.0%");
    return;
  }
  AppendOneDecimal(out, static_cast<double>(cpu_time_ms) * 100.0 / static_cast<double>(uptime_ms));
  out->push_back('%');
}

void AppendStopTime(std::string* out, int64_t unix_ms) {
  time_t seconds = static_cast<time_t>(unix_ms / 1000);
  struct tm local {};
  if (localtime_r(&seconds, &local) == nullptr) return;
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local);
  out->append(buf, n);
}

void AppendFullName(std::string* out, const ProcessInfo& info) {
  if (info.group != info.name) {
    out->append(info.group);
    out->push_back(':');
  }
  out->append(info.name);
}

// Appends parts separated by ", ", skipping empty ones.
class JoinedParts {
 public:
  explicit JoinedParts(std::string* out) : out_(out), start_(out->size()) {}
  void Add(std::string_view part) {
    if (part.empty()) return;
    if (out_->size() != start_) out_->append(", ");
    out_->append(part);
  }

 private:
  std::string* out_;
  size_t start_;
};

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

void AppendLiveDescription(std::string* out, const ProcessInfo& info) {
  out->append("pid ");
  AppendInteger(out, info.pid);
  out->append(", uptime ");
  AppendUptime(out, info.uptime_ms);
  // kernel_state 0 means wardend could not read /proc/PID: cpu and rss would be zeros, not
  // measurements, so they are left out with it.
  if (info.kernel_state != 0) {
    out->append(", state ");
    out->push_back(static_cast<char>(info.kernel_state));
    out->append(", cpu ");
    AppendCpuPercent(out, info.cpu_time_ms, info.uptime_ms);
    out->append(", rss ");
    AppendBytes(out, info.rss_bytes);
  }
  if (info.restarts > 0) {
    out->append(", restarts ");
    AppendInteger(out, info.restarts);
  }
  if (!info.children.empty()) {
    out->append(", children ");
    AppendInteger(out, info.children.size());
    size_t zombies = 0;
    for (const proto::ChildProcess& child : info.children) {
      if (child.kernel_state == 'Z') ++zombies;
    }
    if (zombies > 0) {
      out->append(" (Z: ");
      AppendInteger(out, zombies);
      out->push_back(')');
    }
  }
  if (!info.health.empty()) {
    // The state only ("unhealthy 1/3"); `show` has the failure's detail.
    out->append(", ");
    out->append(std::string_view(info.health).substr(0, info.health.find(':')));
  }
  if (!info.status_text.empty()) {
    out->append(", status: ");
    out->append(info.status_text);
  }
  // What wardend says of a live process: why it was restarted ("restarted: memory 212M over
  // memory_limit 200M"), or why a start is being abandoned ("not ready within 60s").
  if (!info.reason.empty()) {
    out->append(", ");
    out->append(info.reason);
  }
}

// The description column (Describe), appended to *out.
void AppendDescription(std::string* out, const ProcessInfo& info) {
  if (HasLiveProcess(info)) {
    AppendLiveDescription(out, info);
    return;
  }
  switch (info.state) {
    case ProcessState::kStopped: {
      JoinedParts parts(out);
      parts.Add(info.reason);
      if (info.stop_time_ms != 0) {
        std::string when;  // "Nov 27 05:47 PM" fits std::string's inline buffer
        AppendStopTime(&when, info.stop_time_ms);
        parts.Add(when);
      } else if (info.start_time_ms == 0) {
        parts.Add("Not started");
      }
      return;
    }
    case ProcessState::kExited: {
      JoinedParts parts(out);
      // wardend's reason for an exit is often the exit itself ("exit status 3"): once.
      const std::string exit = ExitDescription(info.exit_kind, info.exit_value);
      if (info.reason != exit) parts.Add(info.reason);
      parts.Add(exit);
      if (info.stop_time_ms != 0) {
        std::string when;
        AppendStopTime(&when, info.stop_time_ms);
        parts.Add(when);
      }
      return;
    }
    case ProcessState::kFatal:
    case ProcessState::kBackoff:
      if (!info.reason.empty()) {
        out->append(info.reason);
      } else {
        out->append("unknown error (try \"tail ");
        AppendFullName(out, info);
        out->append("\")");
      }
      // When the next attempt is (crash-loop and start-failure backoff, FATAL with
      // fatal_retry).
      if (info.retry_in_ms > 0) {
        out->append(", next try in ");
        AppendOneDecimal(out, static_cast<double>(info.retry_in_ms) / 1000.0);
        out->push_back('s');
      }
      return;
    default:
      out->append(info.reason);
      return;
  }
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
  std::string out;
  AppendUptime(&out, uptime_ms);
  return out;
}

std::string FormatBytes(uint64_t bytes) {
  std::string out;
  AppendBytes(&out, bytes);
  return out;
}

std::string FormatCpuPercent(uint64_t cpu_time_ms, uint64_t uptime_ms) {
  std::string out;
  AppendCpuPercent(&out, cpu_time_ms, uptime_ms);
  return out;
}

std::string FormatStopTime(int64_t unix_ms) {
  std::string out;
  AppendStopTime(&out, unix_ms);
  return out;
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
  std::string out;
  AppendDescription(&out, info);
  return out;
}

size_t FullNameSize(const ProcessInfo& info) {
  return info.group == info.name ? info.name.size() : info.group.size() + 1 + info.name.size();
}

size_t NameColumnWidthFor(size_t longest_full_name) {
  return std::max(longest_full_name, kMinNameWidth) + kNameGap;
}

size_t NameColumnWidth(const std::vector<ProcessInfo>& processes) {
  size_t longest = 0;
  for (const ProcessInfo& info : processes) longest = std::max(longest, FullNameSize(info));
  return NameColumnWidthFor(longest);
}

void AppendStatusLine(std::string* out, const ProcessInfo& info, size_t name_width, bool color) {
  const size_t start = out->size();
  AppendFullName(out, info);
  if (out->size() - start < name_width) out->append(start + name_width - out->size(), ' ');
  const std::string_view state = proto::ProcessStateName(info.state);
  const char* sgr = color ? StateColor(info.state) : "";
  out->append(sgr);
  out->append(state);
  if (*sgr != '\0') out->append("\033[0m");
  if (state.size() < kStateWidth) out->append(kStateWidth - state.size(), ' ');
  AppendDescription(out, info);
  while (out->size() > start && out->back() == ' ') out->pop_back();
}

size_t TightNameColumnWidth(size_t longest_full_name) { return longest_full_name + 2; }

size_t VisibleWidth(std::string_view line) {
  size_t width = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(line[i]);
    if (c == 0x1b) {  // an SGR sequence: ESC [ ... m
      while (i < line.size() && line[i] != 'm') ++i;
      continue;
    }
    if ((c & 0xC0) != 0x80) ++width;  // UTF-8: count lead bytes only
  }
  return width;
}

void FitLine(std::string* line, size_t columns) {
  if (columns == 0 || VisibleWidth(*line) <= columns) return;
  size_t width = 0;
  bool colored = false;
  size_t i = 0;
  for (; i < line->size(); ++i) {
    const unsigned char c = static_cast<unsigned char>((*line)[i]);
    if (c == 0x1b) {
      const size_t end = line->find('m', i);
      colored = line->compare(i, 4, "\033[0m") != 0;
      i = end == std::string::npos ? line->size() : end;
      continue;
    }
    if ((c & 0xC0) == 0x80) continue;
    if (width + 1 == columns) break;  // room left for the ellipsis only
    ++width;
  }
  line->resize(i);
  while (!line->empty() && line->back() == ' ') line->pop_back();
  if (colored) line->append("\033[0m");
  line->append("\u2026");
}

std::string StatusLine(const ProcessInfo& info, size_t name_width, bool color) {
  std::string line;
  AppendStatusLine(&line, info, name_width, color);
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
        {"retry_in_s", info.state == ProcessState::kBackoff ||
                               (info.state == ProcessState::kFatal && info.retry_in_ms > 0)
                           ? nlohmann::ordered_json(static_cast<double>(info.retry_in_ms) / 1000.0)
                           : nlohmann::ordered_json(nullptr)},
        {"health", info.health.empty() ? nlohmann::ordered_json(nullptr)
                                       : nlohmann::ordered_json(info.health)},
    };
    array.push_back(std::move(obj));
  }
  return array;
}

int StatusExitCode(const proto::StatusReply& reply) {
  bool all_running = true;
  for (const ProcessInfo& info : reply.processes) {
    all_running = all_running && info.state == ProcessState::kRunning;
  }
  return StatusExitCode(!reply.unknown_names.empty(), all_running);
}

int StatusExitCode(bool any_unknown_name, bool all_running) {
  if (any_unknown_name) return kExitNoSuchProcess;
  return all_running ? kExitOk : kExitNotRunning;
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
    } else if (!result.message.empty() &&
               (kind == CommandKind::kStart || kind == CommandKind::kStop)) {
      // "app: stopped (depends on web)", "web: started (dependents still stopped: app)"
      lines.push_back(result.name + ": " + DoneWord(kind) + " (" + result.message + ")");
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
