#include "ctl/signals.h"

#include <signal.h>

#include <gtest/gtest.h>

namespace warden::ctl {
namespace {

TEST(ParseSignal, AcceptsNamesWithAndWithoutPrefixInAnyCase) {
  EXPECT_EQ(ParseSignal("TERM"), SIGTERM);
  EXPECT_EQ(ParseSignal("SIGTERM"), SIGTERM);
  EXPECT_EQ(ParseSignal("term"), SIGTERM);
  EXPECT_EQ(ParseSignal("SigHup"), SIGHUP);
  EXPECT_EQ(ParseSignal("USR1"), SIGUSR1);
  EXPECT_EQ(ParseSignal("KILL"), SIGKILL);
  EXPECT_EQ(ParseSignal("IOT"), SIGABRT);  // alias
}

TEST(ParseSignal, AcceptsNumbersInRange) {
  EXPECT_EQ(ParseSignal("9"), 9);
  EXPECT_EQ(ParseSignal("15"), 15);
  EXPECT_EQ(ParseSignal(std::to_string(SIGRTMAX)), SIGRTMAX);
  EXPECT_EQ(ParseSignal("0"), std::nullopt);  // would only probe the process
  EXPECT_EQ(ParseSignal(std::to_string(SIGRTMAX + 1)), std::nullopt);
  EXPECT_EQ(ParseSignal("9x"), std::nullopt);
  EXPECT_EQ(ParseSignal("99999999999999"), std::nullopt);
}

TEST(ParseSignal, AcceptsRealtimeSignals) {
  EXPECT_EQ(ParseSignal("RTMIN"), SIGRTMIN);
  EXPECT_EQ(ParseSignal("SIGRTMIN+2"), SIGRTMIN + 2);
  EXPECT_EQ(ParseSignal("RTMAX-1"), SIGRTMAX - 1);
  EXPECT_EQ(ParseSignal("RTMIN+999"), std::nullopt);
  EXPECT_EQ(ParseSignal("RTMIN-1"), std::nullopt);
}

TEST(ParseSignal, RejectsNonSignals) {
  EXPECT_EQ(ParseSignal(""), std::nullopt);
  EXPECT_EQ(ParseSignal("SIG"), std::nullopt);
  EXPECT_EQ(ParseSignal("TERMS"), std::nullopt);
  EXPECT_EQ(ParseSignal("-9"), std::nullopt);
}

TEST(SignalName, NamesKnownAndUnknownSignals) {
  EXPECT_EQ(SignalName(SIGKILL), "SIGKILL");
  EXPECT_EQ(SignalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(SignalName(SIGABRT), "SIGABRT");  // the first name wins over the IOT alias
  EXPECT_EQ(SignalName(SIGRTMIN), "SIGRTMIN");
  EXPECT_EQ(SignalName(SIGRTMIN + 3), "SIGRTMIN+3");
  EXPECT_EQ(SignalName(99), "signal 99");
}

}  // namespace
}  // namespace warden::ctl
