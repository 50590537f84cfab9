// `healthcheck:` and `watchdog_sec`: the forms, the defaults, the URL grammar and the messages.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace warden::config {
namespace {

std::vector<std::string> ErrorsOf(const std::string& yaml) {
  const LoadResult result = LoadConfigString(yaml, "w.yaml");
  EXPECT_FALSE(result.config.has_value());
  std::vector<std::string> out;
  for (const Diagnostic& d : result.errors) out.push_back(d.ToString());
  return out;
}

Program MustLoad(const std::string& yaml) {
  LoadResult result = LoadConfigString(yaml, "w.yaml");
  for (const Diagnostic& d : result.errors) ADD_FAILURE() << d.ToString();
  if (!result.config || result.config->programs.empty()) return Program{};
  return result.config->programs.front();
}

const std::string kHead = "programs:\n  w:\n    command: x\n";

TEST(HealthCheckConfigTest, NoneByDefault) {
  const Program p = MustLoad(kHead);
  EXPECT_EQ(p.healthcheck.kind, HealthKind::kNone);
  EXPECT_EQ(p.watchdog_sec, 0);
}

TEST(HealthCheckConfigTest, HttpWithDockersDefaults) {
  const Program p = MustLoad(kHead + "    healthcheck: {http: 'http://127.0.0.1:8080/health'}\n");
  EXPECT_EQ(p.healthcheck.kind, HealthKind::kHttp);
  EXPECT_EQ(p.healthcheck.http, (HttpUrl{"127.0.0.1", 8080, "/health"}));
  EXPECT_EQ(p.healthcheck.interval, 30);
  EXPECT_EQ(p.healthcheck.timeout, 30);
  EXPECT_EQ(p.healthcheck.retries, 3);
  EXPECT_EQ(p.healthcheck.start_period, 0);
  EXPECT_EQ(p.healthcheck.Target(), "http://127.0.0.1:8080/health");
}

TEST(HealthCheckConfigTest, ExecAndTcpWithSettings) {
  const Program e = MustLoad(kHead +
                             "    healthcheck:\n      exec: [pg_isready, -q]\n      interval: 0.5\n"
                             "      timeout: 2\n      retries: 5\n      start_period: 10\n");
  EXPECT_EQ(e.healthcheck.kind, HealthKind::kExec);
  EXPECT_EQ(e.healthcheck.command, (std::vector<std::string>{"pg_isready", "-q"}));
  EXPECT_EQ(e.healthcheck.interval, 0.5);
  EXPECT_EQ(e.healthcheck.timeout, 2);
  EXPECT_EQ(e.healthcheck.retries, 5);
  EXPECT_EQ(e.healthcheck.start_period, 10);
  const Program t = MustLoad(kHead + "    healthcheck: {tcp: 5432}\n");
  EXPECT_EQ(t.healthcheck.kind, HealthKind::kTcp);
  EXPECT_EQ(t.healthcheck.port, 5432);
  EXPECT_EQ(t.healthcheck.Target(), "tcp port 5432");
}

TEST(HealthCheckConfigTest, Mistakes) {
  EXPECT_EQ(ErrorsOf(kHead + "    healthcheck: {tcp: 1, http: 'http://127.0.0.1/'}\n"),
            (std::vector<std::string>{
                "w.yaml:4:18: 'healthcheck' takes one of exec, http and tcp, not several"}));
  EXPECT_EQ(ErrorsOf(kHead + "    healthcheck: {interval: 3}\n").size(), 1u);
  const auto name = ErrorsOf(kHead + "    healthcheck: {http: 'http://example.com/'}\n");
  ASSERT_EQ(name.size(), 1u);
  EXPECT_NE(name[0].find("w.yaml:4:25: 'http': the host must be an IP address or localhost"),
            std::string::npos)
      << name[0];
  const auto typo = ErrorsOf(kHead + "    healthcheck: {tcp: 1, retrys: 3}\n");
  ASSERT_EQ(typo.size(), 1u);
  EXPECT_NE(typo[0].find("did you mean 'retries'"), std::string::npos) << typo[0];
  const auto watchdog = ErrorsOf(kHead + "    watchdog_sec: 10\n");
  ASSERT_EQ(watchdog.size(), 1u);
  EXPECT_NE(watchdog[0].find("'watchdog_sec' needs 'ready: notify'"), std::string::npos);
  EXPECT_EQ(MustLoad(kHead + "    ready: notify\n    watchdog_sec: 2.5\n").watchdog_sec, 2.5);
}

TEST(HttpUrlTest, Forms) {
  EXPECT_EQ(ParseHttpUrl("http://127.0.0.1").value(), (HttpUrl{"127.0.0.1", 80, "/"}));
  EXPECT_EQ(ParseHttpUrl("http://localhost:81/a?b=c").value(),
            (HttpUrl{"127.0.0.1", 81, "/a?b=c"}));
  EXPECT_EQ(ParseHttpUrl("http://[::1]:8080/x").value(), (HttpUrl{"::1", 8080, "/x"}));
  EXPECT_EQ(ParseHttpUrl("http://10.0.0.1?q").value(), (HttpUrl{"10.0.0.1", 80, "/?q"}));
  EXPECT_FALSE(ParseHttpUrl("https://127.0.0.1/").ok());
  EXPECT_FALSE(ParseHttpUrl("127.0.0.1:80").ok());
  EXPECT_FALSE(ParseHttpUrl("http://127.0.0.1:0/").ok());
  EXPECT_FALSE(ParseHttpUrl("http://127.0.0.1:/").ok());
  EXPECT_FALSE(ParseHttpUrl("http://:80/").ok());
  EXPECT_FALSE(ParseHttpUrl("http://db.local/").ok());
  EXPECT_FALSE(ParseHttpUrl("http://127.0.0.1/a b").ok());
  EXPECT_FALSE(ParseHttpUrl("http://[::1/").ok());
}

}  // namespace
}  // namespace warden::config
