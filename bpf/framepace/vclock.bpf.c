/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Virtual time: each LLC's clock, and a task's place against it.
 *
 * Each LLC's virtual clock (struct fp_llc_clock, in cpu_slots.bpf.c's slots) is where the tasks
 * that run there are in virtual time (advanced_clock). Per LLC because each LLC has its own
 * queue: with one clock for all, an LLC running fewer tasks per CPU drove it ahead, every task
 * waking in a busier LLC entered behind that LLC's CPU hogs, and waited until they caught up,
 * which they never did (a kworker 5 s, the watchdog's; khugepaged 21 s inside an RCU read
 * section: both ejections, on a two-LLC VM). Updated without atomics from any CPU that accounts
 * a run there (wakers in other LLCs too): a lost update only lets a task start a little ahead
 * or behind, and the next run accounted there corrects it.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/* The virtual clock of an LLC. */
static __always_inline u64 *vtime_now_of(u32 llc)
{
	return &llc_clock_of(llc)->vtime_now;
}

/*
 * The first deadline waiting in the LLC's shared queue, for the clock's advance
 * (clock_target), kept next to the clock instead of read from the queue as each run ends: a
 * look-up of the queue by id (scx_bpf_dsq_peek), which under TCG cost about as much as the
 * rest of ops.stopping. Every dispatch in the LLC writes what it saw there, every insert an
 * earlier deadline. A task dispatched since leaves its deadline behind, earlier than the
 * queue's head now, and the clock advances less for it; an insert racing a dispatch's write
 * may be missed until the next dispatch.
 */
static __always_inline void note_shared_head(u32 llc, bool waiting, u64 deadline)
{
	struct fp_llc_clock *c = llc_clock_of(llc);

	/* Written only when it changed: every CPU of the LLC dispatches, and the line is the
	 * clock's, which they all read. */
	if (c->head_waits != waiting)
		c->head_waits = waiting;
	if (waiting && c->head_deadline != deadline)
		c->head_deadline = deadline;
}

static __always_inline void note_shared_insert(u32 llc, u64 deadline)
{
	struct fp_llc_clock *c = llc_clock_of(llc);

	if (!c->head_waits || time_before(deadline, c->head_deadline))
		note_shared_head(llc, true, deadline);
}

/*
 * The clock follows the tasks that ran ahead of it (advanced_clock), each from the virtual
 * time it ran from (task_vtime, not yet charged for the run), up to the first deadline
 * waiting in its queue (note_shared_head).
 */
static __always_inline void follow_clock(u32 llc, u64 task_vtime, u64 slice_ns)
{
	struct fp_llc_clock *c = llc_clock_of(llc);
	u64 clock = c->vtime_now;

	if (!time_before(clock, task_vtime))
		return;
	c->vtime_now = advanced_clock(
	        clock, clock_target(clock, task_vtime, c->head_waits, c->head_deadline), slice_ns);
}

/*
 * Moves a task's virtual time to the clock of the LLC it is queued or runs in, keeping its
 * distance from the clock (as CFS moves vruntime between runqueues): a task that changed LLC
 * is neither far ahead of the new LLC's tasks nor far behind them. Returns that clock.
 */
static __always_inline u64 *task_vtime_in(struct task_ctx *tctx, u32 llc)
{
	u64 *now = vtime_now_of(llc);

	if (tctx->vtime_llc != llc) {
		tctx->vtime = at_other_clock(tctx->vtime, *vtime_now_of(tctx->vtime_llc), *now);
		tctx->vtime_llc = llc;
	}
	return now;
}

/*
 * prev's deadline charged for its run so far, as it would be queued again now, against the
 * clock of the LLC it runs in. Its virtual time is moved there first: a task that dispatch took
 * from another LLC (a balance or a steal) is moved only as its run is accounted (as it is next
 * queued), and dispatch decides whether it keeps the CPU before that. Measured against the
 * other LLC's clock, its deadline was off by the distance between the two clocks: after hogs
 * pinned to one LLC had moved the clocks apart, a task taken from the LLC whose clock was
 * behind kept its new CPU slice after slice while the others waited (nine hogs on two LLCs got
 * 0.61-0.82 of each other's CPU time instead of 0.92-0.95, and a kworker bound to one CPU
 * waited 5 s there: an ejection).
 */
static __always_inline u64 charged_deadline(struct task_struct *prev, struct task_ctx *tctx,
                                            u32 role, const struct fp_tunables *t)
{
	u64 vtime;

	task_vtime_in(tctx, llc_of(task_cpu(prev)));
	vtime = charge_vtime(tctx->vtime, run_used_ns(prev, tctx), charge_weight(prev, tctx, t));
	return role_deadline(vtime, role, t);
}

/* A new or newly enabled task starts at the clock of its CPU's LLC. */
static __always_inline void start_at_clock(struct task_struct *p, struct task_ctx *tctx)
{
	tctx->vtime_llc = llc_of(task_cpu(p));
	tctx->vtime = *vtime_now_of(tctx->vtime_llc);
}

static __always_inline void count_clamp(u32 clamped)
{
	if (clamped == FP_CLAMP_SLEEP)
		count(FP_CNT_SLEEP_CLAMPED);
	else if (clamped == FP_CLAMP_LAG)
		count(FP_CNT_LAG_CLAMPED);
}

/*
 * How long tctx's task slept before the wakeup being placed, once (0 after, and 0 when it is
 * not a wakeup): enqueue_vtime moves it back by that much. The clock is read only when the
 * task is ahead of the bound a sleep can take it to, which a task that slept long is not.
 */
static __always_inline u64 sleep_to_place(struct task_ctx *tctx, u64 vtime_now, bool waking,
                                          u64 *now, const struct fp_tunables *t)
{
	u64 slept_at = tctx->slept_at;

	if (!waking || !slept_at)
		return 0;
	tctx->slept_at = 0;
	if (time_before(tctx->vtime, vtime_now - t->sleep_budget_ns))
		return 0;
	return time_since(clock_once(now), slept_at);
}

/*
 * tctx's virtual time as its task is queued or put on a CPU, against clock vtime_now: within
 * enqueue_vtime's bounds (a woken sleeper's applied once, as it wakes), kept, and counted when
 * one applied.
 */
static __always_inline u64 bounded_vtime(struct task_ctx *tctx, u64 vtime_now, bool waking,
                                         u64 *now, const struct fp_tunables *t)
{
	u32 clamped;
	u64 vtime =
	        enqueue_vtime(tctx->vtime, vtime_now, t->sleep_budget_ns, t->lag_limit_ns,
	                      sleep_to_place(tctx, vtime_now, waking, now, t), waking, &clamped);

	if (vtime != tctx->vtime)
		tctx->vtime = vtime;
	count_clamp(clamped);
	return vtime;
}

/*
 * The deadline tctx's task is queued or put on a CPU with, against clock vtime_now (that of
 * the LLC it goes to): its bounded virtual time plus its role's offset, or for a boosted task
 * the front (task_deadline).
 */
static __always_inline u64 queued_deadline(struct task_ctx *tctx, u64 vtime_now, bool waking,
                                           bool boost, u64 *now, const struct fp_tunables *t)
{
	u64 vtime = bounded_vtime(tctx, vtime_now, waking, now, t);

	return task_deadline(vtime, vtime_now, task_deadline_role(tctx, t), boost, t);
}
