// The pure parts of health checks: the HTTP status line and the failure counter.
#include "daemon/supervisor/health.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

using namespace std::chrono_literals;

TEST(HttpStatusLineTest, Codes) {
  EXPECT_EQ(ParseHttpStatusLine("HTTP/1.1 200 OK"), 200);
  EXPECT_EQ(ParseHttpStatusLine("HTTP/1.0 503 Service Unavailable"), 503);
  EXPECT_EQ(ParseHttpStatusLine("HTTP/1.1 302"), 302);
  EXPECT_EQ(ParseHttpStatusLine("HTTP/2 404 "), 404);
  EXPECT_EQ(ParseHttpStatusLine("HTTP/1.1 200 "), 200);
}

TEST(HttpStatusLineTest, NotAStatusLine) {
  EXPECT_EQ(ParseHttpStatusLine(""), std::nullopt);
  EXPECT_EQ(ParseHttpStatusLine("SSH-2.0-OpenSSH_9.2"), std::nullopt);
  EXPECT_EQ(ParseHttpStatusLine("HTTP/1.1"), std::nullopt);
  EXPECT_EQ(ParseHttpStatusLine("HTTP/1.1 20"), std::nullopt);
  EXPECT_EQ(ParseHttpStatusLine("HTTP/1.1 2000 OK"), std::nullopt);
  EXPECT_EQ(ParseHttpStatusLine("HTTP/1.1 abc"), std::nullopt);
  EXPECT_EQ(ParseHttpStatusLine("HTTP/ 200 OK"), std::nullopt);
  EXPECT_EQ(ParseHttpStatusLine("HTTP/x.1 200 OK"), std::nullopt);
  EXPECT_EQ(ParseHttpStatusLine("HTTP/1.1 099 low"), std::nullopt);
  EXPECT_EQ(ParseHttpStatusLine("http/1.1 200 OK"), std::nullopt);
}

const core::TimePoint kT0 = core::TimePoint() + 1000h;

TEST(HealthCounterTest, RetriesFailuresInARowRestart) {
  HealthCounter c(3, 0s, kT0);
  EXPECT_EQ(c.Describe(), "starting");
  EXPECT_FALSE(c.Record(true, kT0 + 1s, ""));
  EXPECT_EQ(c.Describe(), "healthy");
  EXPECT_FALSE(c.Record(false, kT0 + 2s, "a: 503"));
  EXPECT_FALSE(c.Record(false, kT0 + 3s, "a: 503"));
  EXPECT_EQ(c.Describe(), "unhealthy 2/3");
  // A success in between starts the count again.
  EXPECT_FALSE(c.Record(true, kT0 + 4s, ""));
  EXPECT_EQ(c.failures(), 0);
  EXPECT_FALSE(c.Record(false, kT0 + 5s, "a: 500"));
  EXPECT_FALSE(c.Record(false, kT0 + 6s, "a: 502"));
  EXPECT_TRUE(c.Record(false, kT0 + 7s, "a: 503"));
  EXPECT_EQ(c.Describe(), "unhealthy 3/3");
  EXPECT_EQ(c.last_failure(), "a: 503");
}

TEST(HealthCounterTest, StartPeriodFailuresDoNotCountUntilTheFirstSuccess) {
  HealthCounter c(1, 10s, kT0);
  EXPECT_FALSE(c.Record(false, kT0 + 1s, "refused"));
  EXPECT_FALSE(c.Record(false, kT0 + 9s, "refused"));
  EXPECT_EQ(c.Describe(), "starting");
  EXPECT_EQ(c.last_failure(), "refused");
  EXPECT_TRUE(c.Record(false, kT0 + 10s, "refused"));  // the period is over
  // After a success within the period, failures count at once (Docker's rule).
  HealthCounter d(2, 10s, kT0);
  EXPECT_FALSE(d.Record(true, kT0 + 1s, ""));
  EXPECT_FALSE(d.Record(false, kT0 + 2s, "x"));
  EXPECT_TRUE(d.Record(false, kT0 + 3s, "x"));
}

}  // namespace
}  // namespace warden
