/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ops.running and ops.stopping: what each CPU runs, for wakers deciding whether to preempt it.
 * What a run says about its task is taken as the task is next queued (run_accounting.bpf.c).
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/*
 * What this CPU now runs (its role, deadline and protection), read by every waker deciding
 * whether to preempt it, as the task was queued with them (its run ticket: run_ticket) and
 * without its task storage: the look-up cost more than the rest of the callback under TCG,
 * and everything else a run says about the task is taken as it is next queued, where it is
 * looked up anyway (account_last_run). One clock read where the kernel's task clock is not
 * the runqueue clock (fp_now_at_switch).
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
		/* As the CPU's state: ops.enqueue compares them (displaced_by_short_waker). */
		p->scx.dsq_vtime = deadline;
		cs->moved_from_llc = 0;
	}
	role = ticket_role(slice);
	protect = ticket_protect_ns(slice);
	now = fp_now_at_switch(p);
	cs->run_started = now;
	cs->run_ticket = slice & FP_TICKET_MASK;
	if (marks_latency_cpu(role))
		cs->latency_at = latency_stamp(now);
	occupy_cpu(cs, role, deadline, protect, now);
	cut_slice_for_yielder(cs, p, role, deadline, protect);
	mark_acquired(cs);
}

/*
 * A task that stops with slice left may start again without ops.enqueue: put back at the head
 * of its local queue (a higher class or core scheduling took the CPU), or stopped and started
 * in place as the kernel changes a property of the running task (ops.stopping then says it
 * sleeps). Its next ops.running would read the ticket from a slice the kernel has counted down
 * since, whose low bits are any role: traced under the benchmark's load, processes of a fork
 * loop, started again in place with no context switch, read as game threads, which no game
 * thread's wakeup takes, and the loop's shell they woke as they exited was credited to the
 * game. The ticket it ran with goes back on; a task that does sleep gets a new one as it wakes.
 */
static __always_inline void restore_ticket(struct task_struct *p, u16 ticket)
{
	p->scx.slice = slice_with_ticket(p->scx.slice, ticket);
}

/*
 * The CPU runs none of framepace's tasks for now. The run that ended is accounted as p is next
 * queued (account_last_run), without a look-up here, unless only ops.stopping can: where the
 * task clock is not fp_now()'s (the run's start is known only from the CPU's state, until the
 * next run starts), and for a task that stays runnable after a yield (the task that runs next
 * weighs the yielder's deadline: note_yielder) or with slice left: a higher class (RT,
 * deadline) or core scheduling takes the CPU, and the kernel puts p back at the head of its
 * local queue without ops.enqueue, where ops.cpu_release does not send it back through it
 * (the CPU was already released); accounted with its next run, its wait would include the
 * RT task's time. Not for a task that sleeps: the kernel updates its runtime again after this
 * (put_prev_task), by a few ns where its runqueue's clock moved, and that would count as one
 * more run, with a wakeup, as it wakes.
 */
void BPF_STRUCT_OPS(framepace_stopping, struct task_struct *p, bool runnable)
{
	s32 cpu = task_cpu(p);
	struct fp_cpu_state *cs = cpu_state_of(cpu);
	const struct fp_tunables *t;
	struct task_ctx *tctx;
	u64 now, started = 0;
	bool yielded = false;
	u16 ticket = 0;

	if (cs) {
		cs->role = FP_NR_ROLES;
		ticket = cs->run_ticket;
		started = cs->run_started;
		yielded = cs->yield_in_run;
		if (yielded)
			cs->yield_in_run = 0;
	}
	if (p->scx.slice)
		restore_ticket(p, ticket);
	if (task_clock_is_fp_now() && !(runnable && (yielded || p->scx.slice)))
		return;
	t = current_tunables();
	tctx = lookup_task_ctx(p);
	if (!tctx)
		return;
	now = fp_now_at_switch(p);
	if (!cs)
		started = now - run_used_ns(p, tctx);
	/* With its new role's deadline: the one ops.enqueue queues it with next. */
	if (account_run(p, tctx, started, now, runnable, t))
		note_yielder(cpu, role_deadline(tctx->vtime, task_deadline_role(tctx, t), t));
}
