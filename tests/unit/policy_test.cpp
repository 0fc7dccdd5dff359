// bpf/policy.h compiled as C++: the arithmetic of the policy, without a kernel. The host BPF
// tests (tests/bpf) run the same functions as the verifier-checked BPF the scheduler inlines.
#include <gtest/gtest.h>

#include "kernel_types.h"
#include "bpf/policy.h"

namespace {

constexpr u64 kMs = 1'000'000;

u64 enqueue(u64 task, u64 now, bool waking, u32* clamped, u64 budget = 3 * kMs,
            u64 lag = 40 * kMs) {
    return enqueue_vtime(task, now, budget, lag, waking, clamped);
}

}  // namespace

TEST(Policy, OutOfRangeRolesIndexAsNormal) {
    EXPECT_EQ(role_index(FP_ROLE_AUDIO), u32(FP_ROLE_AUDIO));
    EXPECT_EQ(role_index(FP_NR_ROLES), u32(FP_ROLE_NORMAL));
    EXPECT_EQ(role_index(UINT32_MAX), u32(FP_ROLE_NORMAL));
}

TEST(Policy, TimeBeforeHoldsAcrossTheWrap) {
    EXPECT_TRUE(time_before(1, 2));
    EXPECT_FALSE(time_before(2, 2));
    EXPECT_TRUE(time_before(UINT64_MAX - 5, 3));  // 3 is 9 ns after the wrap
}

TEST(Policy, EnqueueBoundsSleepersAndRunnersAhead) {
    u32 clamped = 99;
    EXPECT_EQ(enqueue(10 * kMs, 100 * kMs, true, &clamped), 97 * kMs);
    EXPECT_EQ(clamped, u32(FP_CLAMP_SLEEP));
    EXPECT_EQ(enqueue(10 * kMs, 100 * kMs, false, &clamped), 10 * kMs);  // runnable: keeps its lag
    EXPECT_EQ(clamped, u32(FP_CLAMP_NONE));
    EXPECT_EQ(enqueue(700 * kMs, 100 * kMs, false, &clamped), 140 * kMs);
    EXPECT_EQ(clamped, u32(FP_CLAMP_LAG));
    // Right after load the queue's time is small and now - budget wraps: no clamp.
    EXPECT_EQ(enqueue(0, 1'000, true, &clamped), 0u);
    EXPECT_EQ(clamped, u32(FP_CLAMP_NONE));
}

TEST(Policy, ChargeScalesByWeight) {
    EXPECT_EQ(charge_vtime(1'000, 4 * kMs, 100), 4 * kMs + 1'000);
    EXPECT_EQ(charge_vtime(0, 4 * kMs, 200), 2 * kMs);
    EXPECT_EQ(charge_vtime(0, 4 * kMs, 1), 400 * kMs);
    EXPECT_EQ(charge_vtime(0, 4 * kMs, 0), 4 * kMs);  // a zero weight counts as nice 0
}
