#include "web/metrics.h"

#include <gtest/gtest.h>

namespace warden::web {
namespace {

proto::ProcessInfo Process(std::string name, std::string group, proto::ProcessState state) {
  proto::ProcessInfo info;
  info.name = std::move(name);
  info.group = std::move(group);
  info.state = state;
  return info;
}

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(MetricsTest, EveryFamilyForEachProcess) {
  MetricsInput input;
  input.daemon_up = true;
  input.hello.server = "wardend 0.1.0";
  input.hello.daemon_pid = 42;
  proto::StatusReply status;
  proto::ProcessInfo web = Process("web", "web", proto::ProcessState::kRunning);
  web.pid = 4242;
  web.restarts = 3;
  web.cpu_time_ms = 1500;
  web.rss_bytes = 1 << 20;
  web.start_time_ms = 1764265625123;
  web.uptime_ms = 62000;
  web.children = {{4300, 'S'}, {4301, 'Z'}};
  status.processes.push_back(web);
  proto::ProcessInfo worker = Process("w_00", "w", proto::ProcessState::kExited);
  worker.exit_kind = proto::ExitKind::kExited;
  worker.exit_value = 3;
  status.processes.push_back(worker);
  proto::ProcessInfo killed = Process("k", "k", proto::ProcessState::kFatal);
  killed.exit_kind = proto::ExitKind::kSignaled;
  killed.exit_value = 9;
  status.processes.push_back(killed);
  input.status = status;
  input.scrape_seconds = 0.25;
  const std::string text = MetricsText(input);

  EXPECT_TRUE(Has(text, "# TYPE warden_process_up gauge")) << text;
  EXPECT_TRUE(Has(text, "warden_process_up{name=\"web\",group=\"web\"} 1"));
  EXPECT_TRUE(Has(text, "warden_process_up{name=\"w:w_00\",group=\"w\"} 0"));
  EXPECT_TRUE(Has(text, "warden_process_state{name=\"web\",group=\"web\",state=\"RUNNING\"} 1"));
  EXPECT_TRUE(Has(text, "warden_process_state{name=\"web\",group=\"web\",state=\"FATAL\"} 0"));
  EXPECT_TRUE(Has(text, "warden_process_state{name=\"k\",group=\"k\",state=\"FATAL\"} 1"));
  EXPECT_TRUE(Has(text, "# TYPE warden_process_restarts_total counter"));
  EXPECT_TRUE(Has(text, "warden_process_restarts_total{name=\"web\",group=\"web\"} 3"));
  EXPECT_TRUE(Has(text, "warden_process_cpu_seconds_total{name=\"web\",group=\"web\"} 1.5"));
  EXPECT_TRUE(
      Has(text, "warden_process_resident_memory_bytes{name=\"web\",group=\"web\"} 1048576"));
  EXPECT_TRUE(
      Has(text, "warden_process_start_time_seconds{name=\"web\",group=\"web\"} 1764265625.123"));
  EXPECT_TRUE(Has(text, "warden_process_uptime_seconds{name=\"web\",group=\"web\"} 62"));
  EXPECT_TRUE(Has(text, "warden_process_last_exit_status{name=\"w:w_00\",group=\"w\"} 3"));
  EXPECT_TRUE(Has(text, "warden_process_last_exit_signal{name=\"k\",group=\"k\"} 9"));
  EXPECT_EQ(text.find("warden_process_last_exit_status{name=\"web\""), std::string::npos);
  EXPECT_TRUE(Has(text, "warden_process_children{name=\"web\",group=\"web\"} 2"));
  EXPECT_TRUE(Has(text, "warden_daemon_up 1"));
  EXPECT_TRUE(Has(text, "warden_daemon_info{server=\"wardend 0.1.0\",version=\"0.1.0\"} 1"));
  EXPECT_TRUE(Has(text, "warden_daemon_pid 42"));
  EXPECT_TRUE(Has(text, "warden_daemon_processes 3"));
  EXPECT_TRUE(Has(text, "warden_daemon_scrape_duration_seconds 0.25"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MetricsInput input;
  input.daemon_up = true;
  proto::StatusReply status;
  status.processes.push_back(Process("a\"b\\c", "a\"b\\c", proto::ProcessState::kStopped));
  input.status = status;
  EXPECT_TRUE(
      Has(MetricsText(input), "warden_process_up{name=\"a\\\"b\\\\c\",group=\"a\\\"b\\\\c\"} 0"));
}

TEST(MetricsTest, DaemonDownSaysSo) {
  const std::string text = MetricsText(MetricsInput{});
  EXPECT_TRUE(Has(text, "warden_daemon_up 0")) << text;
  EXPECT_EQ(text.find("warden_process_up"), std::string::npos);
}

}  // namespace
}  // namespace warden::web
