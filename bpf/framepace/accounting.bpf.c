/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ops.running and ops.stopping: what each run costs in virtual time and what it says about
 * the task (its wait, wake interval, run length, role), and what its CPU now runs.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

static __always_inline void report_wait(struct task_struct *p, struct task_ctx *tctx, u64 now,
                                        const struct fp_tunables *t)
{
	u64 wait = time_since(now, tctx->queued_at);
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
 * Dearer than scx_simple's (which only advances its clock), by what the policy needs and only
 * a run's start can give: the task's wait (latency outliers), the interval between its
 * wakeups (periodic_wakeups: how a game no rule names is found), and what this CPU now runs
 * (its role, deadline and protection, read by every waker deciding whether to preempt).
 * One task-storage lookup and one clock read, the runqueue's (fp_now).
 */
void BPF_STRUCT_OPS(framepace_running, struct task_struct *p)
{
	const struct fp_tunables *t = current_tunables();
	struct task_ctx *tctx = lookup_task_ctx(p);
	s32 cpu = task_cpu(p);
	struct cpu_state *cs = cpu_state_of(cpu);
	u64 now, woke, *vtime_now;
	bool queued;
	u32 clamped;

	count(FP_CNT_RUNS);
	if (!tctx) {
		/* A yielder's note is for a task whose deadline can be compared. */
		if (cs)
			cs->yielder_waits = 0;
		return;
	}
	if (tctx->generation != generation)
		reclassify(tctx);
	if (tctx->classes_seq != classes_seq)
		refresh_class(p, tctx);
	now = fp_now();
	vtime_now = task_vtime_in(tctx, llc_of(cpu));
	/* A woken task was queued when it woke; one put straight onto an idle CPU runs now. */
	queued = tctx->queued_at != 0;
	woke = queued ? tctx->queued_at : now;
	if (queued)
		report_wait(p, tctx, now, t);
	if (tctx->slept) {
		tctx->vtime = run_start_vtime(tctx->vtime, *vtime_now, t->sleep_budget_ns,
		                              t->lag_limit_ns, queued, &clamped);
		count_clamp(clamped);
		/* Timed from the wakeups, not the runs: framepace's own delays must not make a
		 * periodic thread look irregular (right after it was late, when it matters). */
		if (tctx->last_wake_ns)
			note_wake_interval(tctx, time_since(woke, tctx->last_wake_ns));
		tctx->last_wake_ns = woke;
		tctx->periodic =
		        periodic_wakeups(tctx->avg_run_ns, tctx->avg_wake_ns, tctx->wake_dev_ns, t);
		tctx->slept = 0;
	}
	tctx->runs++;
	tctx->running_since = now;
	tctx->exec_at_run = p->se.sum_exec_runtime;
	/* Only a task ahead of the clock moves it: the queue's head is read for those alone. */
	if (time_before(*vtime_now, tctx->vtime)) {
		u64 head = 0;
		bool waiting = queue_head_deadline(shared_dsq_of(cpu), &head);

		*vtime_now = advanced_clock(*vtime_now,
		                            clock_target(*vtime_now, tctx->vtime, waiting, head),
		                            t->role_slice_ns[role_index(tctx->role)]);
	}
	if (cs) {
		u64 deadline = role_deadline(tctx->vtime, task_deadline_role(tctx, t), t);
		u64 protect = occupy_cpu(cs, tctx, deadline, now, t);

		cut_slice_for_yielder(cs, p, role_index(tctx->role), deadline, protect);
		mark_acquired(cs);
	}
}

/*
 * A run's cost in virtual time, and the behaviour roles are made of (mean run length, whether
 * the task still wanted the CPU): one task-storage lookup and no clock read (the run's length
 * is the kernel's sum_exec_runtime).
 */
void BPF_STRUCT_OPS(framepace_stopping, struct task_struct *p, bool runnable)
{
	const struct fp_tunables *t = current_tunables();
	struct task_ctx *tctx = lookup_task_ctx(p);
	struct cpu_state *cs = cpu_state_of(task_cpu(p));
	u64 now, used, forfeit = 0;
	bool yielded;
	u32 role;

	if (cs)
		cs->role = FP_NR_ROLES;
	if (!tctx || !tctx->running_since)
		return;
	used = run_used_ns(p, tctx);
	/* The clock now, less interrupt time: only the game-waker rule below reads it. */
	now = tctx->running_since + used;
	/* It yielded and gave its CPU away (framepace_yield). */
	yielded = tctx->yielded && runnable;
	if (yielded)
		forfeit = yield_forfeit_ns(tctx->vtime, *vtime_now_of(tctx->vtime_llc), used,
		                           t->role_slice_ns[role_index(tctx->role)]);
	tctx->vtime = charge_vtime(tctx->vtime, used + forfeit, charge_weight(p, tctx, t));
	tctx->runtime_ns += used;
	tctx->avg_run_ns = ewma(tctx->avg_run_ns, used);
	tctx->runnable_pct = runnable_share(tctx->runnable_pct, runnable, used,
	                                    t->role_slice_ns[role_index(tctx->role)]);
	if (!runnable)
		tctx->slept = 1;
	tctx->yielded = 0;
	count(FP_CNT_STOPS);
	count_add(FP_CNT_RUN_NS, used);

	role = classify_role(tctx->class_id, tctx->role, p->scx.weight, tctx->avg_run_ns,
	                     tctx->avg_wake_ns, tctx->runnable_pct,
	                     time_since(now, tctx->game_wakeup_ns), t);
	if (role != tctx->role)
		set_role(p, tctx, role);
	/* With its new role's deadline: the one ops.enqueue queues it with next. */
	if (yielded)
		note_yielder(task_cpu(p),
		             role_deadline(tctx->vtime, task_deadline_role(tctx, t), t));
}
