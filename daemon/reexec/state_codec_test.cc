#include "daemon/reexec/state_codec.h"

#include <gtest/gtest.h>

#include <chrono>

namespace warden {
namespace {

DaemonState Sample() {
  DaemonState s;
  s.saved_at_ns = 123456789;
  s.config_path = "/etc/warden/warden.yaml";
  s.log_level = 1;
  s.listen_fd = 7;
  s.socket_path = "/run/warden/warden.sock";
  s.socket_bound = true;
  s.next_serial = 42;
  SavedProcess p;
  p.full_name = "webapps:web_00";
  p.machine.state = core::State::kRunning;
  p.machine.pid = 4242;
  p.machine.started_at = core::TimePoint(std::chrono::seconds(1000));
  p.machine.running_since = core::TimePoint(std::chrono::seconds(1001));
  p.machine.last_exit = core::ExitStatus{true, 9};
  p.machine.spawns = 5;
  p.machine.restarts = 4;
  p.machine.backoff_count = 2;
  p.machine.crash_count = 3;
  p.machine.reason = "Exited too quickly";
  p.machine.state_deadline = core::TimePoint(std::chrono::nanoseconds(-5));
  p.machine.cleaning = true;
  p.start_wall_ms = 1700000000000;
  p.stop_wall_ms = -1;
  p.last_pid = 4242;
  p.spawn_count = 5;
  p.serial = 3;
  p.status_text = "serving";
  p.start_pending = true;
  p.start_after_stop = true;
  p.known = {{4243, 99}, {4244, 100}};
  p.sessions = {4242, 17};
  p.leftover_signal = 15;
  p.signalled = {{4243, 99}};
  p.readiness = SavedReadiness::kNotify;
  p.readiness_fd = 9;
  p.notify_path = "/run/warden/notify/3.sock";
  p.readiness_seen = true;
  s.processes.push_back(p);
  SavedProcess q;
  q.full_name = "db";
  s.processes.push_back(q);
  s.pipes.push_back({11, "web stdout", "/var/log/warden/web.stdout.log", 1 << 20, 3, true, true});
  s.pipes.push_back({12, "db stderr", "/var/log/warden/db.stderr.log", 0, 0, false, false});
  s.config_sources.files = {{"/etc/warden/warden.yaml", "include: [conf.d/*.yaml]\n", ""},
                            {"/etc/warden/conf.d/a.yaml", "programs: {}\n", ""},
                            {"/etc/warden/conf.d/b.yaml", "", "/etc/warden/conf.d/a.yaml"}};
  s.config_sources.updates = {{{{"/etc/warden/warden.yaml", "programs: {}\n", ""}}, {"web"}}};
  return s;
}

TEST(StateCodec, RoundTrip) {
  const DaemonState s = Sample();
  const std::vector<uint8_t> bytes = EncodeState(s);
  Result<DaemonState> back = DecodeState(bytes);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(EncodeState(*back), bytes);  // every field came back
  const SavedProcess& p = back->processes[0];
  EXPECT_EQ(p.full_name, "webapps:web_00");
  EXPECT_EQ(p.machine.state, core::State::kRunning);
  EXPECT_EQ(p.machine.pid, 4242);
  EXPECT_EQ(p.machine.started_at, core::TimePoint(std::chrono::seconds(1000)));
  ASSERT_TRUE(p.machine.last_exit);
  EXPECT_TRUE(p.machine.last_exit->signaled);
  EXPECT_EQ(p.machine.last_exit->value, 9);
  EXPECT_EQ(p.machine.restarts, 4u);
  EXPECT_EQ(p.machine.state_deadline, core::TimePoint(std::chrono::nanoseconds(-5)));
  EXPECT_FALSE(p.machine.cleanup_deadline);
  EXPECT_EQ(p.known.size(), 2u);
  EXPECT_EQ(p.readiness, SavedReadiness::kNotify);
  EXPECT_EQ(p.readiness_fd, 9);
  EXPECT_TRUE(p.start_after_stop);
  EXPECT_FALSE(back->processes[1].machine.started_at);
  EXPECT_EQ(back->pipes[0].path, "/var/log/warden/web.stdout.log");
  EXPECT_EQ(back->pipes[0].max_bytes, 1u << 20);
  EXPECT_TRUE(back->pipes[0].timestamps);
  EXPECT_EQ(back->listen_fd, 7);
  EXPECT_EQ(back->config_path, "/etc/warden/warden.yaml");
  EXPECT_EQ(back->config_sources, s.config_sources);
}

TEST(StateCodec, VersionOneIsStillRead) {
  // What a wardend before version 2 wrote: no configuration files (the new image loads the
  // file config_path names).
  DaemonState s = Sample();
  const std::vector<uint8_t> v1 = EncodeState(s, 1);
  EXPECT_LT(v1.size(), EncodeState(s).size());
  Result<DaemonState> back = DecodeState(v1);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(back->config_sources.files.empty());
  EXPECT_FALSE(back->processes[0].start_after_stop);
  s.config_sources = {};
  s.processes[0].start_after_stop = false;
  EXPECT_EQ(EncodeState(*back), EncodeState(s));
  EXPECT_EQ(ReadableStateVersions(), "1 2");
}

TEST(StateCodec, EmptyStateRoundTrips) {
  DaemonState s;
  s.config_path = "/c.yaml";
  s.listen_fd = 3;
  Result<DaemonState> back = DecodeState(EncodeState(s));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(back->processes.empty());
  EXPECT_TRUE(back->pipes.empty());
}

TEST(StateCodec, EveryTruncationIsRejected) {
  const std::vector<uint8_t> bytes = EncodeState(Sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_FALSE(DecodeState(cut).ok()) << "accepted " << n << " of " << bytes.size();
  }
}

TEST(StateCodec, TrailingBytesAreRejected) {
  std::vector<uint8_t> bytes = EncodeState(Sample());
  bytes.push_back(0);
  Result<DaemonState> back = DecodeState(bytes);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find("trailing"), std::string::npos);
}

TEST(StateCodec, BadMagicAndOtherVersionsAreRejected) {
  std::vector<uint8_t> bytes = EncodeState(Sample());
  std::vector<uint8_t> magic = bytes;
  magic[0] ^= 0xFF;
  EXPECT_NE(DecodeState(magic).status().message().find("magic"), std::string::npos);
  std::vector<uint8_t> version = bytes;
  version[7] = static_cast<uint8_t>(kStateVersion + 1);
  Result<DaemonState> back = DecodeState(version);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find("state version 3, this wardend reads 1 2"),
            std::string::npos)
      << back.status().message();
  version[7] = 0;
  EXPECT_FALSE(DecodeState(version).ok());
}

TEST(StateCodec, CorruptBytesNeverCrashAndMostAreRejected) {
  // Flipping any single byte either fails cleanly or decodes to something re-encodable: never a
  // crash, never a huge allocation from a corrupt count.
  const std::vector<uint8_t> bytes = EncodeState(Sample());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int flip : {0x01, 0x80, 0xFF}) {
      std::vector<uint8_t> bad = bytes;
      bad[i] = static_cast<uint8_t>(bad[i] ^ flip);
      Result<DaemonState> back = DecodeState(bad);
      if (back.ok()) {
        EXPECT_EQ(EncodeState(*back), bad);
      }
    }
  }
}

TEST(StateCodec, ImpossibleValuesAreRejected) {
  DaemonState s = Sample();
  s.listen_fd = -1;
  EXPECT_FALSE(DecodeState(EncodeState(s)).ok());
  s = Sample();
  s.processes[0].machine.state = static_cast<core::State>(55);
  EXPECT_FALSE(DecodeState(EncodeState(s)).ok());
  s = Sample();
  s.pipes[0].fd = -3;
  EXPECT_FALSE(DecodeState(EncodeState(s)).ok());
  s = Sample();
  s.processes[1].full_name.clear();
  EXPECT_FALSE(DecodeState(EncodeState(s)).ok());
}

}  // namespace
}  // namespace warden
