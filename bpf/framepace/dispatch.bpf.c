/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ops.dispatch: what a CPU runs next (stranded tasks, prev if it still deserves the CPU, the
 * earlier of its own and its LLC's queue heads, other CPUs' queues, other LLCs'); ops.yield,
 * which makes prev give way.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/* prev runs on with a new slice: wakers now compare against its charged deadline, which
 * prev->scx.dsq_vtime says too (displaced_by_short_waker compares them), and a yield it made
 * is over (ops.stopping need not account its run). */
static __always_inline void renew_slice(struct task_struct *prev, s32 cpu, u32 role, u64 deadline,
                                        const struct fp_tunables *t)
{
	struct fp_cpu_state *cs = cpu_state_of(cpu);

	prev->scx.slice = t->role_slice_ns[role];
	prev->scx.dsq_vtime = deadline;
	if (cs) {
		cs->deadline = deadline;
		cs->yield_in_run = 0;
	}
}

/*
 * ops.dispatch runs when prev's slice is over but before prev is queued again, so without
 * this check the best waiting task always replaces it and weights (nice < 0, games) would
 * only order the waiters, not share the CPU. prev runs on with a new slice as prev_keeps_cpu
 * (policy.h) says. With waiting false nothing else can run here: prev runs on with its own
 * role's slice, where the kernel would refill it with SCX_SLICE_DFL (20 ms) and a task queued
 * behind it meanwhile would wait that long.
 */
static __always_inline bool prev_runs_on(struct task_struct *prev, s32 cpu, bool waiting, u64 head)
{
	const struct fp_tunables *t = current_tunables();
	struct task_ctx *tctx = lookup_task_ctx(prev);
	u64 deadline;
	u32 role;

	if (!tctx) {
		if (!waiting)
			prev->scx.slice = t->role_slice_ns[FP_ROLE_NORMAL];
		return false;
	}
	role = role_index(tctx->role);
	deadline = charged_deadline(prev, tctx, task_deadline_role(tctx, t), t);
	if (!prev_keeps_cpu(waiting, tctx->yielded, deadline, head))
		return false;
	/* It keeps the CPU: a yield with nothing else to run forfeits nothing (account_run). */
	tctx->yielded = 0;
	tctx->slice_left_ns = 0;
	renew_slice(prev, cpu, role, deadline, t);
	if (waiting)
		count(FP_CNT_KEEP_PREV);
	return true;
}

/*
 * The head of another CPU's own queue, the nearest id first: of a CPU in cpu's LLC (same_llc)
 * or of one elsewhere. With one LLC the first pass covers every queue.
 *
 * Every CPU that goes idle runs this over every other CPU, and each try is a look-up of the
 * queue by id in the kernel's hash table (traced under TCG: 0.8 us of an idle dispatch's
 * 1.3 us, on two CPUs). A queue a steal found nothing in is skipped until something is put
 * in it again: one load instead (empty_queue_markable says when a failed steal may mark it;
 * the stamp is read before the look). A wrong skip only delays a steal: the owner always
 * reads its own queue, and rescue_stranded those of held CPUs. A queue whose tasks this CPU
 * may not run (affinity) is skipped by the others too until its next insert; its owner runs
 * them.
 */
static __always_inline bool steal_from_cpu_queue(s32 cpu, u32 nr_queues, bool same_llc)
{
	u32 i, victim, inserted, llc = llc_of(cpu);
	struct fp_cpu_state *cs;
	u64 now = 0;

	bpf_for(i, 1, nr_queues)
	{
		victim = ((u32)cpu + i) % nr_queues;
		if (nr_llcs > 1 && (llc_of(victim) == llc) != same_llc)
			continue;
		cs = cpu_state_of(victim);
		if (!cs)
			continue;
		inserted = *(volatile u32 *)&cs->own_inserted;
		if (inserted == cs->own_stolen_at)
			continue;
		if (move_to_local_from(cpu, FP_CPU_DSQ(victim), llc_of(victim))) {
			count(FP_CNT_STEALS);
			return true;
		}
		if (empty_queue_markable(inserted, clock_once(&now)))
			cs->own_stolen_at = inserted;
	}
	return false;
}

/* A CPU with nothing of its own takes the head of another LLC's queue (the nearest id first). */
static __always_inline bool steal_from_other_llc(s32 cpu)
{
	u32 i, llc = llc_of(cpu), nr = nr_llc_queues();

	bpf_for(i, 1, nr)
	{
		if (move_to_local_from(cpu, FP_LLC_DSQ((llc + i) % nr), (llc + i) % nr)) {
			count(FP_CNT_LLC_STEALS);
			return true;
		}
	}
	return false;
}

/*
 * Another LLC's first waiting task, when that LLC has more runnable tasks per CPU than this
 * one (llc_busier, policy.h): one other LLC per dispatch, in turn, so that the cost stays two
 * queue counts on any machine. Only in shared mode: below it CPUs go idle and steal. Not
 * while prev is latency-critical (it would wait behind the task taken); at most once per
 * migration_interval_ns per LLC, as a task's own moves between LLCs.
 */
static __always_inline bool balance_llcs(s32 cpu, bool prev_queued, const struct fp_tunables *t)
{
	u32 llc = llc_of(cpu), nr = nr_llc_queues(), other;
	s32 waiting_there, waiting_here;
	struct llc_ctx *here, *there;
	struct fp_cpu_state *cs;
	u64 now;

	if (!shared_mode)
		return false;
	cs = cpu_state_of(cpu);
	if (!cs || (prev_queued && latency_critical(cs->role)))
		return false;
	other = (llc + 1 + cs->balance_turn++ % (nr - 1)) % nr;
	here = bpf_map_lookup_elem(&llcs, &llc);
	there = bpf_map_lookup_elem(&llcs, &other);
	if (!here || !there)
		return false;
	/* The clock before the queue counts: it is the cheaper read, and the rate limit
	 * refuses most calls. */
	now = fp_now();
	if (t->migration_interval_ns &&
	    time_since(now, here->balanced_at) < t->migration_interval_ns)
		return false;
	waiting_there = scx_bpf_dsq_nr_queued(FP_LLC_DSQ(other));
	if (waiting_there <= 0)
		return false;
	waiting_here = scx_bpf_dsq_nr_queued(FP_LLC_DSQ(llc));
	if (waiting_here < 0)
		waiting_here = 0;
	/* This LLC's other CPUs are busy (shared mode), and so are all of the other's while a
	 * task waits there: an LLC's runnable tasks are one per CPU plus its queue. */
	if (!llc_busier(there->nr_cpus + waiting_there, there->nr_cpus,
	                here->nr_cpus - 1 + prev_queued + waiting_here, here->nr_cpus))
		return false;
	if (!move_to_local_from(cpu, FP_LLC_DSQ(other), other))
		return false;
	here->balanced_at = now;
	count(FP_CNT_LLC_BALANCES);
	return true;
}

/*
 * Stranded tasks of a CPU an RT task holds first; then prev if it still deserves the CPU;
 * else the earlier head of the CPU's own queue and the shared one (both hold tasks after a
 * switch between per-CPU and shared mode, or a requeue from a CPU taken by an RT task); else
 * another CPU's queue; else prev again.
 */
void BPF_STRUCT_OPS(framepace_dispatch, s32 cpu, struct task_struct *prev)
{
	u64 own_dsq = FP_CPU_DSQ(cpu), shared_dsq = shared_dsq_of(cpu), own_head = 0,
	    shared_head = 0;
	u32 nr_queues = nr_cpu_queues();
	bool prev_queued = prev && (prev->scx.flags & SCX_TASK_QUEUED);
	bool own, shared, shared_first;
	struct fp_cpu_state *cs;

	/* Dispatching here means framepace has this CPU (again), unless it is only lent. */
	if (nr_released) {
		/* cpu, not this CPU: under core scheduling dispatch may run for a sibling. */
		cs = cpu_state_of(cpu);
		if (cs && cs->released) {
			if (rt_waits_here()) {
				/* prev ran in the lent moment: it keeps its role's slice, not the
				 * kernel's 20 ms default, if nothing else is moved here. */
				if (!run_lent(cpu) && prev_queued)
					prev_runs_on(prev, cpu, false, 0);
				return;
			}
			release_ends(cs);
		}
		if (rescue_stranded(cpu, nr_queues))
			return;
	}
	if (nr_llcs > 1 && balance_llcs(cpu, prev_queued, current_tunables()))
		return;
	own = (u32)cpu < FP_MAX_CPUS && queue_head_deadline(own_dsq, &own_head);
	shared = queue_head_deadline(shared_dsq, &shared_head);
	note_shared_head(llc_of(cpu), shared, shared_head);
	shared_first = shared && (!own || time_before(shared_head, own_head));
	if (prev_queued && (own || shared) &&
	    prev_runs_on(prev, cpu, true, shared_first ? shared_head : own_head))
		return;

	if (shared_first && fp_dsq_move_to_local(shared_dsq)) {
		count(FP_CNT_DISPATCH_SHARED);
		return;
	}
	if (own && fp_dsq_move_to_local(own_dsq)) {
		count(FP_CNT_DISPATCH_CPU);
		return;
	}
	if (shared && !shared_first && fp_dsq_move_to_local(shared_dsq)) {
		count(FP_CNT_DISPATCH_SHARED);
		return;
	}
	/* Nothing here: what waits in the LLC's other CPUs' queues (kick_idle_cpu woke this
	 * CPU for it), then other LLCs' work: their shared queues, then their CPUs' queues. */
	if (steal_from_cpu_queue(cpu, nr_queues, true))
		return;
	if (nr_llcs > 1 &&
	    (steal_from_other_llc(cpu) || steal_from_cpu_queue(cpu, nr_queues, false)))
		return;
	if (prev_queued)
		prev_runs_on(prev, cpu, false, 0);
}

/*
 * sched_yield(): the caller's slice ends now. Dispatch's prev_runs_on lets it run on only if
 * nothing else waits here; if it gave way, ops.stopping charges it the rest of its slice
 * (yield_forfeit_ns, policy.h), with the run's real length (the kernel updates it only after
 * this op). A spinner that yields runs little each time, so without both its deadline stayed
 * the earliest and threads spinning on sched_yield() for another (games' job systems;
 * Proton's SwitchToThread and Sleep(0)) kept the CPU from the very thread they waited for: a
 * requester at nice -10 spinning on a helper's answer on one CPU waited 0.64 ms at the median
 * and up to 100 ms (EEVDF 0.08 and 4). A yield with nothing else to run costs nothing, as in
 * EEVDF. A directed yield (yield_to, from KVM) is not supported, as without the op.
 */
bool BPF_STRUCT_OPS(framepace_yield, struct task_struct *from, struct task_struct *to)
{
	struct fp_cpu_state *cs = this_cpu_state();
	struct task_ctx *tctx;

	if (to)
		return false;
	from->scx.slice = 0;
	tctx = lookup_task_ctx(from);
	/* Game threads too, though no waker preempts them: a game's job system spins on
	 * sched_yield() for its own workers. Kept on the CPU while their deadline was the
	 * earliest, three game threads spinning so stretched a game worker sharing their CPU to
	 * 4.0x its CPU time (EEVDF 1.03x). What giving way costs a game's frame limiter is bounded
	 * by slice_behind_yielder instead. */
	if (tctx)
		tctx->yielded = 1;
	/* ops.stopping accounts this run (it alone can tell the next task the yielder's
	 * deadline). from runs here: this CPU's state. */
	if (cs)
		cs->yield_in_run = 1;
	return false;
}
