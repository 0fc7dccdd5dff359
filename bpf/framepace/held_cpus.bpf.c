/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPUs an RT or deadline task holds (ops.cpu_release): their queues are served elsewhere, and
 * a CPU the kernel lends back for a moment runs what cannot run anywhere else.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/*
 * The CPU's state goes to "released" when an RT or deadline task takes it and back when
 * framepace runs or dispatches there. Both happen on that CPU under its runqueue lock,
 * so only the count shared with the others needs an atomic.
 */
static __always_inline void mark_released(struct fp_cpu_state *cs)
{
	if (cs->released)
		return;
	cs->released = 1;
	__sync_fetch_and_add(&nr_released, 1);
}

/*
 * Whether an RT task still waits for this CPU (6.18+; without scx_bpf_locked_rq, never): a
 * callback runs here while one does when the kernel lends the CPU to sched_ext for a moment
 * (6.19+: its deadline server gives the class 50 ms a second against RT starvation). The CPU
 * stays released through such a window: a task that can run elsewhere and is put here would
 * be stranded when the RT task resumes (seen: 126 and 149 ms in the RT take-over test).
 * Only called while the CPU is released, from callbacks that hold its runqueue locked.
 */
static __always_inline bool rt_waits_here(void)
{
	struct rq *rq;

	if (!bpf_ksym_exists(scx_bpf_locked_rq))
		return false;
	rq = scx_bpf_locked_rq();
	return rq && rq->rt.rt_nr_running;
}

static __always_inline void release_ends(struct fp_cpu_state *cs)
{
	cs->released = 0;
	__sync_fetch_and_add(&nr_released, (u32)-1);
}

/* A framepace task runs here: the CPU is back, unless it is only lent. */
static __always_inline void mark_acquired(struct fp_cpu_state *cs)
{
	if (cs->released && !rt_waits_here())
		release_ends(cs);
}

static __always_inline bool cpu_released(s32 cpu)
{
	struct fp_cpu_state *cs;

	if (!nr_released)
		return false;
	cs = cpu_state_of(cpu);
	return cs && cs->released;
}

/*
 * A task in the own queue of a CPU an RT or deadline task holds (queued there just before it
 * was taken) would wait for as long as that task runs. Whichever CPU dispatches next takes it
 * first: it has waited already. Only while some CPU is held (nr_released).
 */
static __always_inline bool rescue_stranded(s32 cpu, u32 nr_queues)
{
	struct fp_cpu_state *cs;
	u32 i, c;

	bpf_for(i, 1, nr_queues)
	{
		c = ((u32)cpu + i) % nr_queues;
		cs = cpu_state_of(c);
		if (cs && cs->released && move_to_local_from(cpu, FP_CPU_DSQ(c), llc_of(c))) {
			count(FP_CNT_RESCUED);
			return true;
		}
	}
	return false;
}

#define FP_LEND_SCAN_MAX 32
/*
 * A task runnable this many jiffies (50-500 ms, by the kernel's HZ) is one the other CPUs
 * cannot serve: all it may use are held, or they are overloaded. It is what the kernel lends
 * the CPU for, and well within the watchdog's timeout_ms.
 */
#define FP_LEND_STARVED_JIFFIES 50

/*
 * Whether an RT task holds every online CPU: then no task has a better CPU than a lent one.
 * Read only in a lent moment, so the online mask is weighed then, not kept. It may say no
 * while yes: a CPU taken while idle counts as held only from its first lent moment (there is
 * no cpu_release without a sched_ext task to put), and one held by a deadline task stops
 * counting at its first (rt_waits_here sees RT tasks only); then the starved rule serves.
 */
static __always_inline bool every_cpu_held(void)
{
	const struct cpumask *online = scx_bpf_get_online_cpumask();
	u32 nr_online = bpf_cpumask_weight(online);

	scx_bpf_put_cpumask(online);
	return nr_released >= nr_online;
}

/*
 * Whether a lent CPU runs p: p may run there, and either nowhere else (bound, or preempted
 * inside a migrate_disable() section) or it has starved: runnable since starved_by (in
 * jiffies) or earlier, FP_LEND_STARVED_JIFFIES ago (the other CPUs cannot serve it), or now
 * while every CPU is held.
 */
static __always_inline bool lent_cpu_runs(struct task_struct *p, s32 cpu, u64 starved_by)
{
	if (!task_may_run_on(p, cpu))
		return false;
	return p->nr_cpus_allowed == 1 || p->migration_disabled ||
	       !time_before(starved_by, p->scx.runnable_at);
}

/* The first task of the queue a lent CPU runs (lent_cpu_runs), moved here; a bounded walk. */
static __always_inline bool move_lent_task(u64 dsq_id, s32 cpu, u64 starved_by)
{
	struct bpf_iter_scx_dsq it;
	struct task_struct *p;
	bool moved = false;
	u32 seen = 0;

	if (scx_bpf_dsq_nr_queued(dsq_id) <= 0)
		return false;
	if (bpf_iter_scx_dsq_new(&it, dsq_id, 0) == 0) {
		while ((p = bpf_iter_scx_dsq_next(&it)) && ++seen <= FP_LEND_SCAN_MAX) {
			if (lent_cpu_runs(p, cpu, starved_by) &&
			    scx_bpf_dsq_move(&it, p, SCX_DSQ_LOCAL, 0)) {
				moved = true;
				break;
			}
		}
	}
	bpf_iter_scx_dsq_destroy(&it);
	return moved;
}

/*
 * A CPU lent back to sched_ext while an RT task waits for it (rt_waits_here) runs what
 * cannot run elsewhere: tasks bound to it (per-CPU kernel threads, pinned tasks), tasks that
 * have starved (all CPUs they may use are held too, or the others are overloaded), and any
 * task while every CPU is held. They
 * are in the LLC's shared queue (a released CPU's own queue takes no new work) or, queued
 * just before the RT task came, in the CPU's own queue. Only while the kernel lends an
 * RT-held CPU (444 times in 65 two-second holds of the RT take-over test), so a bounded walk
 * of the queued tasks is affordable. Whether a task was moved.
 * A moment declined costs more than itself: the kernel stops its server for this CPU when
 * the class has nothing to run (__pick_task_dl) and starts it again only when the CPU's count
 * of sched_ext tasks next rises from zero. So while every CPU is held, where nothing has a
 * better CPU to wait for, any task that may run here does (with RT tasks on both CPUs of the
 * test VM, declining left one CPU without a moment for the rest of a 3 s hold in 3 of 6
 * traced holds, and in one CI run both spinners of the test went 2 s without a run).
 */
static __always_inline bool run_lent(s32 cpu)
{
	u64 starved_by = bpf_jiffies64();

	count(FP_CNT_RT_LENDS);
	if (!bpf_ksym_exists(scx_bpf_dsq_move))
		return false;
	if (!every_cpu_held())
		starved_by -= FP_LEND_STARVED_JIFFIES + 1;
	if (move_lent_task(shared_dsq_of(cpu), cpu, starved_by))
		return true;
	return (u32)cpu < FP_MAX_CPUS && move_lent_task(FP_CPU_DSQ(cpu), cpu, starved_by);
}

/*
 * An RT or deadline task (pipewire under rtkit, a kernel thread) took this CPU. Tasks already
 * in its local queue would wait until it is given back, however long that takes: they go
 * back through ops.enqueue (SCX_ENQ_REENQ) and on to another CPU. Its own queue (a task
 * whose slice ended as the RT task woke lands there) is served by the others until
 * framepace runs here again (rescue_stranded); an idle one is woken for it now, a busy one
 * takes it at its next dispatch.
 */
void BPF_STRUCT_OPS(framepace_cpu_release, s32 cpu, struct scx_cpu_release_args *args)
{
	struct fp_cpu_state *cs = this_cpu_state();
	const struct cpumask *idle;
	s32 helper;
	bool own;

	count(FP_CNT_CPU_RELEASED);
	if (cs) {
		mark_released(cs);
		/* A yielder's note is for the framepace task that runs next, not one after the
		 * RT task. A task dispatch moved here from another LLC is queued again below, with
		 * a deadline on this LLC's clock: ops.running must not convert the next one's. */
		cs->yielder_waits = 0;
		cs->moved_from_llc = 0;
	}
	fp_reenqueue_local();
	/* Its own queue, or the shared one (a slice that ended in shared mode just before): this
	 * CPU was to dispatch next, and nothing else wakes an idle CPU for them but the
	 * utilisation sampler's timer, up to 10 ms later. Without that timer (tried: 7fc25db)
	 * the RT take-over test once saw a task wait 207 ms, an idle cpu0 next to it. */
	own = (u32)cpu < FP_MAX_CPUS && scx_bpf_dsq_nr_queued(FP_CPU_DSQ(cpu)) > 0;
	if (!own && scx_bpf_dsq_nr_queued(shared_dsq_of(cpu)) <= 0)
		return;
	idle = scx_bpf_get_idle_cpumask();
	helper = bpf_cpumask_any_distribute(idle);
	scx_bpf_put_idle_cpumask(idle);
	if ((u32)helper < nr_cpus)
		scx_bpf_kick_cpu(helper, SCX_KICK_IDLE);
	/* Its own queue is served only by a CPU that dispatches (rescue_stranded): every idle
	 * one of the LLC is asked, so one going idle just now does not miss it. The shared queue
	 * is read by every busy CPU at its next slice's end, and in shared mode it is rarely
	 * empty: one idle CPU is enough there, not a kick to each for every RT preemption. */
	if (own)
		kick_llc_idle(cpu);
}
