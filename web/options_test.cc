#include "web/options.h"

#include <gtest/gtest.h>

namespace warden::web {
namespace {

Result<Options> Parse(const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  argv.reserve(args.size() + 1);
  argv.emplace_back("warden-web");
  for (const std::string& arg : args) argv.push_back(arg);
  return ParseOptions(argv);
}

TEST(OptionsTest, Defaults) {
  Result<Options> o = Parse({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->listen_host, "127.0.0.1");
  EXPECT_EQ(o->listen_port, 9020);
  EXPECT_TRUE(o->socket.empty());
}

TEST(OptionsTest, EveryOption) {
  Result<Options> o = Parse({"-s", "/run/w.sock", "--listen=[::1]:8080", "--token-file", "/t",
                             "--password-file=/p", "--static-dir", "/s"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->socket, "/run/w.sock");
  EXPECT_EQ(o->listen_host, "::1");
  EXPECT_EQ(o->listen_port, 8080);
  EXPECT_EQ(o->token_file, "/t");
  EXPECT_EQ(o->password_file, "/p");
  EXPECT_EQ(o->static_dir, "/s");
  EXPECT_EQ(Parse({"-c", "/etc/warden/warden.yaml"})->config, "/etc/warden/warden.yaml");
}

TEST(OptionsTest, UsageErrors) {
  EXPECT_FALSE(Parse({"-s", "a", "-c", "b"}).ok());
  EXPECT_FALSE(Parse({"--listen"}).ok());
  EXPECT_FALSE(Parse({"--bogus"}).ok());
  for (const char* bad : {"9020", ":9020", "127.0.0.1:", "127.0.0.1:-1", "127.0.0.1:70000",
                          "::1:9020", "[::1]9020", "host:port"}) {
    Result<Options> o = Parse({"--listen", bad});
    EXPECT_FALSE(o.ok()) << bad;
    if (!o.ok()) {
      EXPECT_NE(o.status().message().find("--listen"), std::string::npos) << bad;
    }
  }
}

TEST(OptionsTest, Loopback) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "app.localhost",
                           "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopback(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "192.168.1.2", "evil.example", "128.0.0.1", ""}) {
    EXPECT_FALSE(IsLoopback(host)) << host;
  }
}

}  // namespace
}  // namespace warden::web
