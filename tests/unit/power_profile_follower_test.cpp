#include "daemon/system_bus/power_profile_follower.h"

#include <gtest/gtest.h>
#include <vector>

using namespace framepace;

namespace {

constexpr size_t kUPower = 0, kHadess = 1;

struct Recorder {
    std::vector<std::optional<ActiveProfile>> calls;
    PowerProfileFollower follower{
        [this](const std::optional<ActiveProfile>& a) { calls.push_back(a); }};
};

}  // namespace

TEST(PowerProfiles, NoServiceIsOneAnswerOnceBothNamesAreAbsent) {
    Recorder r;
    r.follower.update(kUPower, std::nullopt);
    EXPECT_TRUE(r.calls.empty());   // net.hadess may still answer
    r.follower.update(kHadess, std::nullopt);
    ASSERT_EQ(r.calls.size(), 1u);
    EXPECT_FALSE(r.calls[0]);
    r.follower.update(kUPower, std::nullopt);
    EXPECT_EQ(r.calls.size(), 1u);
}

TEST(PowerProfiles, TheCurrentNameWinsOverTheOldOne) {
    Recorder r;
    // power-profiles-daemon owns both names; the old one answers first.
    r.follower.update(kHadess, "balanced");
    EXPECT_TRUE(r.calls.empty());
    r.follower.update(kUPower, "balanced");
    ASSERT_EQ(r.calls.size(), 1u);
    EXPECT_EQ(*r.calls[0], (ActiveProfile{"org.freedesktop.UPower.PowerProfiles", "balanced"}));
    r.follower.update(kHadess, "power-saver");   // the old name lags: ignored
    r.follower.update(kUPower, "power-saver");
    ASSERT_EQ(r.calls.size(), 2u);
    EXPECT_EQ(r.calls[1]->profile, "power-saver");
}

TEST(PowerProfiles, OldDaemonsAreFollowedThroughTheOldName) {
    Recorder r;
    r.follower.update(kUPower, std::nullopt);
    r.follower.update(kHadess, "performance");
    ASSERT_EQ(r.calls.size(), 1u);
    EXPECT_EQ(*r.calls[0], (ActiveProfile{"net.hadess.PowerProfiles", "performance"}));
}

TEST(PowerProfiles, AServiceThatLeavesIsReportedAndOneThatComesBackToo) {
    Recorder r;
    r.follower.update(kUPower, "balanced");
    r.follower.update(kUPower, std::nullopt);
    EXPECT_EQ(r.calls.size(), 1u);   // not yet: the old name has not answered
    r.follower.update(kHadess, std::nullopt);
    ASSERT_EQ(r.calls.size(), 2u);
    EXPECT_FALSE(r.calls[1]);
    r.follower.update(kUPower, "power-saver");
    ASSERT_EQ(r.calls.size(), 3u);
    EXPECT_EQ(r.calls[2]->profile, "power-saver");
    r.follower.update(kUPower, "power-saver");   // no change, no call
    EXPECT_EQ(r.calls.size(), 3u);
}
