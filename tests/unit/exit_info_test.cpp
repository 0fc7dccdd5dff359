#include "daemon/scheduler/exit_info.h"

#include <cstring>
#include <gtest/gtest.h>

using namespace framepace;

TEST(ExitInfo, DecodesTheRecordAndBoundsUnterminatedStrings) {
    fp_exit_info raw{};
    raw.kind = FP_EXIT_KIND_ERROR_STALL;
    raw.exit_code = -3;
    std::memset(raw.reason, 'r', sizeof(raw.reason));  // no terminator: must not overrun
    std::strcpy(raw.msg, "task stalled");
    ExitInfo info = exit_info_from(raw);
    EXPECT_EQ(info.kind, FP_EXIT_KIND_ERROR_STALL);
    EXPECT_EQ(info.exit_code, -3);
    EXPECT_EQ(info.reason.size(), sizeof(raw.reason));
    EXPECT_EQ(info.message, "task stalled");
    EXPECT_FALSE(info.is_unregister());
    EXPECT_EQ(exit_kind_name(info.kind), "error: runnable task stall");
}

TEST(ExitInfo, UnregisterIsTheCleanStop) {
    fp_exit_info raw{};
    raw.kind = FP_EXIT_KIND_UNREG;
    EXPECT_TRUE(exit_info_from(raw).is_unregister());
    EXPECT_EQ(exit_kind_name(FP_EXIT_KIND_UNREG), "unregistered");
    EXPECT_EQ(exit_kind_name(12345), "unknown");
}
