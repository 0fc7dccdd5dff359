#include "daemon/games/rescan_schedule.h"

#include <gtest/gtest.h>

using namespace framepace;

namespace {

// 100 ms ticks with a fake clock, as the daemon samples; 1 s to settle, 60 s at most.
class Rescan : public ::testing::Test {
protected:
    bool tick(uint64_t dropped_total) {
        now_ += 100'000;
        return schedule_.sample(now_, dropped_total);
    }
    // Ticks with an unchanged total until a rescan is due; how many that took.
    int ticks_until_due(uint64_t dropped_total, int limit = 1000) {
        for (int i = 1; i <= limit; i++)
            if (tick(dropped_total))
                return i;
        return -1;
    }
    RescanSchedule schedule_;
    uint64_t now_ = 5'000'000'000;
};

}  // namespace

TEST_F(Rescan, NoDropsNoRescan) {
    for (int i = 0; i < 200; i++)
        EXPECT_FALSE(tick(0));
    EXPECT_FALSE(schedule_.pending());
}

TEST_F(Rescan, DropsAreMadeUpForOnceTheRingsAreQuiet) {
    EXPECT_FALSE(tick(0));
    EXPECT_FALSE(tick(3));
    EXPECT_TRUE(schedule_.pending());
    // The drop was at this tick; ten more 100 ms ticks make the 1 s.
    EXPECT_EQ(ticks_until_due(3), 10);
    EXPECT_FALSE(schedule_.pending());
    EXPECT_EQ(ticks_until_due(3, 200), -1) << "one rescan per episode of drops";
}

TEST(RescanBaseline, DropsBeforeTheBaselineWereMadeUpForByTheScan) {
    RescanSchedule schedule(40);
    EXPECT_FALSE(schedule.sample(1'000'000, 40));
    EXPECT_FALSE(schedule.pending());
    EXPECT_FALSE(schedule.sample(1'100'000, 41));
    EXPECT_TRUE(schedule.pending());
}

TEST_F(Rescan, DropsThatGoOnAreMadeUpForAfterTheLongestDelay) {
    uint64_t total = 0;
    int ticks = 0;
    while (!tick(++total))
        ticks++;
    EXPECT_EQ(ticks, 600) << "due 60 s after the first drop";
    // The next episode starts with the next drop.
    EXPECT_FALSE(schedule_.pending());
    EXPECT_FALSE(tick(total));
    EXPECT_FALSE(schedule_.pending());
    EXPECT_FALSE(tick(total + 1));
    EXPECT_TRUE(schedule_.pending());
}
