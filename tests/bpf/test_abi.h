/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The arguments of the test programs (framepace_test.bpf.c), which the tests pass through
 * BPF_PROG_TEST_RUN as the program's context. Plain C in framepace_shared.h's fixed-width
 * types, for clang -target bpf and g++ alike; include it after that header.
 */
#ifndef FRAMEPACE_TEST_ABI_H
#define FRAMEPACE_TEST_ABI_H

/*
 * The event type fp_test_fill_ring writes: exit, a real type without payload, so that the
 * daemon's decoder takes every record (the consumer tests count what it decodes). The
 * daemon knows no test-only event type.
 */
#define FP_FILL_EVENT FP_EV_EXIT

/* fp_test_fill_ring: fills one ring through the scheduler's own reserve path. */
struct fp_fill_probe {
	fp_u32 ring;   /* in: ring to fill */
	fp_u32 count;  /* in: reserves to attempt (at most 65536) */
	fp_u32 failed; /* out: reserves that failed */
	fp_u32 pad;
};

/* fp_test_vtime: enqueue_vtime and charge_vtime of policy.h. */
struct fp_vtime_probe {
	fp_u64 vtime_now;    /* in: the queue's current virtual time */
	fp_u64 task_vtime;   /* in: the task's saved virtual time */
	fp_u64 budget_ns;    /* in: sleep budget */
	fp_u64 lag_limit_ns; /* in: most a task may be ahead */
	fp_u64 used_ns;      /* in: runtime to charge */
	fp_u32 weight;       /* in: task weight (100 = nice 0) */
	fp_u32 waking;       /* in: the task is waking up */
	fp_u32 clamped;      /* out: FP_CLAMP_* */
	fp_u32 pad;
	fp_u64 enqueue_vtime; /* out: vtime the task is queued with */
	fp_u64 charged_vtime; /* out: task vtime after charging used_ns */
	fp_u64 slept_ns;      /* in: how long the waking task slept */
};

/* fp_test_role: the classification the scheduler applies, with its current tunables. */
struct fp_role_probe {
	fp_u32 class_id;           /* in */
	fp_u32 weight;             /* in: sched_ext weight, 100 = nice 0 */
	fp_u64 avg_run_ns;         /* in */
	fp_u64 avg_wake_ns;        /* in */
	fp_u64 runnable_pct;       /* in: share of its stops at which it was still runnable */
	fp_u64 game_wakeup_age_ns; /* in: time since a game thread last woke it */
	fp_u32 role;               /* out */
	fp_u32 role_now;           /* in: the role it has (the bound to stay game-critical) */
};

/* fp_test_clock: the scheduler's clock (fp_now), which the boost window's end is on. */
struct fp_clock_probe {
	fp_u64 now_ns; /* out */
};

/* fp_test_deadline: task_deadline of policy.h, with the current tunables. */
struct fp_deadline_probe {
	fp_u64 vtime;     /* in: the task's (clamped) virtual time */
	fp_u64 vtime_now; /* in */
	fp_u32 role;      /* in */
	fp_u32 boosted;   /* in */
	fp_u64 deadline;  /* out */
};

#endif /* FRAMEPACE_TEST_ABI_H */
