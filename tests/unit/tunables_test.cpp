#include "daemon/tunables/tunables.h"

#include <gtest/gtest.h>

using namespace framepace;

TEST(Tunables, DefaultsValidate) { EXPECT_TRUE(validate_tunables(default_tunables())); }

TEST(Tunables, EveryRangeIsEnforcedAtBothEnds) {
    for (const auto& range : kTunableRanges) {
        fp_tunables t = default_tunables();
        tunable_ref(t, range) = range.max;
        EXPECT_TRUE(validate_tunables(t)) << range.name;
        tunable_ref(t, range) = range.max + 1;
        auto above = validate_tunables(t);
        ASSERT_FALSE(above) << range.name;
        EXPECT_NE(above.error().message.find(range.name), std::string::npos);
        tunable_ref(t, range) = range.min;
        EXPECT_TRUE(validate_tunables(t)) << range.name;
        if (range.min > 0) {
            tunable_ref(t, range) = range.min - 1;
            EXPECT_FALSE(validate_tunables(t)) << range.name;
        }
    }
}
