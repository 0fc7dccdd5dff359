/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The scheduler as it ships (bpf/framepace.bpf.c, included whole) plus SEC("syscall")
 * programs that run its own inlined helpers through BPF_PROG_TEST_RUN: the host kernel has
 * no sched_ext, but it runs these. Built into framepace_test.skel.h for the host tests, the
 * event ring benchmark and the VM probe; never shipped.
 *
 * Nothing here may define a global variable or constant: the VM probe loads fp_test_boost
 * onto the running scheduler's maps, .bss and .rodata included, so this object's data
 * sections must be the shipped object's, byte for byte (the host tests check their sizes).
 */
#include "framepace.bpf.c"
#include "test_abi.h"

SEC("syscall")
int fp_test_vtime(struct fp_vtime_probe *probe)
{
	u32 clamped;

	probe->enqueue_vtime =
	        enqueue_vtime(probe->task_vtime, probe->vtime_now, probe->budget_ns,
	                      probe->lag_limit_ns, probe->slept_ns, probe->waking, &clamped);
	probe->clamped = clamped;
	probe->charged_vtime = charge_vtime(probe->task_vtime, probe->used_ns, probe->weight);
	return 0;
}

SEC("syscall")
int fp_test_clock(struct fp_clock_probe *probe)
{
	probe->now_ns = fp_now();
	return 0;
}

SEC("syscall")
int fp_test_tunables(struct fp_tunables *out)
{
	*out = *current_tunables();
	return 0;
}

SEC("syscall")
int fp_test_role(struct fp_role_probe *probe)
{
	probe->role = classify_role(probe->class_id, probe->role_now, probe->weight,
	                            probe->avg_run_ns, probe->avg_wake_ns, probe->runnable_pct,
	                            probe->game_wakeup_age_ns, current_tunables());
	return 0;
}

SEC("syscall")
int fp_test_deadline(struct fp_deadline_probe *probe)
{
	probe->deadline = task_deadline(probe->vtime, probe->vtime_now, probe->role, probe->boosted,
	                                current_tunables());
	return 0;
}

struct fill_ctx {
	u32 ring;
	u32 failed;
};

static long fill_one(u32 index, void *data)
{
	struct fill_ctx *fill = data;
	struct fp_event *ev = event_reserve_in(fill->ring, FP_FILL_EVENT);

	if (!ev) {
		fill->failed++;
		return 0;
	}
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
	return 0;
}

/* Fills one ring through the scheduler's own reserve path; reports the failed reserves. */
SEC("syscall")
int fp_test_fill_ring(struct fp_fill_probe *probe)
{
	struct fill_ctx fill = {.ring = probe->ring};

	bpf_loop(probe->count, fill_one, &fill, 0);
	probe->failed = fill.failed;
	return 0;
}

/*
 * Asks for a boost window exactly as the input hook does. Returns 1 if the window opened.
 * Run by the host tests, and by tests/vm's framepace-vm-probe on the running scheduler's
 * maps (tests/bpf/test_object.h).
 */
SEC("syscall")
int fp_test_boost(void *ctx)
{
	return open_boost_window(current_tunables());
}
