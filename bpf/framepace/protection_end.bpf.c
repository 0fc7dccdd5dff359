/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A waker whose deadline would preempt a running task but for that task's protection (it has
 * just started: wakeup_preempts, policy.h) preempts it when the protection ends, not when its
 * slice does. The waker waits in a queue, and nothing else looks at the running task again
 * before its slice ends or the next tick: traced under the benchmark's load (2 vCPUs, 2 CPU
 * hogs each and a fork loop), 6 % of cyclictest's wakeups came while the hogs' 1 ms protection
 * ran and waited p50 2.5 ms, up to 7 ms, for the rest of a 6 ms batch slice.
 *
 * One BPF timer per CPU, armed for the end of the protection of the task running there. Only
 * for wakeups that were not synchronous: a task woken by a pipe or socket write waits for its
 * waker, which sleeps soon, and kicks on every message would undo what the protection is for
 * (FP_WAKEUP_PREEMPT_MIN_RUN_NS).
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

struct protection_end {
	struct bpf_timer timer;
	u64 until;    /* the preemptible_at of the task it was armed for */
	u64 deadline; /* the earliest deadline waiting for that task's protection to end */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FP_MAX_CPUS);
	__type(key, u32);
	__type(value, struct protection_end);
} protection_ends SEC(".maps");

/* Whether a task still waits where cpu dispatches from: its LLC's shared queue (as last seen:
 * note_shared_head) or its own. */
static __always_inline bool waits_for(s32 cpu)
{
	return llc_clock_of(llc_of(cpu))->head_waits ||
	       ((u32)cpu < FP_MAX_CPUS && scx_bpf_dsq_nr_queued(FP_CPU_DSQ(cpu)) > 0);
}

/*
 * The protection of the task on *key's CPU ended: it gives way if it is still the task armed
 * for (a task started since has its own protection, and the waiter may be running already),
 * an RT task does not hold the CPU, and a task still waits.
 */
static int protection_ended(void *map, int *key, struct protection_end *pe)
{
	s32 cpu = *key;
	struct fp_cpu_state *cs = cpu_state_of(cpu);

	if (!cs || cs->released || cs->preemptible_at != pe->until)
		return 0;
	if (!deadline_outranks(pe->deadline, cs->role, cs->deadline) || !waits_for(cpu))
		return 0;
	scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
	count(FP_CNT_PROTECTION_PREEMPTS);
	return 0;
}

/* Whether a waker with this deadline would take the CPU of cs but for the protection of the
 * task running there (wakeup_preempts, policy.h). */
static __always_inline bool protected_from(const struct fp_cpu_state *cs, u64 deadline, u64 now)
{
	return !cs->released && time_before(now, cs->preemptible_at) &&
	       deadline_outranks(deadline, cs->role, cs->deadline);
}

/*
 * A waker with this deadline waits for the protection of the task running on the CPU of cs
 * to end (protected_from): the CPU's timer fires then. Armed once per running task; a second waker with an
 * earlier deadline only lowers the deadline it is checked against.
 */
static __always_inline void preempt_at_protection_end(s32 cpu, const struct fp_cpu_state *cs,
                                                      u64 deadline, u64 now)
{
	u64 until = cs->preemptible_at;
	struct protection_end *pe;
	u32 key = cpu;

	pe = bpf_map_lookup_elem(&protection_ends, &key);
	if (!pe)
		return;
	if (pe->until == until) {
		if (time_before(deadline, pe->deadline))
			pe->deadline = deadline;
		return;
	}
	pe->until = until;
	pe->deadline = deadline;
	bpf_timer_start(&pe->timer, until - now, 0);
}

/* Every CPU's timer, from ops.init: set up once, then armed as often as needed. */
static s32 init_protection_ends(void)
{
	struct protection_end *pe;
	s32 err;
	u32 cpu;

	bpf_for(cpu, 0, nr_cpu_queues())
	{
		pe = bpf_map_lookup_elem(&protection_ends, &cpu);
		if (!pe)
			return -ENOENT;
		err = bpf_timer_init(&pe->timer, &protection_ends, CLOCK_MONOTONIC);
		if (err)
			return err;
		err = bpf_timer_set_callback(&pe->timer, protection_ended);
		if (err)
			return err;
	}
	return 0;
}

/* From ops.exit: no kick after the scheduler is gone. */
static void cancel_protection_ends(void)
{
	struct protection_end *pe;
	u32 cpu;

	bpf_for(cpu, 0, nr_cpu_queues())
	{
		pe = bpf_map_lookup_elem(&protection_ends, &cpu);
		if (pe)
			bpf_timer_cancel(&pe->timer);
	}
}
