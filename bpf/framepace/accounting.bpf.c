/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ops.running and ops.stopping: what each run costs in virtual time and what it says about
 * the task (its wait, wake interval, run length, role), and what its CPU now runs.
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
 * What this CPU now runs (its role, deadline and protection), read by every waker deciding
 * whether to preempt it, as the task was queued with them (its run ticket: run_ticket) and
 * without its task storage: the look-up cost more than the rest of the callback under TCG,
 * and everything else a run says about the task waits for ops.stopping, which looks it up
 * anyway. One clock read where the kernel's task clock is not the runqueue clock
 * (fp_now_at_switch).
 */
void BPF_STRUCT_OPS(framepace_running, struct task_struct *p)
{
	s32 cpu = task_cpu(p);
	struct fp_cpu_state *cs = cpu_state_of(cpu);
	u64 slice = p->scx.slice, deadline = p->scx.dsq_vtime, protect, now;
	u32 role;

	if (!cs)
		return;
	if (nr_llcs > 1 && cs->moved_from_llc) {
		deadline = at_other_clock(deadline, *vtime_now_of(cs->moved_from_llc - 1),
		                          *vtime_now_of(llc_of(cpu)));
		cs->moved_from_llc = 0;
	}
	role = ticket_role(slice);
	protect = ticket_protect_ns(slice);
	now = fp_now_at_switch(p);
	cs->run_started = now;
	occupy_cpu(cs, role, deadline, protect, now);
	cut_slice_for_yielder(cs, p, role, deadline, protect);
	mark_acquired(cs);
}

/*
 * A run's cost in virtual time, what it says about the task (its wait, its wake interval, its
 * mean run length, whether it still wanted the CPU: its role), and where its LLC's clock
 * goes: one task-storage look-up, no clock read where the task clock is the runqueue clock
 * (fp_now_at_switch; the run's length is the kernel's sum_exec_runtime).
 */
void BPF_STRUCT_OPS(framepace_stopping, struct task_struct *p, bool runnable)
{
	const struct fp_tunables *t = current_tunables();
	struct task_ctx *tctx = lookup_task_ctx(p);
	s32 cpu = task_cpu(p);
	struct fp_cpu_state *cs = cpu_state_of(cpu);
	u64 now, used, forfeit = 0, *vtime_now;
	u32 role, llc = llc_of(cpu);
	bool yielded;

	if (cs)
		cs->role = FP_NR_ROLES;
	if (!tctx)
		return;
	if (tctx->generation != generation)
		reclassify(tctx);
	if (tctx->classes_seq != classes_seq)
		refresh_class(p, tctx);
	used = run_used_ns(p, tctx);
	tctx->exec_at_stop = p->se.sum_exec_runtime;
	now = fp_now_at_switch(p);
	note_run_start(p, tctx, cs ? cs->run_started : now - used, t);
	vtime_now = task_vtime_in(tctx, llc);
	follow_clock(llc, tctx->vtime, t->role_slice_ns[role_index(tctx->role)]);
	/* It yielded and gave its CPU away (framepace_yield). */
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
	tctx->yielded = 0;
	count_run_on(cpu, used);

	role = classify_role(tctx->class_id, tctx->role, p->scx.weight, tctx->avg_run_ns,
	                     tctx->avg_wake_ns, tctx->runnable_pct,
	                     time_since(now, tctx->game_wakeup_ns), t);
	if (role != tctx->role)
		set_role(p, tctx, role);
	/* With its new role's deadline: the one ops.enqueue queues it with next. */
	if (yielded)
		note_yielder(cpu, role_deadline(tctx->vtime, task_deadline_role(tctx, t), t));
}
