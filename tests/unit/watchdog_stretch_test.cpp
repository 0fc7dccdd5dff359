// WatchdogStretch against a notification socket standing in for systemd's: what it sends, and
// that it sends nothing without a watchdog of this process or when the unit waits long enough.
#include "framepaced/watchdog_stretch.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "notify_socket_test.h"

using namespace framepace;

namespace {

class Watchdog : public framepace::testing::NotifySocketTest {
protected:
    void SetUp() override {
        NotifySocketTest::SetUp();
        setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
    }
    void TearDown() override {
        unsetenv("WATCHDOG_PID");
        unsetenv("WATCHDOG_USEC");
        NotifySocketTest::TearDown();
    }
};

using Messages = std::vector<std::string>;

TEST_F(Watchdog, StretchLengthensForItsLifeAndRestoresTheUnitTimeout) {
    setenv("WATCHDOG_USEC", "5000000", 1);
    {
        WatchdogStretch stretch(60'000'000);
        EXPECT_EQ(messages(), Messages{"WATCHDOG=1\nWATCHDOG_USEC=60000000"});
    }
    EXPECT_EQ(messages(), Messages{"WATCHDOG=1\nWATCHDOG_USEC=5000000"});
}

TEST_F(Watchdog, NoStretchWithoutAWatchdog) {
    {
        WatchdogStretch stretch(60'000'000);
    }
    EXPECT_TRUE(messages().empty());
}

TEST_F(Watchdog, NoStretchWhenTheUnitAlreadyWaitsLongEnough) {
    setenv("WATCHDOG_USEC", "90000000", 1);
    {
        WatchdogStretch stretch(60'000'000);
    }
    EXPECT_TRUE(messages().empty());
}

TEST_F(Watchdog, NoStretchOfAnotherProcesssWatchdog) {
    setenv("WATCHDOG_USEC", "5000000", 1);
    setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
    {
        WatchdogStretch stretch(60'000'000);
    }
    EXPECT_TRUE(messages().empty());
}

}  // namespace
