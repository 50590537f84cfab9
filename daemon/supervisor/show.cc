// ShowProcess: one process in detail. See show.h.
#include "daemon/supervisor/show.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <string_view>

#include "daemon/supervisor/supervisor.h"

namespace warden {
namespace {

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gs", s);
  return buf;
}

std::string DescribeReadiness(const config::Program& p) {
  switch (p.ready) {
    case config::ReadyMode::kStartsecs:
      return "startsecs " + Seconds(p.startsecs);
    case config::ReadyMode::kNotify:
      return "notify";
    case config::ReadyMode::kFd:
      return "fd:" + std::to_string(p.ready_fd);
    case config::ReadyMode::kTcp:
      return "tcp port " + std::to_string(p.ready_port);
  }
  return "";
}

std::string DescribeHealthCheck(const config::HealthCheck& h) {
  if (h.kind == config::HealthKind::kNone) return "";
  std::string text = h.Target();
  if (h.kind == config::HealthKind::kExec) {
    text = "exec";
    for (const std::string& word : h.command) text += " " + word;
  }
  text += " every " + Seconds(h.interval) + ", timeout " + Seconds(h.timeout) + ", " +
          std::to_string(h.retries) + (h.retries == 1 ? " retry" : " retries");
  if (h.start_period > 0) text += ", start period " + Seconds(h.start_period);
  return text;
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    lines.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

}  // namespace

Result<Process*> OneProcess(Supervisor& supervisor, const std::string& name,
                            const std::string& verb) {
  Supervisor::Resolved resolved = supervisor.Resolve({name});
  if (name.empty() || !resolved.unknown.empty() || resolved.processes.empty()) {
    return Status(ErrorCode::kNotFound, name + ": no such process");
  }
  if (resolved.processes.size() > 1) {
    std::string names;
    for (Process* p : resolved.processes) names += (names.empty() ? "" : ", ") + p->full_name();
    return Status(ErrorCode::kInvalidArgument,
                  "'" + name + "' names " + std::to_string(resolved.processes.size()) +
                      " processes (" + names + "); " + verb + " one of them");
  }
  return resolved.processes.front();
}

Result<ShowReport> ShowProcess(Supervisor& supervisor, const std::string& name) {
  Result<Process*> one = OneProcess(supervisor, name, "show");
  if (!one.ok()) return one.status();
  Process* process = *one;
  const config::Program& p = process->program();
  ShowReport show;
  StatusReport status = supervisor.Status({process->full_name()});
  if (!status.processes.empty()) show.process = std::move(status.processes.front());
  show.command = p.command;
  show.directory = p.directory;
  show.user = p.user;
  for (const auto& [key, value] : p.environment) show.environment.push_back(key + "=" + value);
  for (const config::EnvFile& f : p.env_files) {
    show.env_files.push_back((f.optional ? "-" : "") + f.path);
  }
  show.readiness = DescribeReadiness(p);
  show.healthcheck = DescribeHealthCheck(p.healthcheck);
  show.watchdog_sec = p.watchdog_sec;

  const std::string& log_dir = supervisor.config().warden.log_dir;
  const std::pair<LogStream, const config::LogSpec*> streams[] = {
      {LogStream::kStdout, &p.stdout_log}, {LogStream::kStderr, &p.stderr_log}};
  for (const auto& [stream, spec] : streams) {
    ShowReport::LogFile file;
    file.stream = stream == LogStream::kStdout ? "stdout" : "stderr";
    if (spec->merge_into_stdout) {
      file.path = "stdout";
    } else if (spec->journal) {
      file.path = "journal";
    } else if (spec->file == "NONE") {
      file.path = "NONE";
    } else {
      file.path = ProcessLogs::PathFor(*spec, log_dir, process->full_name(), stream);
      struct stat st {};
      if (stat(file.path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) file.size = st.st_size;
    }
    show.logs.push_back(std::move(file));
    if (spec->merge_into_stdout) continue;
    // The last lines, as `tail` reads them (bounded: a few KiB from each file's end).
    auto sink = process->logs().Sink(p, log_dir, stream);
    if (!sink.ok()) continue;
    auto tail = (*sink)->Tail(TailUnit::kLines, kShowTailLines, 64 * 1024);
    if (!tail.ok()) continue;
    (stream == LogStream::kStdout ? show.stdout_tail : show.stderr_tail) = SplitLines(*tail);
  }
  return show;
}

}  // namespace warden
