// bpf/policy.h compiled as C++: the arithmetic of the policy, without a kernel. The host BPF
// tests (tests/bpf) run the same functions as the verifier-checked BPF the scheduler inlines.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>

#include "kernel_types.h"
#include "bpf/policy.h"

namespace {

constexpr u64 kMs = 1'000'000;

u64 enqueue(u64 task, u64 now, bool waking, u32* clamped, u64 budget = 3 * kMs, u64 lag = 40 * kMs,
            u64 slept = 0) {
    return enqueue_vtime(task, now, budget, lag, slept, waking, clamped);
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

// scx_bpf_now() is monotonic per CPU only: a stamp from another CPU may be a little ahead.
TEST(Policy, TimeSinceIsZeroForAStampAheadOfNow) {
    EXPECT_EQ(time_since(10, 4), 6u);
    EXPECT_EQ(time_since(10, 10), 0u);
    EXPECT_EQ(time_since(10, 12), 0u);             // not 2^64 - 2
    EXPECT_EQ(time_since(3, UINT64_MAX - 5), 9u);  // across the wrap
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
    EXPECT_EQ(enqueue(0, 1'000, true, &clamped, 3 * kMs, 40 * kMs, 10 * kMs), 0u);
    EXPECT_EQ(clamped, u32(FP_CLAMP_NONE));
}

// A sleeper that last ran ahead of the clock goes back by its sleep, down to the budget's
// bound: a thread that sleeps as long as others is queued as they are.
TEST(Policy, ASleeperAheadOfTheClockGoesBackByItsSleep) {
    u32 clamped = 99;
    const u64 now = 100 * kMs, budget = 3 * kMs, lag = 40 * kMs;
    EXPECT_EQ(enqueue(now + 3 * kMs, now, true, &clamped, budget, lag, 2 * kMs), now + kMs);
    EXPECT_EQ(clamped, u32(FP_CLAMP_NONE));
    EXPECT_EQ(enqueue(now + 3 * kMs, now, true, &clamped, budget, lag, 7 * kMs), now - budget);
    EXPECT_EQ(clamped, u32(FP_CLAMP_SLEEP));
    EXPECT_EQ(enqueue(now + 3 * kMs, now, true, &clamped, budget, lag, 60 * kMs), now - budget);
    // Already at the bound or behind it: the bound, however long the sleep.
    EXPECT_EQ(enqueue(now - budget, now, true, &clamped, budget, lag, kMs), now - budget);
    EXPECT_EQ(enqueue(now - 9 * kMs, now, true, &clamped, budget, lag, kMs), now - budget);
    // Not waking (preempted, its slice over): no sleep to count.
    EXPECT_EQ(enqueue(now + 3 * kMs, now, false, &clamped, budget, lag, 6 * kMs), now + 3 * kMs);
    // Far ahead (a nice-19 task): the sleep first, then the lag bound.
    EXPECT_EQ(enqueue(now + 100 * kMs, now, true, &clamped, budget, lag, 10 * kMs), now + lag);
    EXPECT_EQ(clamped, u32(FP_CLAMP_LAG));
}

// ops.running reads the role and protection of the task that starts from its slice, set as
// it was queued: they come back as they went, the protection rounded up to 131 us, and the
// slice loses less than 512 ns.
TEST(Policy, ASliceCarriesTheRunsRoleAndProtection) {
    static_assert(FP_NR_ROLES <= FP_TICKET_ROLE_MASK + 1, "a role fits the ticket");
    for (u32 role = 0; role < FP_NR_ROLES; ++role) {
        u64 slice = ticket_slice(6 * kMs, role, kMs);
        EXPECT_EQ(ticket_role(slice), role);
        EXPECT_GE(ticket_protect_ns(slice), kMs);
        EXPECT_LT(ticket_protect_ns(slice), kMs + (1u << FP_TICKET_UNIT_SHIFT));
        EXPECT_LE(slice, 6 * kMs);
        EXPECT_GT(slice, 6 * kMs - 512);
    }
    // A protection of exact units stays exact; a long one is cut at 63 units (8.3 ms).
    EXPECT_EQ(ticket_protect_ns(ticket_slice(3 * kMs, FP_ROLE_BATCH, 16u << 17)), 16u << 17);
    EXPECT_EQ(ticket_protect_ns(ticket_slice(20 * kMs, FP_ROLE_NORMAL, 50 * kMs)), 63u << 17);
    // The kernel's own refill (SCX_SLICE_DFL, 20 ms) reads as a normal task.
    EXPECT_EQ(ticket_role(20 * kMs), u32(FP_ROLE_NORMAL));
    // Never a zero slice, whatever the tunable: the kernel would keep the old one.
    EXPECT_GT(ticket_slice(100, FP_ROLE_AUDIO, 0) & ~FP_TICKET_MASK, 0u);
}

// A run started again without being queued (ops.stopping, restore_ticket) keeps its role and
// protection on whatever the kernel left of its slice: counted down, the low bits alone read as
// any role (2999995 ns left of a normal task's reads as a game thread). It moves by less than
// 512 ns, and less than 512 ns left is still a slice, not zero.
TEST(Policy, ACountedDownSliceGetsItsTicketBack) {
    const u64 ticket = ticket_slice(3 * kMs, FP_ROLE_NORMAL, kMs) & FP_TICKET_MASK;
    EXPECT_EQ(ticket_role(2'999'995), u32(FP_ROLE_GAME));
    for (u64 left : {u64{2'999'995}, u64{kMs + 7}, u64{513}, u64{511}, u64{1}}) {
        const u64 slice = slice_with_ticket(left, ticket);
        EXPECT_EQ(ticket_role(slice), u32(FP_ROLE_NORMAL)) << left;
        EXPECT_EQ(ticket_protect_ns(slice), ticket_protect_ns(ticket)) << left;
        EXPECT_GT(slice & ~FP_TICKET_MASK, 0u) << left;
        if (left > FP_TICKET_MASK)
            EXPECT_LE(slice > left ? slice - left : left - slice, FP_TICKET_MASK) << left;
        else
            EXPECT_LE(slice, FP_TICKET_MASK * 2 + 1) << left;
    }
}

// Two LLCs of one CPU each, five CPU hogs 3:2. The CPU with two (one it is putting back,
// one queued) takes from the one with three (one running, two queued); the rotation that
// follows shares the CPUs evenly. Two and two stay put; so do long queues a task apart.
TEST(Policy, ACpuTakesWorkFromAnLlcWithMoreRunnableTasksPerCpu) {
    EXPECT_TRUE(llc_busier(3, 1, 2, 1));
    EXPECT_FALSE(llc_busier(2, 1, 3, 1));
    EXPECT_FALSE(llc_busier(2, 1, 2, 1));
    EXPECT_TRUE(llc_busier(5, 2, 4, 2));  // nine hogs on two LLCs of two
    EXPECT_FALSE(llc_busier(81, 2, 79, 2));
    EXPECT_FALSE(llc_busier(9, 8, 8, 8));  // 9/8 is the margin, not past it
    EXPECT_TRUE(llc_busier(10, 8, 8, 8));
    // Per CPU, not per LLC: 6 on 4 CPUs is busier than 3 on 4, not than 3 on 2.
    EXPECT_TRUE(llc_busier(6, 4, 3, 4));
    EXPECT_FALSE(llc_busier(6, 4, 3, 2));
}

// A waker's deadline, carried to another LLC's clock, preempts there as it would at home: the
// batch task there (deadline 12 ms past that clock) gives way, a task that started with an
// interactive deadline does not, whichever way the clocks drifted, across a wrap too.
TEST(Policy, ADeadlineCarriedToAnotherLlcKeepsItsDistanceFromTheClock) {
    const u64 home = 100 * kMs, waker = home + 1 * kMs, now = 50 * kMs, protected_until = 0;
    for (u64 there : {u64(40 * kMs), u64(300 * kMs), u64(0) - 5 * kMs}) {
        u64 carried = at_other_clock(waker, home, there);
        EXPECT_EQ(carried - there, 1 * kMs);
        EXPECT_TRUE(
            wakeup_preempts(carried, FP_ROLE_BATCH, there + 12 * kMs, now, protected_until));
        EXPECT_FALSE(
            wakeup_preempts(carried, FP_ROLE_INTERACTIVE, there + 1 * kMs, now, protected_until));
    }
    // Compared raw, the drift decides: a clock 60 ms behind hides the batch task's lateness.
    EXPECT_FALSE(wakeup_preempts(waker, FP_ROLE_BATCH, 40 * kMs + 12 * kMs, now, protected_until));
}

TEST(Policy, ChargeScalesByWeight) {
    EXPECT_EQ(charge_vtime(1'000, 4 * kMs, 100), 4 * kMs + 1'000);
    EXPECT_EQ(charge_vtime(0, 4 * kMs, 200), 2 * kMs);
    EXPECT_EQ(charge_vtime(0, 4 * kMs, 1), 400 * kMs);
    EXPECT_EQ(charge_vtime(0, 4 * kMs, 0), 4 * kMs);  // a zero weight counts as nice 0
}

TEST(Policy, WakersPreemptBatchNormalAndInteractiveWorkNeverGames) {
    EXPECT_LT(preempt_rank(FP_ROLE_BATCH), preempt_rank(FP_ROLE_NORMAL));
    EXPECT_LT(preempt_rank(FP_ROLE_NORMAL), preempt_rank(FP_ROLE_INTERACTIVE));
    for (u32 role : {u32(FP_ROLE_GAME), u32(FP_ROLE_GAME_CRITICAL), u32(FP_ROLE_COMPOSITOR),
                     u32(FP_ROLE_AUDIO), u32(FP_NR_ROLES)})
        EXPECT_EQ(preempt_rank(role), u32(FP_PREEMPT_NEVER)) << role;
}

TEST(Policy, ShortCriticalWakersTakeAGameThreadsCpuOnceItRanTwiceTheirRun) {
    const u64 started = 100 * kMs;
    const u64 audio = waker_run_short_ns(FP_ROLE_AUDIO, 100'000);
    EXPECT_EQ(audio, 100'000u);
    // Only latency-critical wakers; one that never ran counts as a short run, not as none.
    EXPECT_EQ(waker_run_short_ns(FP_ROLE_GAME_CRITICAL, 0), FP_SHORT_WAKER_MIN_RUN_NS);
    EXPECT_EQ(waker_run_short_ns(FP_ROLE_COMPOSITOR, 300'000), 300'000u);
    for (u32 role :
         {u32(FP_ROLE_GAME), u32(FP_ROLE_NORMAL), u32(FP_ROLE_INTERACTIVE), u32(FP_ROLE_BATCH)})
        EXPECT_EQ(waker_run_short_ns(role, 100'000), 0u) << role;
    for (u32 role : {u32(FP_ROLE_GAME), u32(FP_ROLE_GAME_CRITICAL)}) {
        // Twice the waker's run into the game thread's run: last of all victims.
        EXPECT_EQ(victim_rank(role, started, started + 200'000, audio), u32(FP_PREEMPT_LONG_RUN));
        EXPECT_EQ(victim_rank(role, started, started + 199'999, audio), u32(FP_PREEMPT_NEVER));
        EXPECT_EQ(victim_rank(role, started, started + 5 * kMs, 0), u32(FP_PREEMPT_NEVER));
        // A start stamped on another CPU's clock, a little ahead: no run yet.
        EXPECT_EQ(victim_rank(role, started, started - 1'000, audio), u32(FP_PREEMPT_NEVER));
    }
    EXPECT_GT(u32(FP_PREEMPT_LONG_RUN), preempt_rank(FP_ROLE_INTERACTIVE));
    EXPECT_LT(u32(FP_PREEMPT_LONG_RUN), wakeup_victim_bound(FP_ROLE_AUDIO, false, false));
    // Compositors, audio servers and idle CPUs stay out of reach; other roles rank as before.
    for (u32 role : {u32(FP_ROLE_COMPOSITOR), u32(FP_ROLE_AUDIO), u32(FP_NR_ROLES)})
        EXPECT_EQ(victim_rank(role, started, started + 5 * kMs, audio), u32(FP_PREEMPT_NEVER));
    EXPECT_EQ(victim_rank(FP_ROLE_BATCH, started, started, audio), preempt_rank(FP_ROLE_BATCH));
    // Never by deadline: the rank by role is unchanged for deadline_outranks.
    EXPECT_FALSE(deadline_outranks(0, FP_ROLE_GAME, 100 * kMs));
}

TEST(Policy, ADisplacedGameThreadResumesWithWhatItsSliceHadLeft) {
    const u64 ticket = ticket_slice(3 * kMs, FP_ROLE_GAME, kMs);
    // The first displacement: the whole slice less the run so far, the ticket kept.
    const u64 first = resume_slice(ticket, 0, kMs);
    EXPECT_EQ(first & ~FP_TICKET_MASK, ((ticket & ~FP_TICKET_MASK) - kMs) & ~FP_TICKET_MASK);
    EXPECT_EQ(ticket_role(first), u32(FP_ROLE_GAME));
    EXPECT_EQ(ticket_protect_ns(first), ticket_protect_ns(ticket));
    // The next one counts from what was left, not from a fresh slice.
    const u64 left = first & ~FP_TICKET_MASK;
    EXPECT_EQ(resume_slice(ticket, left, kMs) & ~FP_TICKET_MASK, (left - kMs) & ~FP_TICKET_MASK);
    // Used up: none.
    EXPECT_EQ(resume_slice(ticket, left, left), 0u);
    EXPECT_EQ(resume_slice(ticket, 0, 3 * kMs), 0u);
    EXPECT_EQ(resume_slice(ticket, 0, 3 * kMs - FP_TICKET_MASK), 0u);
}

TEST(Policy, BoostedAndCriticalWakersTakeAnyNonGameCpuPeriodicOnesOnlyBatchOthersNone) {
    // The bound is exclusive: a CPU is a victim while its work ranks below it.
    for (u32 role : {u32(FP_ROLE_GAME_CRITICAL), u32(FP_ROLE_COMPOSITOR), u32(FP_ROLE_AUDIO)})
        EXPECT_EQ(wakeup_victim_bound(role, false, false), u32(FP_PREEMPT_NEVER)) << role;
    EXPECT_EQ(wakeup_victim_bound(FP_ROLE_NORMAL, true, false), u32(FP_PREEMPT_NEVER));
    EXPECT_EQ(wakeup_victim_bound(FP_ROLE_BATCH, true, true), u32(FP_PREEMPT_NEVER));
    // Periodic: batch work only (rank 0 < bound <= normal's rank).
    const u32 periodic = wakeup_victim_bound(FP_ROLE_NORMAL, false, true);
    EXPECT_GT(periodic, preempt_rank(FP_ROLE_BATCH));
    EXPECT_LE(periodic, preempt_rank(FP_ROLE_NORMAL));
    EXPECT_EQ(wakeup_victim_bound(FP_ROLE_INTERACTIVE, false, true), periodic);
    // Batch stays batch however regular; the rest take no CPU by role.
    EXPECT_EQ(wakeup_victim_bound(FP_ROLE_BATCH, false, true), 0u);
    for (u32 role :
         {u32(FP_ROLE_NORMAL), u32(FP_ROLE_INTERACTIVE), u32(FP_ROLE_GAME), u32(FP_ROLE_BATCH)})
        EXPECT_EQ(wakeup_victim_bound(role, false, false), 0u) << role;
}

TEST(Policy, APrevWhoseSliceEndedRunsOnOnlyBeforeTheWaitingHeadAndNotAfterAYield) {
    u64 head = 1'000 * kMs;
    // Nothing waits: it runs on, yielded or not.
    EXPECT_TRUE(prev_keeps_cpu(false, false, head + kMs, 0));
    EXPECT_TRUE(prev_keeps_cpu(false, true, head + kMs, 0));
    // Something waits: the earlier charged deadline keeps the CPU, a tie gives it away.
    EXPECT_TRUE(prev_keeps_cpu(true, false, head - kMs, head));
    EXPECT_FALSE(prev_keeps_cpu(true, false, head, head));
    EXPECT_FALSE(prev_keeps_cpu(true, false, head + kMs, head));
    // A spinner on sched_yield() has run little, so its deadline is early: it gives way all
    // the same.
    EXPECT_FALSE(prev_keeps_cpu(true, true, head - 100 * kMs, head));
    // Across the wrap.
    EXPECT_TRUE(prev_keeps_cpu(true, false, UINT64_MAX - kMs, 5 * kMs));
}

TEST(Policy, AYielderForfeitsTheRestOfItsSliceUnlessAheadOfTheClock) {
    u64 clock = 1'000 * kMs, slice = 3 * kMs;
    EXPECT_EQ(yield_forfeit_ns(clock - 5 * kMs, clock, 100'000, slice), slice - 100'000);
    EXPECT_EQ(yield_forfeit_ns(clock, clock, 0, slice), slice);
    // Its slice used up: nothing left to forfeit.
    EXPECT_EQ(yield_forfeit_ns(clock, clock, slice, slice), 0u);
    EXPECT_EQ(yield_forfeit_ns(clock, clock, 2 * slice, slice), 0u);
    // Already ahead of the clock (it paid for an earlier yield): nothing more.
    EXPECT_EQ(yield_forfeit_ns(clock + 1, clock, 0, slice), 0u);
    // Across the wrap.
    EXPECT_EQ(yield_forfeit_ns(UINT64_MAX - kMs, 5 * kMs, 0, slice), slice);
}

TEST(Policy, ATaskAYielderGaveWayToRunsOnlyItsProtectionWhenTheYielderIsWellBefore) {
    u64 slice = 6 * kMs, protect = kMs, hog = 1'000 * kMs + 12 * kMs;
    // A yielder whose deadline is well before the hog's: the hog runs its protection.
    EXPECT_EQ(slice_behind_yielder(slice, FP_ROLE_BATCH, hog, protect, hog - 8 * kMs), protect);
    // Within the wakeup margin, or later: the hog earned its slice.
    EXPECT_EQ(slice_behind_yielder(slice, FP_ROLE_BATCH, hog, protect, hog - kMs), slice);
    EXPECT_EQ(slice_behind_yielder(slice, FP_ROLE_BATCH, hog, protect, hog + kMs), slice);
    // Threads no waker preempts keep their slice.
    EXPECT_EQ(slice_behind_yielder(3 * kMs, FP_ROLE_GAME, hog, protect, 0), 3 * kMs);
    EXPECT_EQ(slice_behind_yielder(kMs, FP_ROLE_AUDIO, hog, protect, 0), kMs);
    // Never longer than the slice it had.
    EXPECT_EQ(slice_behind_yielder(kMs / 2, FP_ROLE_NORMAL, hog, protect, 0), kMs / 2);
    // Across the wrap.
    EXPECT_EQ(slice_behind_yielder(slice, FP_ROLE_BATCH, 5 * kMs, protect, UINT64_MAX - kMs),
              protect);
}

TEST(Policy, AWakerPreemptsOnlyWithADeadlineWellBefore) {
    // A sleeper (vtime_now - 3 ms budget + 4 ms normal offset) against a batch hog at
    // vtime_now + 12 ms that has run its protection: preempts.
    u64 now = 1'000 * kMs;
    u64 started = now - FP_WAKEUP_PREEMPT_MIN_RUN_NS, at = started + FP_WAKEUP_PREEMPT_MIN_RUN_NS;
    EXPECT_TRUE(wakeup_preempts(now + 1 * kMs, FP_ROLE_BATCH, now + 12 * kMs, now, at));
    // Peers with deadlines within the margin do not preempt each other.
    EXPECT_FALSE(wakeup_preempts(now + 1 * kMs, FP_ROLE_NORMAL, now + 2 * kMs, now, at));
    EXPECT_FALSE(wakeup_preempts(now + 1 * kMs, FP_ROLE_NORMAL,
                                 now + 1 * kMs + FP_WAKEUP_PREEMPT_MARGIN_NS, now, at));
    EXPECT_TRUE(wakeup_preempts(now + 1 * kMs, FP_ROLE_NORMAL,
                                now + 2 * kMs + FP_WAKEUP_PREEMPT_MARGIN_NS, now, at));
    // Never a game thread, whatever the deadlines; never a CPU without a framepace task.
    EXPECT_FALSE(wakeup_preempts(0, FP_ROLE_GAME, now, now, 0));
    EXPECT_FALSE(wakeup_preempts(0, FP_NR_ROLES, now, now, 0));
    // Deadlines on a wrapping clock.
    EXPECT_TRUE(wakeup_preempts(UINT64_MAX - 10 * kMs, FP_ROLE_BATCH, 5 * kMs, now, at));
    // A clock read before the running task started (another CPU wrote its start since) is
    // before its protection ends, also across the wrap.
    EXPECT_FALSE(wakeup_preempts(now + 1 * kMs, FP_ROLE_BATCH, now + 12 * kMs, started - 1, at));
    EXPECT_FALSE(wakeup_preempts(1 * kMs, FP_ROLE_BATCH, 12 * kMs, UINT64_MAX - 1, 5));
}

TEST(Policy, ATaskThatSleepsOftenRunsItsProtectionBeforeAWakerTakesItsCpu) {
    // Message passing: every waker's deadline is past the margin, but the task that has just
    // started keeps the CPU until it has run its protection.
    u64 now = 1'000 * kMs, early = now + 1 * kMs, late = now + 12 * kMs, protect = 2 * kMs;
    for (u32 role : {u32(FP_ROLE_NORMAL), u32(FP_ROLE_INTERACTIVE)}) {
        // Started at now: preemptible at now + protect.
        EXPECT_FALSE(wakeup_preempts(early, role, late, now, now + protect)) << role;
        EXPECT_FALSE(wakeup_preempts(early, role, late, now + protect - 1, now + protect)) << role;
        EXPECT_TRUE(wakeup_preempts(early, role, late, now + protect, now + protect)) << role;
    }
}

TEST(Policy, ProtectionIsTwiceATasksOwnMeanRunBetweenTheMinimumAndItsSlice) {
    const u64 slice = 3 * kMs, batch = 2 * kMs;
    // Batch work: the bound it is given, whatever its runs (a sleeper waits at most that behind
    // a hog), within its slice.
    EXPECT_EQ(wakeup_protection_ns(FP_ROLE_BATCH, 0, 6 * kMs, batch), batch);
    EXPECT_EQ(wakeup_protection_ns(FP_ROLE_BATCH, 6 * kMs, 6 * kMs, batch), batch);
    EXPECT_EQ(wakeup_protection_ns(FP_ROLE_BATCH, 0, 1 * kMs, batch), 1 * kMs);
    // Short runners get the minimum; a task of 1.2 ms runs keeps its CPU for 2.4 ms, the same
    // task twice as slow (a VM at half speed) for its whole slice. The batch bound is not theirs.
    EXPECT_EQ(wakeup_protection_ns(FP_ROLE_NORMAL, 0, slice, batch), FP_WAKEUP_PREEMPT_MIN_RUN_NS);
    EXPECT_EQ(wakeup_protection_ns(FP_ROLE_INTERACTIVE, 100'000, slice, batch),
              FP_WAKEUP_PREEMPT_MIN_RUN_NS);
    EXPECT_EQ(wakeup_protection_ns(FP_ROLE_NORMAL, 1'200'000, slice, batch), 2'400'000u);
    EXPECT_EQ(wakeup_protection_ns(FP_ROLE_NORMAL, 2'400'000, slice, batch), slice);
    // A slice shorter than the minimum bounds it too.
    EXPECT_EQ(wakeup_protection_ns(FP_ROLE_AUDIO, 0, 500'000, batch), 500'000u);
}

TEST(Policy, BatchProtectionGrowsWithTheCpusAnLlcHasAsEevdfsBaseSlice) {
    // The 2-CPU VM of the benchmark keeps 1 ms (3 ms cost cyclictest under hogs 1.76x EEVDF).
    EXPECT_EQ(batch_protection_ns(1, 1), FP_WAKEUP_PREEMPT_MIN_RUN_NS);
    EXPECT_EQ(batch_protection_ns(2, 1), FP_WAKEUP_PREEMPT_MIN_RUN_NS);
    EXPECT_EQ(batch_protection_ns(3, 1), FP_WAKEUP_PREEMPT_MIN_RUN_NS);
    EXPECT_EQ(batch_protection_ns(4, 1), 2 * kMs);
    EXPECT_EQ(batch_protection_ns(7, 1), 2 * kMs);
    EXPECT_EQ(batch_protection_ns(8, 1), 3 * kMs);
    EXPECT_EQ(batch_protection_ns(512, 1), 3 * kMs);
    // Per LLC: two LLCs of two CPUs are two CPUs each; 16 CPUs in two LLCs are eight each.
    EXPECT_EQ(batch_protection_ns(4, 2), FP_WAKEUP_PREEMPT_MIN_RUN_NS);
    EXPECT_EQ(batch_protection_ns(8, 2), 2 * kMs);
    EXPECT_EQ(batch_protection_ns(16, 2), 3 * kMs);
}

TEST(Policy, TheClockFollowsARunningTaskAtMostOneSliceAtATime) {
    const u64 clock = 1'000 * kMs, slice = 3 * kMs;
    // A task behind the clock leaves it; one ahead within a slice takes it along.
    EXPECT_EQ(advanced_clock(clock, clock - 2 * kMs, slice), clock);
    EXPECT_EQ(advanced_clock(clock, clock + 2 * kMs, slice), clock + 2 * kMs);
    // A nice-19 task 40 ms ahead (lag_limit_ns) moves it one slice, not 40 ms.
    EXPECT_EQ(advanced_clock(clock, clock + 40 * kMs, slice), clock + slice);
    // On a wrapping clock.
    EXPECT_EQ(advanced_clock(UINT64_MAX - 1 * kMs, 10 * kMs, slice), UINT64_MAX - 1 * kMs + slice);
}

TEST(Policy, TheClockNeverPassesTheFirstWaitingTask) {
    const u64 clock = 1'000 * kMs, slice = 3 * kMs;
    // Nothing waits: the task's own virtual time.
    EXPECT_EQ(clock_target(clock, clock + 2 * kMs, false, 0), clock + 2 * kMs);
    // A task waits with an earlier deadline: no further than that.
    EXPECT_EQ(clock_target(clock, clock + 2 * kMs, true, clock + 1 * kMs), clock + 1 * kMs);
    // Its deadline is later: the task's own.
    EXPECT_EQ(clock_target(clock, clock + 2 * kMs, true, clock + 5 * kMs), clock + 2 * kMs);
    // A head at or behind the clock (one that cannot run, bound to a CPU an RT task holds)
    // does not stop it: an eighth of the lead is taken.
    EXPECT_EQ(clock_target(clock, clock + 8 * kMs, true, clock - 4 * kMs), clock + 1 * kMs);
    // Traced load: a chain of children, each starting at the clock and running 2.6 ms ahead,
    // 950 times, with a CPU hog's deadline at the head that nobody dispatches meanwhile:
    // an eighth of each lead, not 2.5 s.
    u64 moved = clock;
    for (int i = 0; i < 950; i++)
        moved = advanced_clock(moved, clock_target(moved, moved + 2'600'000, true, clock), slice);
    EXPECT_EQ(moved - clock, 950u * 325'000);
}

TEST(Policy, PeriodicWakeupsMarkAGameThreadNoRuleNames) {
    fp_tunables t{};
    t.critical_run_ns = FP_CRITICAL_RUN_NS_DEFAULT;
    t.critical_wake_ns = FP_CRITICAL_WAKE_NS_DEFAULT;
    const u64 regular = 500'000;
    // Measured in the benchmark VM: an undetected game's render (1.17 ms every 8.2 ms), logic
    // (1.72 ms every 16.6 ms) and audio (0.26 ms every 2.6 ms) threads.
    EXPECT_TRUE(periodic_wakeups(1'166'764, 8'180'386, regular, &t));
    EXPECT_TRUE(periodic_wakeups(1'723'658, 16'606'255, regular, &t));
    EXPECT_TRUE(periodic_wakeups(264'556, 2'621'592, regular, &t));
    // Busy more than a quarter of the time, runs too long, wakes too rarely, or never seen
    // to wake (a new task's averages): not periodic.
    EXPECT_FALSE(periodic_wakeups(1'000'000, 3'000'000, regular, &t));
    EXPECT_FALSE(periodic_wakeups(t.critical_run_ns, 40 * kMs, regular, &t));
    EXPECT_FALSE(periodic_wakeups(1 * kMs, t.critical_wake_ns, regular, &t));
    EXPECT_FALSE(periodic_wakeups(0, FP_BEHAVIOUR_NS_MAX, FP_BEHAVIOUR_NS_MAX, &t));
    // Frequent but irregular (bursts of messages: intervals stray by about 3/4 of their mean,
    // as an exponential distribution's do): not periodic.
    EXPECT_FALSE(periodic_wakeups(100'000, 4 * kMs, 3 * kMs, &t));
    EXPECT_FALSE(periodic_wakeups(100'000, 4 * kMs, 2 * kMs, &t));
    EXPECT_TRUE(periodic_wakeups(100'000, 4 * kMs, 2 * kMs - 1, &t));
}

TEST(Policy, PeriodicThreadsQueueAndRunWithTheGameCriticalDeadlineBatchNever) {
    fp_tunables t{};
    const u64 offsets[FP_NR_ROLES] = FP_ROLE_DEADLINE_NS_DEFAULTS;
    std::copy(std::begin(offsets), std::end(offsets), t.role_deadline_ns);
    EXPECT_EQ(deadline_role(FP_ROLE_NORMAL, true, &t), u32(FP_ROLE_GAME_CRITICAL));
    EXPECT_EQ(deadline_role(FP_ROLE_GAME, true, &t), u32(FP_ROLE_GAME_CRITICAL));
    EXPECT_EQ(deadline_role(FP_ROLE_NORMAL, false, &t), u32(FP_ROLE_NORMAL));
    EXPECT_EQ(deadline_role(FP_ROLE_BATCH, true, &t), u32(FP_ROLE_BATCH));
    // A role whose own offset is as early keeps it (audio, compositor: 0 like game-critical).
    EXPECT_EQ(deadline_role(FP_ROLE_AUDIO, true, &t), u32(FP_ROLE_AUDIO));
    // Tuned: an interactive offset below game-critical's is not made later by periodicity.
    t.role_deadline_ns[FP_ROLE_GAME_CRITICAL] = 2 * kMs;
    t.role_deadline_ns[FP_ROLE_INTERACTIVE] = 1 * kMs;
    EXPECT_EQ(deadline_role(FP_ROLE_INTERACTIVE, true, &t), u32(FP_ROLE_INTERACTIVE));
    EXPECT_EQ(deadline_role(FP_NR_ROLES, true, &t), u32(FP_ROLE_GAME_CRITICAL));  // as normal
}

// What enqueue's periodic preemption asks: the same rule as the deadline's, batch excluded.
TEST(Policy, BatchWorkNeverActsPeriodic) {
    EXPECT_TRUE(acts_periodic(FP_ROLE_NORMAL, true));
    EXPECT_TRUE(acts_periodic(FP_ROLE_INTERACTIVE, true));
    EXPECT_FALSE(acts_periodic(FP_ROLE_NORMAL, false));
    EXPECT_FALSE(acts_periodic(FP_ROLE_BATCH, true));
}

TEST(Policy, OnlyUsedUpSlicesCountAsBatchEvidence) {
    const u64 slice = 6 * kMs;
    // A hog that uses its slices up turns batch; one that sleeps does not.
    u64 hog = 0, sleeper = 100;
    for (int i = 0; i < 20; i++) {
        hog = runnable_share(hog, true, slice, slice);
        sleeper = runnable_share(sleeper, false, 100'000, slice);
    }
    EXPECT_GE(hog, FP_BATCH_RUNNABLE_PCT_DEFAULT);
    EXPECT_EQ(sleeper, 0u);
    // Preempted early while runnable: no evidence either way.
    EXPECT_EQ(runnable_share(40, true, slice / 2 - 1, slice), 40u);
    EXPECT_EQ(runnable_share(40, true, slice / 2, slice), 55u);
}

TEST(Policy, TheUtilisationSamplerSlowsDownOnlyWhenEveryCpuWasIdle) {
    EXPECT_EQ(util_sample_period_ns(0), 80 * kMs);
    EXPECT_EQ(util_sample_period_ns(1), 10 * kMs);
    EXPECT_EQ(util_sample_period_ns(100), 10 * kMs);
}

// The highest shared_util_pct a user may set is one the sampler reaches on a machine whose
// CPUs are all busy: above it, per-CPU queues would stay with every CPU busy.
TEST(Policy, ABusyMachinesUtilisationReachesTheHighestSharedThreshold) {
    u64 util = 0;
    for (int sample = 0; sample < 30; sample++)
        util = ewma(util, 100);
    EXPECT_GE(util, FP_SHARED_UTIL_PCT_MAX);
    EXPECT_LT(util, 100u);
}

TEST(Policy, AStealMarksAnEmptyQueueOnlyOnceItsLastInsertHasLanded) {
    constexpr u64 kUs = 1000;
    const u64 inserted_at = 5'000 * kMs;
    const u32 stamp = queue_stamp(inserted_at);

    // The insert of ops.enqueue lands after its stamp: a steal right after it leaves no mark.
    EXPECT_FALSE(empty_queue_markable(stamp, inserted_at));
    EXPECT_FALSE(empty_queue_markable(stamp, inserted_at + 100 * kUs));
    // A stamp of another CPU whose clock reads ahead counts as recent.
    EXPECT_FALSE(empty_queue_markable(stamp, inserted_at - 50 * kUs));
    EXPECT_TRUE(empty_queue_markable(stamp, inserted_at + FP_INSERT_LANDS_NS + 2 * kUs));
    EXPECT_TRUE(empty_queue_markable(stamp, inserted_at + 30'000 * kMs));
    // A queue unused for longer than half the stamp's wrap (36 min) is not taken for recent.
    EXPECT_TRUE(empty_queue_markable(stamp, inserted_at + 40ULL * 60'000 * kMs));
    EXPECT_TRUE(empty_queue_markable(stamp, inserted_at + 72ULL * 60'000 * kMs));
}

TEST(Policy, AQueueStampNeverReadsAsTheMarkOfAQueueNeverLookedAt) {
    EXPECT_NE(queue_stamp(0), 0u);
    EXPECT_NE(queue_stamp(u64(1) << 42), 0u);  // the 32-bit stamp wraps to zero here
    // Stamps of inserts a few microseconds apart differ, so a mark on one skips only it.
    EXPECT_NE(queue_stamp(1'000'000), queue_stamp(1'004'096));
}

TEST(Policy, ForksAvoidCpusWhereLatencyThreadsStartedLately) {
    const u64 now = 7'000 * kMs;
    EXPECT_TRUE(marks_latency_cpu(FP_ROLE_GAME));
    EXPECT_TRUE(marks_latency_cpu(FP_ROLE_GAME_CRITICAL));
    EXPECT_TRUE(marks_latency_cpu(FP_ROLE_COMPOSITOR));
    EXPECT_TRUE(marks_latency_cpu(FP_ROLE_AUDIO));
    EXPECT_FALSE(marks_latency_cpu(FP_ROLE_NORMAL));
    EXPECT_FALSE(marks_latency_cpu(FP_ROLE_INTERACTIVE));
    EXPECT_FALSE(marks_latency_cpu(FP_ROLE_BATCH));

    const u32 stamp = latency_stamp(now);
    EXPECT_NE(stamp, 0u);
    EXPECT_NE(latency_stamp(0), 0u);
    EXPECT_TRUE(latency_cpu_recent(stamp, now));
    EXPECT_TRUE(latency_cpu_recent(stamp, now + 40 * kMs));
    EXPECT_FALSE(latency_cpu_recent(stamp, now + 60 * kMs));
    // A stamp from a CPU whose clock reads a little ahead is recent.
    EXPECT_TRUE(latency_cpu_recent(stamp, now - 5 * kMs));
    // A CPU no such thread ever started on; a stamp older than half the wrap (26 days).
    EXPECT_FALSE(latency_cpu_recent(0, now));
    EXPECT_FALSE(latency_cpu_recent(stamp, now + 30ULL * 24 * 3600 * 1000 * kMs));
}
