#include "daemon/scheduler/overflow_monitor.h"

#include <gtest/gtest.h>
#include <vector>

using namespace framepace;

namespace {

// Drives one ring (index 3) with a fake clock in 100 ms ticks, as the daemon does.
class Overflow : public ::testing::Test {
protected:
    std::vector<OverflowAlert> tick(uint64_t dropped_now) {
        now_ += 100'000;
        totals_[3] = dropped_now;
        return monitor_.sample(now_, totals_);
    }
    OverflowMonitor monitor_;
    uint64_t now_ = 1'000'000'000;
    std::vector<uint64_t> totals_ = std::vector<uint64_t>(FP_NR_RINGS, 0);
};

}  // namespace

TEST_F(Overflow, DropsBeforeWatchingAreTheBaseline) {
    EXPECT_TRUE(tick(5000).empty());
    EXPECT_TRUE(tick(5000).empty());
}

TEST_F(Overflow, AtOrBelowTheThresholdNothingIsSaid) {
    tick(0);
    for (uint64_t total : {2, 4, 6, 8, 10, 10, 10, 10, 10, 10})
        EXPECT_TRUE(tick(total).empty()) << total;
}

TEST_F(Overflow, MoreThanTheThresholdWithinTheWindowAlertsOnce) {
    tick(0);
    EXPECT_TRUE(tick(6).empty());
    auto alerts = tick(17);
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0].kind, OverflowAlert::Kind::Overflow);
    EXPECT_EQ(alerts[0].ring, 3u);
    EXPECT_EQ(alerts[0].dropped_in_window, 17u);
    EXPECT_EQ(alerts[0].dropped_total, 17u);
    EXPECT_EQ(alerts[0].window_usec, 1'000'000u);
    EXPECT_EQ(alerts[0].suppressed, 0u);
}

TEST_F(Overflow, SlowDropsSpreadOverMoreThanAWindowDoNotAlert) {
    tick(0);
    uint64_t total = 0;
    for (int i = 0; i < 50; i++) {
        total += 1;  // 10 per second, never more than 10 within any 1 s window
        EXPECT_TRUE(tick(total).empty()) << i;
    }
}

TEST_F(Overflow, SustainedDropsAreRateLimitedAndCountedAsSuppressed) {
    tick(0);
    uint64_t total = 0;
    int overflows = 0;
    uint64_t suppressed_reported = 0;
    for (int i = 0; i < 120; i++) {  // 12 s of 50 drops per tick
        total += 50;
        for (const auto& alert : tick(total)) {
            ASSERT_EQ(alert.kind, OverflowAlert::Kind::Overflow);
            overflows++;
            suppressed_reported = alert.suppressed;
        }
    }
    EXPECT_EQ(overflows, 2);  // one at once, the next after the 10 s rate limit
    EXPECT_GE(suppressed_reported, 8u);
}

TEST_F(Overflow, RecoveryIsReportedOnceAfterQuiet) {
    tick(0);
    ASSERT_EQ(tick(50).size(), 1u);
    int recovered = 0;
    for (int i = 0; i < 100; i++)
        for (const auto& alert : tick(50))
            recovered += alert.kind == OverflowAlert::Kind::Recovered;
    EXPECT_EQ(recovered, 1);
}

TEST(SuggestedRingBytes, GrowsToAPowerOfTwoWithinRange) {
    EXPECT_EQ(suggested_ring_bytes(4096, 1), 8192u);
    uint64_t big = suggested_ring_bytes(4096, 1000);
    EXPECT_EQ(big & (big - 1), 0u);
    EXPECT_GE(big, 4096u + 2 * 1000 * sizeof(fp_event));
    EXPECT_EQ(suggested_ring_bytes(FP_RING_BYTES_MAX, 1u << 30),
              static_cast<uint64_t>(FP_RING_BYTES_MAX));
}

TEST_F(Overflow, SamplesMustGoOnOnlyUntilTheRecoveryIsReported) {
    tick(0);
    EXPECT_FALSE(monitor_.awaiting_recovery());
    ASSERT_EQ(tick(50).size(), 1u);
    EXPECT_TRUE(monitor_.awaiting_recovery()) << "an alert is out";
    bool recovered = false;
    for (int i = 0; i < 100 && !recovered; i++)
        for (const auto& alert : tick(50))
            recovered |= alert.kind == OverflowAlert::Kind::Recovered;
    ASSERT_TRUE(recovered);
    EXPECT_FALSE(monitor_.awaiting_recovery());
}

TEST_F(Overflow, AfterAPauseInTheSamplesTheDropsSinceTheLastOneCount) {
    // The daemon stops sampling while no events flow; drops only come with events, which
    // start the samples again, so what was dropped since the last sample is recent.
    tick(0);
    now_ += 60'000'000;
    auto alerts = tick(20);
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0].dropped_in_window, 20u);
}
