#include "web/server.h"

#include <gtest/gtest.h>

namespace warden::web {
namespace {

TEST(ServerTest, ProtocolErrorsMapToHttpStatuses) {
  EXPECT_EQ(HttpStatusFor(ErrorCode::kOk), 200);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kAlreadyStarted), 409);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kNotRunning), 409);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kSpawnError), 500);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kAbnormalTermination), 500);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kProtocol), 502);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnknownMessage), 502);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kTooLarge), 413);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kBusy), 503);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kShuttingDown), 503);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kIo), 500);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kConfig), 500);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kTimeout), 504);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInternal), 500);
}

}  // namespace
}  // namespace warden::web
