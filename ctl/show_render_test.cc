// `wardenctl show`: the text and JSON of one process in detail.
#include "ctl/show_render.h"

#include <gtest/gtest.h>

namespace warden::ctl {
namespace {

proto::ShowReply FatalWeb() {
  proto::ShowReply show;
  show.process.name = "web";
  show.process.group = "web";
  show.process.state = proto::ProcessState::kFatal;
  show.process.exit_kind = proto::ExitKind::kExited;
  show.process.exit_value = 3;
  show.process.restarts = 3;
  show.process.reason = "Exited too quickly (process log may have details)";
  show.command = {"/usr/bin/web", "--port", "80 80"};
  show.environment = {"PORT=8080", "EMPTY="};
  show.logs = {{"stdout", "/var/log/warden/web.stdout.log", 2048}, {"stderr", "stdout", -1}};
  show.readiness = "startsecs 1s";
  show.healthcheck = "http://127.0.0.1:8080/health every 30s, timeout 30s, 3 retries";
  show.stdout_tail = {"starting", "error: port 8080 in use"};
  return show;
}

TEST(ShowTextTest, FatalShowsExitReasonAndLastLines) {
  const std::string text = ShowText(FatalWeb());
  EXPECT_EQ(text.rfind("web - FATAL: Exited too quickly", 0), 0u) << text;
  EXPECT_NE(text.find("  Last exit: exit status 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("    Command: /usr/bin/web --port '80 80'\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Environment: PORT=8080\n             EMPTY=\n"), std::string::npos) << text;
  EXPECT_NE(text.find("       Logs: stdout /var/log/warden/web.stdout.log (2.0K)\n"
                      "             stderr merged into stdout\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("     Health: (not running)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nLast lines of stdout:\n  starting\n  error: port 8080 in use\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("Main PID"), std::string::npos);
}

TEST(ShowJsonTest, StatusRecordPlusDefinition) {
  const nlohmann::ordered_json json = ShowJson(FatalWeb());
  EXPECT_EQ(json["name"], "web");
  EXPECT_EQ(json["state"], "FATAL");
  EXPECT_EQ(json["exit_status"], 3);
  EXPECT_EQ(json["command"].size(), 3u);
  EXPECT_EQ(json["environment"]["PORT"], "8080");
  EXPECT_EQ(json["environment"]["EMPTY"], "");
  EXPECT_TRUE(json["directory"].is_null());
  EXPECT_EQ(json["logs"][0]["size"], 2048);
  EXPECT_TRUE(json["logs"][1]["size"].is_null());
  EXPECT_TRUE(json["health"].is_null());
  EXPECT_TRUE(json["watchdog_sec"].is_null());
  EXPECT_EQ(json["stdout_tail"][1], "error: port 8080 in use");
}

}  // namespace
}  // namespace warden::ctl
