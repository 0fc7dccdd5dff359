/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A waker whose deadline would preempt a running task but for that task's protection (it has
 * just started: wakeup_preempts, policy.h) preempts it when the protection ends, not when its
 * slice does. The waker waits in a queue, and only a later waker looks at the running task
 * again before its slice ends: traced under the benchmark's load (2 vCPUs, 2 CPU hogs each and
 * a fork loop), 6 % of cyclictest's wakeups came while the hogs' 1 ms protection ran and
 * waited p50 2.5 ms, up to 7 ms, for the rest of a 6 ms batch slice.
 *
 * One BPF timer per CPU, armed for the end of the protection of the task running there. Only
 * for wakeups that were not synchronous: a task woken by a pipe or socket write waits for its
 * waker, which sleeps soon, and kicks on every message would undo what the protection is for
 * (FP_WAKEUP_PREEMPT_MIN_RUN_NS). Only select_cpu is told a wakeup's flags, and ops.enqueue
 * takes them once: a task woken without select_cpu (pinned to one CPU, migration-disabled, a
 * wake list) counts as not synchronous, unless select_cpu last put it straight on a CPU after
 * a synchronous wakeup (it was not queued since).
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

struct protection_end {
	struct bpf_timer timer;
	u64 until; /* the preemptible_at of the task it was armed for */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FP_MAX_CPUS);
	__type(key, u32);
	__type(value, struct protection_end);
} protection_ends SEC(".maps");

/* Whether the first task in a queue would take the CPU of cs by deadline. */
static __always_inline bool queue_head_outranks(u64 dsq_id, const struct fp_cpu_state *cs)
{
	u64 head;

	return queue_head_deadline(dsq_id, &head) &&
	       deadline_outranks(head, cs->role, cs->deadline);
}

/* Whether the first task waiting where cpu dispatches from (its LLC's shared queue, its own)
 * would take the CPU of cs by deadline. Read as the protection ends, not as the waker was
 * queued: that waker may have run elsewhere since (an idle CPU it woke, another LLC). The RCU
 * section: before 6.19 a queue's head is read with the queue's iterator, which 6.12's verifier
 * accepts only inside one here (this callback belongs to the sleepable ops.init). */
static __always_inline bool waiter_outranks(s32 cpu, const struct fp_cpu_state *cs)
{
	bool outranks;

	bpf_rcu_read_lock();
	outranks = queue_head_outranks(shared_dsq_of(cpu), cs) ||
	           ((u32)cpu < FP_MAX_CPUS && queue_head_outranks(FP_CPU_DSQ(cpu), cs));
	bpf_rcu_read_unlock();
	return outranks;
}

/*
 * The protection of the task on *key's CPU ended: it gives way if it is still the task armed
 * for (a task started since has its own protection), an RT task does not hold the CPU, and a
 * task that outranks it waits. Armed for a run whose protection has not ended yet (a waker of
 * the next run rewrote until as this timer fired, or a stalled waker's start landed late):
 * again, for the rest of it.
 */
static int protection_ended(void *map, int *key, struct protection_end *pe)
{
	s32 cpu = *key;
	struct fp_cpu_state *cs = cpu_state_of(cpu);
	u64 now = fp_now();

	if (!cs || cs->released || cs->preemptible_at != pe->until)
		return 0;
	if (time_before(now, pe->until)) {
		bpf_timer_start(&pe->timer, pe->until - now, 0);
		return 0;
	}
	if (!waiter_outranks(cpu, cs))
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
 * to end (protected_from): the CPU's timer fires then. Armed once per running task; whoever
 * waits when it fires is weighed then (waiter_outranks). A start that fails leaves the run
 * unarmed, for the next waker to try again.
 */
static __always_inline void preempt_at_protection_end(s32 cpu, const struct fp_cpu_state *cs,
                                                      u64 now)
{
	u64 until = cs->preemptible_at;
	struct protection_end *pe;
	u32 key = cpu;

	pe = bpf_map_lookup_elem(&protection_ends, &key);
	if (!pe || pe->until == until)
		return;
	pe->until = until;
	if (bpf_timer_start(&pe->timer, until - now, 0))
		pe->until = 0;
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
