/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A run's accounting: what a run that ended costs in virtual time and says about its task (its
 * wait, wake interval, run length, role), and where its LLC's clock goes. Taken as the task is
 * next queued (account_last_run: ops.select_cpu as it wakes, ops.enqueue otherwise), where its
 * context is looked up anyway, not as it stops: ops.stopping then needs no task-storage look-up,
 * the larger part of its cost under TCG (docs/benchmarks.md: "A run accounted as its task is
 * next queued"). Where the task clock is not fp_now()'s, and for a run that ended in a yield,
 * ops.stopping takes it (account_run), as only it knows when the run started, or what the
 * yielder's deadline is for the task that runs next.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

static __always_inline void report_wait(struct task_struct *p, struct task_ctx *tctx, u64 started,
                                        const struct fp_tunables *t)
{
	u64 wait = time_since(started, tctx->queued_at);
	struct fp_event *ev;

	tctx->queued_at = 0;
	if (wait <= t->latency_outlier_ns)
		return;
	count(FP_CNT_LATENCY_OUTLIERS);
	/* Everyone's are counted; only those of classified processes (game, compositor, audio)
	 * go to framepaced as events, as with role changes: in the benchmark's message-passing
	 * phase a quarter of all runs waited past the bound, each paying for an event. */
	if (tctx->class_id == FP_CLASS_NONE)
		return;
	ev = event_reserve(FP_EV_LATENCY);
	if (!ev)
		return;
	event_set_task(ev, p);
	ev->latency.wait_ns = wait;
	event_submit_batched(ev);
}

/* The interval since the last wakeup: how often and how regularly the task wakes. */
static __always_inline void note_wake_interval(struct task_ctx *tctx, u64 interval)
{
	u64 avg = tctx->avg_wake_ns;

	tctx->wake_dev_ns =
	        ewma(tctx->wake_dev_ns, interval > avg ? interval - avg : avg - interval);
	tctx->avg_wake_ns = ewma(avg, interval);
}

/*
 * What the start of a run that has now ended says (started: fp_now_at_switch() then): how long
 * the task waited in a queue (latency outliers) and, after a wakeup, the interval since the
 * last one (periodic_wakeups: how a game no rule names is found). Timed from the wakeups, not
 * the runs: framepace's own delays must not make a periodic thread look irregular (right after
 * it was late, when it matters). A task put straight onto an idle CPU was not queued: it woke
 * as it started.
 */
static __always_inline void note_run_start(struct task_struct *p, struct task_ctx *tctx,
                                           u64 started, const struct fp_tunables *t)
{
	u64 woke = tctx->queued_at ? tctx->queued_at : started;

	if (tctx->queued_at)
		report_wait(p, tctx, started, t);
	if (!tctx->slept)
		return;
	if (tctx->last_wake_ns)
		note_wake_interval(tctx, time_since(woke, tctx->last_wake_ns));
	tctx->last_wake_ns = woke;
	tctx->periodic =
	        periodic_wakeups(tctx->avg_run_ns, tctx->avg_wake_ns, tctx->wake_dev_ns, t);
}

/*
 * The run p ended stopped (fp_now_at_switch's clock) after it started (fp_now()'s clock):
 * its cost, charged at p's weight now (a renice since applies to it), and what it says about
 * p (its role, which p is queued with next). Where p ran: on task_cpu(p), which a wakeup
 * changes after ops.select_cpu; where the kernel moved p before (a wakeup without
 * ops.select_cpu, to its one allowed CPU; an affinity change), the run counts on its new
 * CPU's LLC clock. Returns whether p gave its CPU away on a yield (framepace_yield).
 */
static __always_inline bool account_run(struct task_struct *p, struct task_ctx *tctx, u64 started,
                                        u64 stopped, bool runnable, const struct fp_tunables *t)
{
	u64 used = run_used_ns(p, tctx), forfeit = 0, *vtime_now;
	u32 role, llc = llc_of(task_cpu(p));
	bool yielded;

	if (tctx->generation != generation)
		reclassify(tctx);
	if (tctx->classes_seq != classes_seq)
		refresh_class(p, tctx);
	tctx->exec_at_stop = p->se.sum_exec_runtime;
	note_run_start(p, tctx, started, t);
	vtime_now = task_vtime_in(tctx, llc);
	follow_clock(llc, tctx->vtime, t->role_slice_ns[role_index(tctx->role)]);
	yielded = tctx->yielded && runnable;
	if (yielded)
		forfeit = yield_forfeit_ns(tctx->vtime, *vtime_now, used,
		                           t->role_slice_ns[role_index(tctx->role)]);
	tctx->vtime = charge_vtime(tctx->vtime, used + forfeit, charge_weight(p, tctx, t));
	tctx->runs++;
	tctx->runtime_ns += used;
	tctx->avg_run_ns = ewma(tctx->avg_run_ns, used);
	tctx->runnable_pct = runnable_share(tctx->runnable_pct, runnable, used,
	                                    t->role_slice_ns[role_index(tctx->role)]);
	tctx->slept = !runnable;
	tctx->slept_at = runnable ? 0 : stopped;
	/* A run that ended in a sleep is over: the next displacement starts from a whole slice
	 * (a wakeup placed in select_cpu never passes ops.enqueue, which clears it otherwise). */
	tctx->slice_left_ns = runnable ? tctx->slice_left_ns : 0;
	tctx->yielded = 0;
	count_run(used);

	role = classify_role(tctx->class_id, tctx->role, p->scx.weight, tctx->avg_run_ns,
	                     tctx->avg_wake_ns, tctx->runnable_pct,
	                     time_since(stopped, tctx->game_wakeup_ns), t);
	if (role != tctx->role)
		set_role(p, tctx, role);
	return yielded;
}

/*
 * The run p ended as it last stopped, if ops.stopping left it (account_run), as p is queued
 * now: woken (runnable false: it slept) or queued again (runnable: preempted, its slice over),
 * or as it leaves framepace (framepace_disable). Once: a run is accounted when sum_exec_runtime
 * moved since the last (exec_at_stop), and p runs between two queueings, which may see no new
 * run (a wakeup ops.select_cpu accounted, then ops.enqueue; a queued task moved). Two runs
 * are accounted as one where the kernel lets p run again without queueing it: a running
 * task whose affinity or nice changed (it stops and starts again). The run's end is
 * p->se.exec_start, which the kernel set as it last updated p's runtime (task_clock_is_fp_now),
 * and its start is that less what it used.
 */
static __always_inline void account_last_run(struct task_struct *p, struct task_ctx *tctx,
                                             bool runnable, const struct fp_tunables *t)
{
	u64 used = run_used_ns(p, tctx), stopped = p->se.exec_start;

	if (!task_clock_is_fp_now() || !used)
		return;
	account_run(p, tctx, stopped - used, stopped, runnable, t);
}
