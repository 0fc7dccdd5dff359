/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What each CPU runs (role, deadline, protection window), for wakers deciding whether to
 * preempt it and for steals deciding whether to look in its queue.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/* How many CPUs a waking task looks at for work to preempt. */
#define FP_PREEMPT_SCAN_MAX 64

/*
 * What each CPU is doing, for wakers and for boosted tasks looking for batch work to preempt.
 * A global array, not a per-CPU map: any CPU's state is an address computation, where
 * bpf_map_lookup_percpu_elem is a helper call per CPU a waker looks at. One cache line each:
 * every CPU writes its own at each ops.running and ops.stopping, and a waker that takes a CPU
 * (claim_cpu) writes that CPU's.
 */
struct cpu_state {
	u32 role;             /* role of the running task; FP_NR_ROLES while none runs */
	u32 released;         /* an RT or deadline task holds the CPU (ops.cpu_release) */
	u64 deadline;         /* deadline of the running task, for wakeup preemption */
	u64 preemptible_at;   /* no waker preempts it before (its start + wakeup_protection_ns) */
	u32 own_inserts;      /* tasks ever put in the CPU's own queue (wraps) */
	u32 own_stolen_at;    /* own_inserts when a steal last took nothing from that queue */
	u32 balance_turn;     /* which other LLC balance_llcs looks at next */
	u32 yielder_waits;    /* the task that stopped last gave way on a yield and waits */
	u64 yielder_deadline; /* its deadline then, charged for the yield */
	u64 run_started;      /* fp_now_at_switch() as the running task started, for ops.stopping */
	u32 moved_from_llc;   /* 1 + the LLC whose clock the deadline of the task dispatch moved
	                       * here from another LLC is on; 0 when none was */
} __attribute__((aligned(64)));

/*
 * CPUs from FP_MAX_CPUS on have none (cpu_state_of returns NULL): they are never preemption
 * victims, never take a synchronous wakeup, do not credit the game as a waker, and are served
 * by their LLC's shared queue.
 */
static struct cpu_state cpu_states[FP_MAX_CPUS];

/* A CPU's state by id: ops.running and ops.stopping may be called from another CPU than the
 * task's (a remote sched_setaffinity or renice puts the running task and sets it again). */
static __always_inline struct cpu_state *cpu_state_of(s32 cpu)
{
	if ((u32)cpu >= FP_MAX_CPUS)
		return NULL;
	return &cpu_states[bounded_index(cpu)];
}

static __always_inline struct cpu_state *this_cpu_state(void)
{
	return cpu_state_of(bpf_get_smp_processor_id());
}

/* Whether a framepace task runs on the CPU of cs: not between tasks (stopping cleared its
 * role), not held by an RT task, not past FP_MAX_CPUS (cs NULL). */
static __always_inline bool runs_framepace_task(const struct cpu_state *cs)
{
	return cs && cs->role < FP_NR_ROLES && !cs->released;
}

/* What wakers weigh up on the CPU of cs, which now runs a task of this role and deadline
 * that they leave be for protect_ns from now. */
static __always_inline void occupy_cpu(struct cpu_state *cs, u32 role, u64 deadline, u64 protect_ns,
                                       u64 now)
{
	cs->role = role;
	cs->deadline = deadline;
	cs->preemptible_at = now + protect_ns;
}

/* The task that stops on cpu yielded, gave way and waits, with this deadline now. */
static __always_inline void note_yielder(s32 cpu, u64 deadline)
{
	struct cpu_state *cs = cpu_state_of(cpu);

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
static __always_inline void cut_slice_for_yielder(struct cpu_state *cs, struct task_struct *p,
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
	struct cpu_state *cs;

	if (!fp_dsq_move_to_local(dsq_id))
		return false;
	cs = cpu_state_of(cpu);
	if (nr_llcs > 1 && cs && from_llc != llc_of(cpu))
		cs->moved_from_llc = from_llc + 1;
	return true;
}

/* After a task was put in cpu's own queue: steals look there again (steal_from_cpu_queue).
 * Wakers on several CPUs may put tasks there at once, hence the atomic. */
static __always_inline void note_own_insert(s32 cpu)
{
	struct cpu_state *cs = cpu_state_of(cpu);

	if (cs)
		__sync_fetch_and_add(&cs->own_inserts, 1);
}

/* Per-CPU state: scratch masks, and no framepace task running yet (a zeroed state would read
 * as a CPU running normal work, for wakers looking for one to preempt). */
static s32 init_cpus(void)
{
	struct cpu_scratch *s;
	struct cpu_state *cs;
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
