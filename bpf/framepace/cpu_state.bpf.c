/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What each CPU runs (role, deadline, protection window), for wakers deciding whether to
 * preempt it and for steals deciding whether to look in its queue. Where the state lives:
 * cpu_slots.bpf.c.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/* How many CPUs a waking task looks at for work to preempt. */
#define FP_PREEMPT_SCAN_MAX 64

/* Whether a framepace task runs on the CPU of cs: not between tasks (stopping cleared its
 * role), not held by an RT task, not past FP_MAX_CPUS (cs NULL). */
static __always_inline bool runs_framepace_task(const struct fp_cpu_state *cs)
{
	return cs && cs->role < FP_NR_ROLES && !cs->released;
}

/*
 * The role of the task running on the CPU of cs, as its ticket said at ops.running; FP_NR_ROLES
 * while none runs. Not cs->role, which a waker that claims the CPU (claim_cpu) sets to its own
 * role while the task it displaces still runs, until the kernel switches them.
 */
static __always_inline u32 running_role(const struct fp_cpu_state *cs)
{
	return cs->role < FP_NR_ROLES ? ticket_role(cs->run_ticket) : FP_NR_ROLES;
}

/* What wakers weigh up on the CPU of cs, which now runs a task of this role and deadline
 * that they leave be for protect_ns from now. */
static __always_inline void occupy_cpu(struct fp_cpu_state *cs, u32 role, u64 deadline,
                                       u64 protect_ns, u64 now)
{
	cs->role = role;
	cs->deadline = deadline;
	cs->preemptible_at = now + protect_ns;
}

/* The task that stops on cpu yielded, gave way and waits, with this deadline now. */
static __always_inline void note_yielder(s32 cpu, u64 deadline)
{
	struct fp_cpu_state *cs = cpu_state_of(cpu);

	if (!cs)
		return;
	cs->yielder_deadline = deadline;
	cs->yielder_waits = 1;
}

/*
 * A task that yielded gave this CPU away and waits (ops.stopping noted it): the task that now
 * starts here, with this role and deadline, runs only its protection if the yielder's
 * deadline would preempt it (slice_behind_yielder, policy.h).
 */
static __always_inline void cut_slice_for_yielder(struct fp_cpu_state *cs, struct task_struct *p,
                                                  u32 role, u64 deadline, u64 protect)
{
	if (!cs->yielder_waits)
		return;
	cs->yielder_waits = 0;
	p->scx.slice =
	        slice_behind_yielder(p->scx.slice, role, deadline, protect, cs->yielder_deadline);
}

/*
 * A task in another LLC's queue to cpu's local queue: its deadline (p->scx.dsq_vtime, which
 * ops.running reads) is on that LLC's clock, and ops.running carries it to cpu's.
 */
static __always_inline bool move_to_local_from(s32 cpu, u64 dsq_id, u32 from_llc)
{
	struct fp_cpu_state *cs;

	if (!fp_dsq_move_to_local(dsq_id))
		return false;
	cs = cpu_state_of(cpu);
	if (nr_llcs > 1 && cs && from_llc != llc_of(cpu))
		cs->moved_from_llc = from_llc + 1;
	return true;
}

/* As a task is put in cpu's own queue: steals look there again (empty_queue_markable). Of
 * wakers on several CPUs stamping at once, any one's stamp will do: each is recent. */
static __always_inline void note_own_insert(s32 cpu, u64 now)
{
	struct fp_cpu_state *cs = cpu_state_of(cpu);

	if (cs)
		*(volatile u32 *)&cs->own_inserted = queue_stamp(now);
}

/* Per-CPU state: scratch masks, and no framepace task running yet (a zeroed state would read
 * as a CPU running normal work, for wakers looking for one to preempt). */
static s32 init_cpus(void)
{
	struct cpu_scratch *s;
	struct fp_cpu_state *cs;
	u32 zero = 0;
	s32 cpu, err;

	bpf_for(cpu, 0, nr_cpu_queues())
	{
		cs = cpu_state_of(cpu);
		if (cs)
			cs->role = FP_NR_ROLES;
		s = bpf_map_lookup_percpu_elem(&scratch, &zero, cpu);
		if (!s)
			return -ENOENT;
		err = install_empty_cpumask(&s->mask);
		if (err)
			return err;
	}
	return 0;
}
