/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ops.select_cpu: where a waking task runs, locality first, straight onto an idle CPU's
 * local queue when one is found; with none, onto a busy one it takes by role (preempt.bpf.c).
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/*
 * An interrupt on p's previous CPU woke it while that CPU runs its idle task (a timer: most
 * wakeups on an idle desktop). The CPU is awake already and reschedules as the interrupt
 * returns, so p runs there even when its idle bit is taken: another waker picked the CPU
 * (scx_bpf_pick_idle_cpu, an idle kick) and its IPI has not landed yet. Looking elsewhere
 * instead woke the other CPU by IPI: under QEMU those wakeups took up to 3 ms, and 69 of the
 * 217 slowest idle cyclictest wakeups had moved so (EEVDF: 9). Only while nothing waits in
 * this CPU's local queue: a task the same interrupt woke first (it took the idle bit and went
 * there) would wait for p's whole slice with another CPU idle, and nothing can take it from
 * a local queue; p then looks elsewhere as before.
 */
static __always_inline bool woken_on_idle_prev(s32 prev_cpu)
{
	struct task_struct *current;

	if (prev_cpu != bpf_get_smp_processor_id())
		return false;
	current = bpf_get_current_task_btf();
	return current->pid == 0 && scx_bpf_dsq_nr_queued(SCX_DSQ_LOCAL) == 0;
}

/*
 * Nearest idle CPU first: the previous one keeps its caches warm, a wholly idle core in its
 * LLC has no sibling to share the core with, the rest of the LLC shares L3. prev_busy: a
 * synchronous wakeup found prev busy a moment ago (sync_wake_cpu), and it is not asked again.
 */
static __always_inline s32 pick_idle_cpu(struct task_struct *p, s32 prev_cpu, struct task_ctx *tctx,
                                         bool prev_busy, u64 *now, const struct fp_tunables *t)
{
	const struct cpumask *llc;
	s32 cpu;

	if (!prev_busy && task_may_run_on(p, prev_cpu)) {
		if (scx_bpf_test_and_clear_cpu_idle(prev_cpu)) {
			count(FP_CNT_DIRECT_PREV);
			return prev_cpu;
		}
		if (woken_on_idle_prev(prev_cpu)) {
			count(FP_CNT_IDLE_HERE);
			return prev_cpu;
		}
	}

	llc = llc_allowed(p, prev_cpu);
	if (smt_enabled) {
		cpu = scx_bpf_pick_idle_cpu(llc, SCX_PICK_IDLE_CORE);
		if (cpu >= 0) {
			count(FP_CNT_DIRECT_CORE);
			return cpu;
		}
	}
	cpu = scx_bpf_pick_idle_cpu(llc, 0);
	if (cpu >= 0) {
		count(FP_CNT_DIRECT_LLC);
		return cpu;
	}
	/* With one LLC the search above already covered every allowed CPU. */
	if (nr_llcs <= 1)
		return -EBUSY;
	if (tctx && migration_limited(tctx, clock_once(now), t)) {
		count(FP_CNT_MIGRATION_LIMITED);
		return -EBUSY;
	}
	cpu = scx_bpf_pick_idle_cpu(p->cpus_ptr, 0);
	if (cpu < 0)
		return cpu;
	count(FP_CNT_DIRECT_ANY);
	if (tctx)
		tctx->last_migration_ns = clock_once(now);
	return cpu;
}

/*
 * How near cpu a game, compositor or audio thread started lately: on cpu itself, on its
 * sibling (another hardware thread of its core, sharing the core's execution units and L1/L2
 * with it), or neither. With SMT a wholly idle core can be the game's, its thread asleep:
 * seen before the siblings were known (VM of two cores of two threads, the game on CPU 3),
 * spawns started on CPUs 1 and 2. One sibling is asked, the next in framepaced's ring: every
 * other thread of a two-thread core (x86, the Steam Deck), one of three on a POWER core of
 * four. A walk of the whole ring (a loop inside fork_cpu's) made 6.12 take 37-40 s to verify
 * the scheduler, up from 9-12 s (VM, two cores of two threads; 7.3.4 took 5 s with it).
 */
enum latency_near { LATENCY_FAR, LATENCY_ON_CORE, LATENCY_ON_CPU };

static __always_inline enum latency_near latency_near(u32 cpu, u64 now)
{
	struct fp_cpu_state *cs = cpu_state_of(cpu);
	u32 sibling;

	if (!cs)
		return LATENCY_FAR;
	if (latency_cpu_recent(cs->latency_at, now))
		return LATENCY_ON_CPU;
	if (!smt_enabled)
		return LATENCY_FAR;
	sibling = next_sibling(cpu);
	cs = cpu_state_of(sibling);
	if (sibling != cpu && cs && latency_cpu_recent(cs->latency_at, now))
		return LATENCY_ON_CORE;
	return LATENCY_FAR;
}

/* What a look through the parent's LLC for a new process's CPU found (scan_llc_for_fork). */
struct fork_scan {
	s32 core;  /* a CPU of a wholly idle core, or -1 */
	s32 cpu;   /* an idle CPU, or -1 */
	bool seen; /* a latency thread started lately on a CPU looked at, or on its sibling */
};

/*
 * From prev_cpu on through its LLC, at most FP_PREEMPT_SCAN_MAX CPUs that p may use: the first
 * idle CPU and the first CPU of a wholly idle core on a core no latency thread started on
 * lately. Kept to fork_scan's three words across the loop, with the clock read before it:
 * 6.12's verifier walks the loop once per combination of them. Measured on 6.12 (VM, two
 * cores of two threads, framepaced's start to attached): 9-12 s before fork placement knew
 * siblings; 37-40 s with a loop over each core's siblings inside this one; past systemd's 90 s
 * with the parent's nearness and a candidate beside a game thread as two more words; 28-32 s
 * with a second pass for the latter; 8-13 s as it is.
 */
static __always_inline void scan_llc_for_fork(struct task_struct *p, s32 prev_cpu, u64 *now,
                                              struct fork_scan *found)
{
	const struct cpumask *idle, *idle_cores;
	u32 i, c, llc = llc_of(prev_cpu);
	u64 at = clock_once(now); /* read before the loop: one state fewer to verify in it */

	found->core = -1;
	found->cpu = -1;
	found->seen = false;
	idle = scx_bpf_get_idle_cpumask();
	idle_cores = scx_bpf_get_idle_smtmask();
	bpf_for(i, 0, nr_cpus)
	{
		if (i >= FP_PREEMPT_SCAN_MAX)
			break;
		c = ((u32)prev_cpu + i) % nr_cpus;
		if (llc_of(c) != llc || !task_may_run_on(p, c))
			continue;
		if (latency_near(c, at) != LATENCY_FAR) {
			found->seen = true;
			continue;
		}
		if (!bpf_cpumask_test_cpu(c, idle))
			continue;
		if (found->cpu < 0)
			found->cpu = c;
		if (found->core < 0 && smt_enabled && bpf_cpumask_test_cpu(c, idle_cores))
			found->core = c;
	}
	scx_bpf_put_idle_cpumask(idle_cores);
	scx_bpf_put_idle_cpumask(idle);
}

/*
 * A new process (not a thread: a pool's workers do not wait behind the thread that made them),
 * while a game, compositor or audio thread has started on a core of its parent's LLC lately
 * (policy.h: where forks start), in this order:
 *  1. an idle CPU of the LLC on a core none has, a wholly idle core first, nearest id after
 *     the parent's;
 *  2. the parent's CPU, if the parent runs there and none has that CPU itself (its sibling
 *     may have had one: no idle CPU on a free core is left, and the usual search could take
 *     the game's own CPU).
 * On the parent's CPU the child waits in the local queue, where no other CPU takes it, for its
 * parent, which mostly waits for it at once (a spawn, a shell's fork and wait); its first run
 * starts there, and it is queued as any other task after. Only where a framepace task runs
 * (runs_framepace_task): an RT task holding the CPU would keep it waiting there. Queued in the
 * parent's CPU's own queue instead, whenever the game's CPU was busy or skipped, 4 to 6 of 30
 * short programs still started on the game's CPU (the VM test, 2 vCPUs; 26 to 29 of 30 with
 * no game running): that CPU stole them as its thread stopped, or took them from the shared
 * queue. -1 for the usual search (pick_idle_cpu): a thread, no such thread ran lately, or none
 * of the above. Idle bits are tested before one is claimed: new processes only.
 */
static __always_inline s32 fork_cpu(struct task_struct *p, s32 prev_cpu, u64 *now)
{
	struct fp_cpu_state *cs;
	struct fork_scan found;

	if (p->pid != p->tgid)
		return -1;
	scan_llc_for_fork(p, prev_cpu, now, &found);
	if (!found.seen)
		return -1;
	if (found.core >= 0 && scx_bpf_test_and_clear_cpu_idle(found.core)) {
		count(FP_CNT_DIRECT_CORE);
		return found.core;
	}
	if (found.cpu >= 0 && scx_bpf_test_and_clear_cpu_idle(found.cpu)) {
		count(FP_CNT_DIRECT_LLC);
		return found.cpu;
	}
	/* prev_cpu is this CPU: its state is this_cpu_state(); its sibling is no bar (2. above). */
	if (prev_cpu != bpf_get_smp_processor_id() || !task_may_run_on(p, prev_cpu))
		return -1;
	cs = this_cpu_state();
	if (runs_framepace_task(cs) && !latency_cpu_recent(cs->latency_at, clock_once(now)))
		return prev_cpu;
	return -1;
}

/*
 * A synchronous wakeup (a pipe or socket write, a futex hand-off): the waker is about to
 * sleep, so p runs on the waker's CPU right after it, on the data it just wrote, instead of
 * an idle CPU elsewhere that must be woken and whose caches are cold (EEVDF's wake_affine
 * does the same). prev first if it is idle and shares the waker's cache. The waker's CPU
 * only when:
 *  - a framepace task wakes p there (an RT waker, pipewire's, would hold the CPU: p would
 *    wait in a local queue that nothing sends elsewhere);
 *  - nothing waits there, in its local, own or LLC queue (p must not pass them: a ping-pong
 *    pair would keep the CPU from ever dispatching again);
 *  - p is not latency-critical (those take a CPU by preemption, not behind the waker);
 *  - a move to another LLC is allowed (migration_interval_ns), and is stamped.
 * Seen without this: ping-pong pairs on 4 CPUs ran 32 % fewer rounds than under EEVDF and
 * changed CPU on half their wakeups, most of them to another LLC.
 */
/* Task flags, include/linux/sched.h: #defines, not in BTF. */
#define FP_PF_EXITING 0x00000004
#define FP_PF_KTHREAD 0x00200000

/*
 * Whether a task waits to run on cpu, the waker's: in its local queue, its LLC's shared queue
 * or its own. The shared queue's head as last seen (note_shared_head) answers first: it is
 * one load where counting a queue by id is a look-up in the kernel's hash table, and every
 * insert sets it, so where it says a task waits the answer is at worst stale-yes (a dispatch
 * took the last one since), which refuses synchronous wakeups onto this CPU until the LLC's
 * next dispatch reads the queue again (they then queue as any other wakeup). Where it says none,
 * the queues are counted. Under message passing (the benchmark's messaging and hackbench,
 * where the shared queue is rarely empty), with prev not asked twice (prev_busy), select_cpu
 * cost 0.84-0.92x as much (bpf_stats, same boot, three alternating rounds under 7.3.4; the
 * run times did not move).
 */
static __always_inline bool waiters_on(s32 cpu)
{
	if (scx_bpf_dsq_nr_queued(SCX_DSQ_LOCAL) > 0 || llc_clock_of(llc_of(cpu))->head_waits)
		return true;
	return scx_bpf_dsq_nr_queued(shared_dsq_of(cpu)) > 0 ||
	       ((u32)cpu < FP_MAX_CPUS && scx_bpf_dsq_nr_queued(FP_CPU_DSQ(cpu)) > 0);
}

static __always_inline s32 sync_wake_cpu(struct task_struct *p, s32 prev_cpu, u64 wake_flags,
                                         struct task_ctx *tctx, bool *prev_busy, u64 *now,
                                         const struct fp_tunables *t)
{
	struct task_struct *waker;
	bool other_llc;
	s32 cpu;

	if (!(wake_flags & SCX_WAKE_SYNC) || (tctx && latency_critical(role_index(tctx->role))))
		return -1;
	cpu = bpf_get_smp_processor_id();
	if (!task_may_run_on(p, cpu))
		return -1;
	other_llc = llc_of(prev_cpu) != llc_of(cpu);
	if (prev_cpu != cpu && !other_llc && task_may_run_on(p, prev_cpu)) {
		if (scx_bpf_test_and_clear_cpu_idle(prev_cpu)) {
			count(FP_CNT_DIRECT_PREV);
			return prev_cpu;
		}
		*prev_busy = true;
	}
	if (!runs_framepace_task(this_cpu_state()))
		return -1;
	waker = bpf_get_current_task_btf();
	if (waker->flags & FP_PF_EXITING)
		return -1;
	if (waiters_on(cpu))
		return -1;
	if (other_llc && tctx) {
		if (migration_limited(tctx, clock_once(now), t))
			return -1;
		tctx->last_migration_ns = clock_once(now);
	}
	count(FP_CNT_SYNC_WAKEUPS);
	return cpu;
}

/*
 * Who is waking p: input_event (p handles input) or a game thread (p works for the game), the
 * latter only in task context: a timer or softirq that fired while a game thread ran was not
 * woken by it (in_task_context). A kernel thread is never credited as the game's helper: the
 * game's threads wake RCU's grace-period thread in task context too, and as a helper it
 * stamped the CPU it ran on as a game's (latency_at), so that fork_cpu left new processes to
 * the usual search, which found the game's idle CPU (diagnostic case, 7.3.4: rcu_preempt
 * started as a game thread on the parent's CPU up to 16 times in a round of 40 program
 * starts, in 8 rounds of 12; 0 to 6 of them went to the game's CPU; docs/benchmarks.md).
 */
static __always_inline void note_waker(struct task_struct *p, struct task_ctx *tctx, u64 *now)
{
	struct fp_cpu_state *cs;

	if (input_tid && input_tid == input_mark()) {
		tctx->input_wakeup_ns = clock_once(now);
		count(FP_CNT_INPUT_WAKEUPS);
		return;
	}
	if (p->flags & FP_PF_KTHREAD)
		return;
	cs = this_cpu_state();
	if (cs && game_role(running_role(cs)) && in_task_context())
		tctx->game_wakeup_ns = clock_once(now);
}

/*
 * p goes straight into the local queue of cpu, which was idle, and skips ops.enqueue: the
 * bounds of its wakeup apply here (enqueue_vtime), and its deadline goes with it for
 * ops.running to read back (a local queue is no vtime queue: the insert leaves
 * p->scx.dsq_vtime alone), as its run ticket goes in its slice (run_ticket).
 */
static __always_inline void run_directly(struct task_struct *p, struct task_ctx *tctx, s32 cpu,
                                         u64 *now, const struct fp_tunables *t)
{
	u64 vtime;

	if (!tctx) {
		p->scx.dsq_vtime = *vtime_now_of(llc_of(cpu));
		fp_dsq_insert(p, SCX_DSQ_LOCAL, contextless_ticket(t), 0);
		return;
	}
	vtime = bounded_vtime(tctx, *task_vtime_in(tctx, llc_of(cpu)), tctx->slept, now, t);
	p->scx.dsq_vtime = role_deadline(vtime, task_deadline_role(tctx, t), t);
	fp_dsq_insert(p, SCX_DSQ_LOCAL, run_ticket(tctx, role_index(tctx->role), t), 0);
}

s32 BPF_STRUCT_OPS(framepace_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	const struct fp_tunables *t = current_tunables();
	struct task_ctx *tctx = lookup_task_ctx(p);
	bool prev_busy = false;
	u64 now = 0;
	s32 cpu;

	if (tctx) {
		/* A wakeup: a forking task has no run yet. */
		if (wake_flags & SCX_WAKE_TTWU) {
			account_last_run(p, tctx, false, t);
			note_waker(p, tctx, &now);
		}
		/* For ops.enqueue, if no idle CPU is found (shared_queue_victim,
		 * preempt_by_deadline); it clears it. */
		tctx->woke_sync = (wake_flags & SCX_WAKE_SYNC) != 0;
	}
	if (wake_flags & SCX_WAKE_FORK)
		cpu = fork_cpu(p, prev_cpu, &now);
	else
		cpu = sync_wake_cpu(p, prev_cpu, wake_flags, tctx, &prev_busy, &now, t);
	if (cpu < 0)
		cpu = pick_idle_cpu(p, prev_cpu, tctx, prev_busy, &now, t);
	if (cpu >= 0) {
		run_directly(p, tctx, cpu, &now, t);
		return cpu;
	}
	count(FP_CNT_SELECT_BUSY);
	if (tctx && (wake_flags & SCX_WAKE_TTWU)) {
		cpu = take_cpu_on_wakeup(p, tctx, prev_cpu, &now, t);
		if (cpu >= 0)
			return cpu;
	}
	return prev_cpu;
}
