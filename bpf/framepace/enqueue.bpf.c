/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ops.enqueue: a task that found no idle CPU is queued by deadline, on its CPU's own queue or
 * its LLC's shared one, preempting where its role or deadline says so.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/*
 * Whether a task queued on cpu's own queue will be served there soon: not while an RT task
 * holds cpu (released), and for a task woken from another CPU only while a framepace task
 * runs there. An RT task that started on an idle CPU is never released (cpu_release only
 * follows a framepace task), and a task queued there would wait for it. Those go to the
 * LLC's shared queue. The task the CPU itself requeues (its slice ended) stays: stopping has
 * already cleared the CPU's role, and the CPU dispatches next.
 */
static __always_inline bool own_queue_serves(s32 cpu, bool waking)
{
	if (!waking || cpu == bpf_get_smp_processor_id())
		return !cpu_released(cpu);
	return runs_framepace_task(cpu_state_of(cpu));
}

/* p into the shared queue of cpu's LLC, whose first deadline its clock follows
 * (note_shared_insert). */
static __always_inline void insert_shared(struct task_struct *p, s32 cpu, u64 slice, u64 deadline,
                                          u64 enq_flags)
{
	fp_dsq_insert_vtime(p, shared_dsq_of(cpu), slice, deadline, enq_flags);
	note_shared_insert(llc_of(cpu), deadline);
}

/*
 * A task sent back from the local queue of a CPU that an RT or deadline task took
 * (framepace_cpu_release): anywhere but there. It goes to its LLC's shared queue, which the
 * other CPUs there read (and those of other LLCs once they run dry), and an idle CPU is woken
 * for it.
 */
static __always_inline void requeue_elsewhere(struct task_struct *p, s32 cpu, u64 slice,
                                              u64 deadline, u64 enq_flags)
{
	insert_shared(p, cpu, slice, deadline, enq_flags);
	count(FP_CNT_REENQUEUED);
	if (!kick_idle_cpu(p->cpus_ptr))
		kick_llc_idle(cpu);
}

/*
 * p, a game thread, stopped runnable because a short latency-critical waker claimed its CPU
 * (victim_rank, policy.h): the claim wrote the waker's deadline over p's in the CPU's state,
 * where a slice that ran out leaves p's own (ops.running keeps p->scx.dsq_vtime equal to it).
 * p then resumes right after the waker, behind it in the CPU's local queue. Queued by deadline
 * instead, the game's other thread waiting there ran first and p's frame took both runs
 * (taskset to one CPU, VM, 7.3.4: render frame time p99 8.3-8.5 ms, 3.5-3.7 before audio
 * preempted it; render missed 244-246 frames in 8 s, EEVDF 32-35). Only p as it leaves its CPU
 * (p is the current task): a queued p queued again (a renice, an affinity or cgroup change
 * while it waits) differs from the state of whatever runs there, and would have jumped the
 * queue.
 */
static __always_inline bool displaced_by_short_waker(const struct task_struct *p, s32 cpu, u32 role)
{
	const struct fp_cpu_state *cs;

	if (!game_role(role) || (u32)bpf_get_current_pid_tgid() != (u32)p->pid)
		return false;
	cs = cpu_state_of(cpu);
	return cs && cs->deadline != p->scx.dsq_vtime;
}

/*
 * p resumes behind its waker in cpu's local queue, with the deadline it ran with (still in
 * p->scx.dsq_vtime) and what its slice has left (resume_slice); false if nothing is left. Its
 * run is not accounted here: the part before and the part after the waker count as one run
 * when it next stops for good. Split into two, the game threads of the VM test above, each
 * displaced once or twice a frame, read as running 1.4-1.6 ms instead of 3 and 4.5: critical,
 * each became a short waker that displaced the other. Where ops.stopping accounts every run
 * (a kernel whose task clock is not fp_now()'s: 6.12), the parts still count apart.
 */
static __always_inline bool resume_after_waker(struct task_struct *p, struct task_ctx *tctx,
                                               s32 cpu, u32 role, u64 now, u64 enq_flags,
                                               const struct fp_tunables *t)
{
	const struct fp_cpu_state *cs = cpu_state_of(cpu);
	u64 slice;

	if (!cs)
		return false;
	slice = resume_slice(run_ticket(tctx, role, t), tctx->slice_left_ns,
	                     time_since(now, cs->run_started));
	if (!slice)
		return false;
	tctx->slice_left_ns = (u32)(slice & ~FP_TICKET_MASK);
	fp_dsq_insert(p, SCX_DSQ_LOCAL, slice, enq_flags);
	return true;
}

void BPF_STRUCT_OPS(framepace_enqueue, struct task_struct *p, u64 enq_flags)
{
	const struct fp_tunables *t = current_tunables();
	struct task_ctx *tctx = lookup_task_ctx(p);
	s32 cpu = task_cpu(p);
	u64 now, vtime_now, deadline, slice;
	u32 role, bound;
	bool boost, waking, sought, woke_sync;

	/* Every task gets a context in init_task; without one, queue it at the current time. */
	if (!tctx) {
		insert_shared(p, cpu, contextless_ticket(t), *vtime_now_of(llc_of(cpu)), enq_flags);
		count(FP_CNT_ENQ_SHARED);
		return;
	}

	waking = enq_flags & SCX_ENQ_WAKEUP;
	now = fp_now();
	if (!(enq_flags & (SCX_ENQ_WAKEUP | SCX_ENQ_REENQ)) &&
	    displaced_by_short_waker(p, cpu, role_index(tctx->role)) &&
	    resume_after_waker(p, tctx, cpu, role_index(tctx->role), now, enq_flags, t))
		return;
	tctx->slice_left_ns = 0;
	account_last_run(p, tctx, !waking, t);
	vtime_now = *task_vtime_in(tctx, llc_of(cpu));
	role = role_index(tctx->role);
	boost = boosted(tctx, now, t);
	/* A task woken straight into a local queue and sent back from it (SCX_ENQ_REENQ) had its
	 * wakeup's bound in select_cpu (run_directly, take_cpu_on_wakeup): not twice. */
	deadline = queued_deadline(tctx, vtime_now, waking, boost, &now, t);
	slice = run_ticket(tctx, role, t);
	tctx->queued_at = now;
	if (enq_flags & SCX_ENQ_REENQ) {
		requeue_elsewhere(p, cpu, slice, deadline, enq_flags);
		return;
	}
	if (boost)
		count_boost(tctx);
	/* select_cpu looked for a CPU to take by role as p woke (take_cpu_on_wakeup), unless the
	 * kernel woke p without asking it: p may run on one CPU only, is migration-disabled, or
	 * was woken while still on its CPU (a wake list). */
	sought = tctx->victim_sought;
	if (sought)
		tctx->victim_sought = 0;
	/* What the select_cpu of this wakeup said, once: a wakeup the kernel did not ask it
	 * about (see above) counts as not synchronous. Cleared without a branch: a conditional
	 * store here doubled the verifier's states of this callback on 6.12. */
	woke_sync = tctx->woke_sync;
	tctx->woke_sync = 0;
	bound = wakeup_victim_bound(role, boost, tctx->periodic);
	if (waking && bound && !sought &&
	    preempt_for(p, cpu, deadline, slice, enq_flags, bound,
	                waker_run_short_ns(role, tctx->avg_run_ns), now))
		return;

	/*
	 * A CPU only consumes its own queue, so p must be allowed there (affinity changes), and
	 * queues exist for the first FP_MAX_CPUS CPUs only (own_queue_serves for the rest).
	 */
	if (!shared_mode && (u32)cpu < FP_MAX_CPUS && task_may_run_on(p, cpu) &&
	    own_queue_serves(cpu, waking)) {
		fp_dsq_insert_vtime(p, FP_CPU_DSQ(cpu), slice, deadline, enq_flags);
		note_own_insert(cpu, now);
		count(FP_CNT_ENQ_CPU);
		if (waking && preempt_by_deadline(cpu, deadline, now, !woke_sync))
			return;
		if (cpu != bpf_get_smp_processor_id())
			scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
		/* A waking task found no idle CPU in select_cpu (or skipped it): one of its LLC
		 * may have gone idle since, and steals it from here rather than leave it waiting.
		 * Not one of another LLC: select_cpu may have refused that move (migration_limited). */
		if (waking)
			kick_idle_cpu(llc_allowed(p, cpu));
	} else {
		const struct cpumask *llc = waking ? llc_allowed(p, cpu) : NULL;
		s32 victim = -1;

		/* A CPU of the LLC that went idle since select_cpu looked reads the shared queue
		 * once woken; else one p may preempt (shared_queue_victim); else, for an
		 * interactive task with one CPU of its LLC to run on, one of another LLC
		 * (preempt_other_llc). Kicks and inserts land once this callback returns, so their
		 * order here does not matter. */
		if (llc && !kick_idle_cpu(llc)) {
			victim = shared_queue_victim(p, woke_sync, cpu, deadline, now);
			if (victim < 0 && nr_llcs > 1 && role == FP_ROLE_INTERACTIVE &&
			    bpf_cpumask_weight(llc) == 1 &&
			    preempt_other_llc(p, tctx, cpu, deadline, vtime_now, slice, enq_flags,
			                      now, t))
				return;
		}
		insert_shared(p, cpu, slice, deadline, enq_flags);
		count(FP_CNT_ENQ_SHARED);
		if (victim >= 0)
			preempt_cpu(victim);
		else if (!waking && cpu != bpf_get_smp_processor_id())
			/* Queued again from elsewhere (an affinity or nice change): no CPU of the
			 * LLC may dispatch soon, and nothing wakes an idle one but this. */
			kick_idle_cpu(llc_allowed(p, cpu));
	}
}
