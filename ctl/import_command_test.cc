// `wardenctl import-supervisord`: the importer (importer/) run as a command.
#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ctl/dispatch.h"

namespace warden::ctl {
namespace {

// The command as wardenctl runs it: a real file, YAML on stdout, messages on stderr.
TEST(ImportSupervisordCommandTest, RunsWithoutADaemon) {
  char dir_template[] = "/tmp/warden-import-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  {
    std::ofstream(dir + "/supervisord.conf") << "[supervisord]\npidfile=/run/s.pid\n"
                                                "[program:web]\ncommand=/bin/web\n";
  }
  Result<Command> command = ParseCommand({"import-supervisord", dir + "/supervisord.conf"}, false);
  ASSERT_TRUE(command.ok());
  EXPECT_EQ(command->kind, CommandKind::kImportSupervisord);
  EXPECT_FALSE(NeedsDaemon(*command));
  EXPECT_FALSE(ParseCommand({"import-supervisord"}, false).ok());
  EXPECT_FALSE(ParseCommand({"import-supervisord", "a", "b"}, false).ok());

  class NoDaemon : public DaemonLink {
   public:
    Result<std::vector<uint8_t>> Call(proto::MessageType, const std::vector<uint8_t>&) override {
      ADD_FAILURE() << "import-supervisord must not talk to wardend";
      return Status(ErrorCode::kInternal, "no daemon");
    }
  } daemon;
  std::ostringstream out, err;
  EXPECT_EQ(Execute(*command, daemon, out, err), kExitOk);
  EXPECT_NE(out.str().find("  web:\n    command: \"/bin/web\"\n"), std::string::npos) << out.str();
  EXPECT_NE(err.str().find(dir + "/supervisord.conf:2: warning: [supervisord] pidfile"),
            std::string::npos)
      << err.str();
  EXPECT_NE(err.str().find("converted 1 program and 0 groups"), std::string::npos) << err.str();

  std::ostringstream out2, err2;
  Result<Command> missing = ParseCommand({"import-supervisord", dir + "/missing.conf"}, false);
  EXPECT_EQ(Execute(*missing, daemon, out2, err2), kExitFailure);
  EXPECT_TRUE(out2.str().empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace warden::ctl
