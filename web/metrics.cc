#include "web/metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <sstream>
#include <vector>

#include "proto/event_messages.h"

namespace warden::web {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using proto::ProcessInfo;
using proto::ProcessState;

constexpr std::array kStates = {ProcessState::kStopped,  ProcessState::kStarting,
                                ProcessState::kRunning,  ProcessState::kBackoff,
                                ProcessState::kStopping, ProcessState::kExited,
                                ProcessState::kFatal,    ProcessState::kUnknown};

MetricFamily Family(const char* name, const char* help, MetricType type) {
  MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  return family;
}

ClientMetric Sample(std::vector<ClientMetric::Label> labels, MetricType type, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return metric;
}

// A family of one value per process.
class PerProcess {
 public:
  PerProcess(const char* name, const char* help, MetricType type)
      : family_(Family(name, help, type)) {}
  void Add(const ProcessInfo& info, double value) {
    family_.metric.push_back(
        Sample({{"name", info.FullName()}, {"group", info.group}}, family_.type, value));
  }
  MetricFamily Take() { return std::move(family_); }

 private:
  MetricFamily family_;
};

// Milliseconds as seconds.
double Seconds(uint64_t ms) { return static_cast<double>(ms) / 1000.0; }

}  // namespace

std::string MetricsText(const MetricsInput& input) {
  std::vector<MetricFamily> families;
  if (input.status) {
    PerProcess up("warden_process_up", "Whether the process is RUNNING (1) or not (0).",
                  MetricType::Gauge);
    MetricFamily state = Family("warden_process_state",
                                "The process's supervisor state: 1 for the state it is in, 0 for "
                                "the others.",
                                MetricType::Gauge);
    PerProcess restarts("warden_process_restarts_total",
                        "Spawns of the process after the first one.", MetricType::Counter);
    PerProcess cpu("warden_process_cpu_seconds_total",
                   "User and system CPU time of the main process, in seconds.",
                   MetricType::Counter);
    PerProcess rss("warden_process_resident_memory_bytes",
                   "Resident set size of the main process, in bytes.", MetricType::Gauge);
    PerProcess start("warden_process_start_time_seconds",
                     "Unix time of the process's last spawn (0: never started).",
                     MetricType::Gauge);
    PerProcess uptime("warden_process_uptime_seconds",
                      "Seconds since the spawn while the process lives, else 0.",
                      MetricType::Gauge);
    PerProcess exit_status("warden_process_last_exit_status",
                           "Exit code of the process's last exit (absent when it has not exited "
                           "or was killed by a signal).",
                           MetricType::Gauge);
    PerProcess exit_signal("warden_process_last_exit_signal",
                           "Signal number that ended the process's last run (absent when none "
                           "did).",
                           MetricType::Gauge);
    PerProcess children("warden_process_children",
                        "Descendant processes of the main process, zombies included.",
                        MetricType::Gauge);
    for (const ProcessInfo& info : input.status->processes) {
      up.Add(info, info.state == ProcessState::kRunning ? 1 : 0);
      for (ProcessState s : kStates) {
        const bool in =
            info.state == s || (s == ProcessState::kUnknown && !proto::IsKnownState(info.state));
        state.metric.push_back(Sample({{"name", info.FullName()},
                                       {"group", info.group},
                                       {"state", proto::ProcessStateName(s)}},
                                      MetricType::Gauge, in ? 1 : 0));
      }
      restarts.Add(info, info.restarts);
      cpu.Add(info, Seconds(info.cpu_time_ms));
      rss.Add(info, static_cast<double>(info.rss_bytes));
      start.Add(info, static_cast<double>(info.start_time_ms) / 1000.0);
      uptime.Add(info, Seconds(info.uptime_ms));
      if (info.exit_kind == proto::ExitKind::kExited) exit_status.Add(info, info.exit_value);
      if (info.exit_kind == proto::ExitKind::kSignaled) exit_signal.Add(info, info.exit_value);
      children.Add(info, static_cast<double>(info.children.size()));
    }
    families.push_back(up.Take());
    families.push_back(std::move(state));
    families.push_back(restarts.Take());
    families.push_back(cpu.Take());
    families.push_back(rss.Take());
    families.push_back(start.Take());
    families.push_back(uptime.Take());
    families.push_back(exit_status.Take());
    families.push_back(exit_signal.Take());
    families.push_back(children.Take());
  }

  MetricFamily daemon_up =
      Family("warden_daemon_up", "Whether wardend answered this scrape's STATUS request.",
             MetricType::Gauge);
  daemon_up.metric.push_back(Sample({}, MetricType::Gauge, input.daemon_up ? 1 : 0));
  families.push_back(std::move(daemon_up));
  if (input.daemon_up) {
    MetricFamily info =
        Family("warden_daemon_info", "wardend's version (the value is 1).", MetricType::Gauge);
    std::string version = input.hello.server;
    if (const size_t space = version.rfind(' '); space != std::string::npos) {
      version = version.substr(space + 1);
    }
    info.metric.push_back(
        Sample({{"server", input.hello.server}, {"version", version}}, MetricType::Gauge, 1));
    families.push_back(std::move(info));
    MetricFamily pid = Family("warden_daemon_pid", "wardend's process id.", MetricType::Gauge);
    pid.metric.push_back(Sample({}, MetricType::Gauge, input.hello.daemon_pid));
    families.push_back(std::move(pid));
    if (input.status) {
      MetricFamily count =
          Family("warden_daemon_processes",
                 "Processes wardend supervises (that warden-web may read).", MetricType::Gauge);
      count.metric.push_back(
          Sample({}, MetricType::Gauge, static_cast<double>(input.status->processes.size())));
      families.push_back(std::move(count));
    }
  }
  MetricFamily duration =
      Family("warden_daemon_scrape_duration_seconds",
             "How long the STATUS round trip to wardend took.", MetricType::Gauge);
  duration.metric.push_back(Sample({}, MetricType::Gauge, input.scrape_seconds));
  families.push_back(std::move(duration));

  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace warden::web
