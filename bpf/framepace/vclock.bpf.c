/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Virtual time: each LLC's clock, and a task's place against it.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/*
 * Each LLC's virtual clock: where the tasks that start running there are in virtual time
 * (advanced_clock). Per LLC because each LLC has its own queue: with one clock for all, an LLC running
 * fewer tasks per CPU drove it ahead, every task waking in a busier LLC entered behind that
 * LLC's CPU hogs, and waited until they caught up, which they never did (a kworker 5 s, the
 * watchdog's; khugepaged 21 s inside an RCU read section: both ejections, on a two-LLC VM).
 * Updated without atomics from the LLC's CPUs: a lost update only lets a task start a little
 * ahead or behind, and the next ops.running corrects it. A cache line each: every
 * ops.running may write its LLC's, and the globals around are read by every callback.
 */
struct llc_clock {
	u64 vtime_now;
} __attribute__((aligned(64)));

static struct llc_clock llc_clocks[FP_MAX_CPUS];

/* The virtual clock of an LLC. */
static __always_inline u64 *vtime_now_of(u32 llc)
{
	return &llc_clocks[bounded_index(llc)].vtime_now;
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
