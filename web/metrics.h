// GET /metrics: wardend's processes in the Prometheus text exposition format, from one STATUS
// reply (one scrape = one round trip). Pure: the reply in, the text out; prometheus-cpp's
// TextSerializer writes the format (escaping, number formats).
//
// Families (labels: name = the full process name, group):
//   warden_process_up                       1 when RUNNING, else 0
//   warden_process_state{state}             1 for the process's state, 0 for the others
//   warden_process_restarts_total           spawns after the first one (counter)
//   warden_process_cpu_seconds_total        user + system CPU of the main process (counter)
//   warden_process_resident_memory_bytes    RSS of the main process
//   warden_process_start_time_seconds       Unix time of the last spawn (0: never)
//   warden_process_uptime_seconds           time since the spawn while it lives, else 0
//   warden_process_last_exit_status         exit code of the last exit (absent: none, or a signal)
//   warden_process_last_exit_signal         signal that ended the last process (absent: none)
//   warden_process_children                 descendants of the main process
//   warden_daemon_up                        1 when wardend answered the scrape's STATUS
//   warden_daemon_info{version,server}      1 (wardend's version)
//   warden_daemon_pid                       wardend's pid
//   warden_daemon_processes                 processes wardend supervises
//   warden_daemon_scrape_duration_seconds   how long the STATUS round trip took
#pragma once

#include <optional>
#include <string>

#include "proto/messages.h"

namespace warden::web {

struct MetricsInput {
  bool daemon_up = false;   // false: only the warden_daemon_* families that say so
  proto::HelloReply hello;  // server, daemon_pid
  std::optional<proto::StatusReply> status;
  double scrape_seconds = 0;
};

std::string MetricsText(const MetricsInput& input);

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace warden::web
