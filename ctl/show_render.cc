#include "ctl/show_render.h"

#include <cstdio>
#include <vector>

#include "ctl/render.h"

namespace warden::ctl {
namespace {

constexpr size_t kLabelWidth = 12;

// "   Command: value", continuation lines aligned under the value.
void Field(std::string* out, const std::string& label, const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string head = i == 0 ? label + ":" : "";
    out->append(kLabelWidth > head.size() ? kLabelWidth - head.size() : 0, ' ');
    out->append(head);
    out->push_back(' ');
    out->append(values[i]);
    out->push_back('\n');
  }
}
void Field(std::string* out, const std::string& label, const std::string& value) {
  Field(out, label, std::vector<std::string>{value});
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gs", s);
  return buf;
}

std::string JoinCommand(const std::vector<std::string>& words) {
  std::string text;
  for (const std::string& w : words) {
    if (!text.empty()) text.push_back(' ');
    const bool plain = !w.empty() && w.find_first_of(" \t\"'\\$`") == std::string::npos;
    text += plain ? w : "'" + w + "'";
  }
  return text;
}

std::string LogLine(const proto::LogFileInfo& log) {
  std::string text = log.stream + " " + log.path;
  if (log.path == "stdout") text = log.stream + " merged into stdout";
  if (log.size >= 0) text += " (" + FormatBytes(static_cast<uint64_t>(log.size)) + ")";
  return text;
}

}  // namespace

std::string ShowText(const proto::ShowReply& show) {
  const proto::ProcessInfo& p = show.process;
  std::string out;
  out += p.FullName() + " - " + proto::ProcessStateName(p.state);
  const std::string description = Describe(p);
  if (!description.empty()) out += ": " + description;
  out += "\n";
  if (p.pid != 0) {
    std::string main = std::to_string(p.pid);
    if (p.kernel_state != 0) main += std::string(" (") + static_cast<char>(p.kernel_state) + ")";
    Field(&out, "Main PID", main);
    Field(&out, "Uptime",
          FormatUptime(p.uptime_ms) +
              (p.start_time_ms != 0 ? ", since " + FormatStopTime(p.start_time_ms) : ""));
  }
  if (!p.children.empty()) {
    std::vector<std::string> children;
    for (const proto::ChildProcess& c : p.children) {
      std::string line = std::to_string(c.pid);
      if (c.kernel_state != 0) line += std::string(" (") + static_cast<char>(c.kernel_state) + ")";
      children.push_back(line);
    }
    Field(&out, "Children", children);
  }
  Field(&out, "Restarts", std::to_string(p.restarts));
  if (p.exit_kind != proto::ExitKind::kNone) {
    std::string last = ExitDescription(p.exit_kind, p.exit_value);
    if (p.stop_time_ms != 0) last += ", " + FormatStopTime(p.stop_time_ms);
    Field(&out, "Last exit", last);
  }
  if (!p.reason.empty() && p.state != proto::ProcessState::kRunning)
    Field(&out, "Reason", p.reason);
  if (p.pid != 0) {
    Field(&out, "Memory", FormatBytes(p.rss_bytes));
    Field(&out, "CPU",
          FormatCpuPercent(p.cpu_time_ms, p.uptime_ms) + " (" +
              Seconds(static_cast<double>(p.cpu_time_ms) / 1000.0) + ")");
  }
  Field(&out, "Command", JoinCommand(show.command));
  Field(&out, "Directory", show.directory.empty() ? "(wardend's)" : show.directory);
  Field(&out, "User", show.user.empty() ? "(wardend's)" : show.user);
  if (!show.environment.empty()) Field(&out, "Environment", show.environment);
  if (!show.env_files.empty()) Field(&out, "Env files", show.env_files);
  Field(&out, "Readiness", show.readiness);
  if (!p.status_text.empty()) Field(&out, "Status", p.status_text);
  if (!show.healthcheck.empty()) {
    Field(
        &out, "Health",
        std::vector<std::string>{p.health.empty() ? "(not running)" : p.health, show.healthcheck});
  }
  if (show.watchdog_sec > 0) Field(&out, "Watchdog", Seconds(show.watchdog_sec));
  std::vector<std::string> logs;
  for (const proto::LogFileInfo& log : show.logs) logs.push_back(LogLine(log));
  if (!logs.empty()) Field(&out, "Logs", logs);
  const std::pair<const char*, const std::vector<std::string>*> tails[] = {
      {"stdout", &show.stdout_tail}, {"stderr", &show.stderr_tail}};
  for (const auto& [stream, lines] : tails) {
    if (lines->empty()) continue;
    out += "\nLast lines of ";
    out += stream;
    out += ":\n";
    for (const std::string& line : *lines) out += "  " + line + "\n";
  }
  return out;
}

nlohmann::ordered_json ShowJson(const proto::ShowReply& show) {
  using Json = nlohmann::ordered_json;
  Json json = StatusJson({show.process}).at(0);
  json["command"] = show.command;
  json["directory"] = show.directory.empty() ? Json(nullptr) : Json(show.directory);
  json["user"] = show.user.empty() ? Json(nullptr) : Json(show.user);
  Json env = Json::object();
  for (const std::string& entry : show.environment) {
    const size_t eq = entry.find('=');
    env[entry.substr(0, eq)] = eq == std::string::npos ? "" : entry.substr(eq + 1);
  }
  json["environment"] = std::move(env);
  json["env_files"] = show.env_files;
  Json logs = Json::array();
  for (const proto::LogFileInfo& log : show.logs) {
    logs.push_back({{"stream", log.stream},
                    {"path", log.path},
                    {"size", log.size >= 0 ? Json(log.size) : Json(nullptr)}});
  }
  json["logs"] = std::move(logs);
  json["readiness"] = show.readiness;
  json["healthcheck"] = show.healthcheck.empty() ? Json(nullptr) : Json(show.healthcheck);
  json["watchdog_sec"] = show.watchdog_sec > 0 ? Json(show.watchdog_sec) : Json(nullptr);
  json["stdout_tail"] = show.stdout_tail;
  json["stderr_tail"] = show.stderr_tail;
  return json;
}

}  // namespace warden::ctl
