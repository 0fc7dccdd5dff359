/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Preemption: a waking task takes the CPU of less important work (by role), or of work with a
 * later deadline.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/*
 * The CPU p may use whose work matters least (batch, then normal, then interactive, then a
 * game thread running long against p's short runs), the nearest to its previous CPU when that
 * ties (the walk starts there, and neighbouring ids mostly share a cache); -1 if every CPU
 * runs something as important, or of rank below_rank or more (victim_rank, policy.h: p's runs
 * take waker_run_ns, 0 where game threads are no victims), *seen the role read there; never
 * one p may not run on, nor one an RT task holds (p would wait there until it is back). Only
 * waking latency-critical, boosted or periodic tasks look, and they are few: a bounded walk
 * over the per-CPU states, no locks.
 */
static __always_inline s32 scan_for_victim(struct task_struct *p, s32 prev_cpu, u32 below_rank,
                                           u64 waker_run_ns, u64 now, u32 *seen)
{
	u32 best_rank = below_rank, rank, role, i, cpu;
	struct fp_cpu_state *cs;
	s32 best = -1;

	bpf_for(i, 0, nr_cpus)
	{
		if (i >= FP_PREEMPT_SCAN_MAX || best_rank == 0)
			break;
		cpu = ((u32)prev_cpu + i) % nr_cpus;
		cs = cpu_state_of(cpu);
		if (!cs || cs->released || !task_may_run_on(p, cpu))
			continue;
		/* One read: the role ranked is the role the claim expects. */
		role = *(volatile u32 *)&cs->role;
		rank = victim_rank(role, cs->run_started, now, waker_run_ns);
		if (rank < best_rank) {
			best_rank = rank;
			best = cpu;
			*seen = role;
		}
	}
	return best;
}

/*
 * scan_for_victim, and the CPU found is claimed for a task of role claim_role by a
 * compare-and-swap of its role: two wakers of one timer tick on two CPUs (a game's render and
 * logic threads, due together every logic tick) scanned at once, found the same batch CPU,
 * and both took it, the other CPU's work left running: traced under the benchmark's load,
 * 3 of the first 4 render wakeups read that were later than 2 ms though render had taken a
 * CPU waited so behind logic (docs/benchmarks.md). The loser looks once more; a role
 * ops.running wrote since fails the claim too.
 */
static __always_inline s32 victim_cpu_for(struct task_struct *p, s32 prev_cpu, u32 below_rank,
                                          u64 waker_run_ns, u64 now, u32 claim_role)
{
	struct fp_cpu_state *cs;
	u32 attempt, seen = 0;
	s32 cpu = -1;

	bpf_for(attempt, 0, 2)
	{
		cpu = scan_for_victim(p, prev_cpu, below_rank, waker_run_ns, now, &seen);
		if (cpu < 0)
			return -1;
		cs = cpu_state_of(cpu);
		if (!cs)
			return -1;
		/* One 64-bit word, role and released (a CPU an RT task took since is no victim):
		 * BPF's compare-and-swap of 32 bits needs -mcpu=v3. */
		if (__sync_val_compare_and_swap((u64 *)&cs->role, (u64)seen, (u64)claim_role) ==
		    (u64)seen)
			return cpu;
		count(FP_CNT_CLAIMS_LOST);
		cpu = -1;
	}
	return cpu;
}

/*
 * p to the head of cpu's local queue (dsq_id: SCX_DSQ_LOCAL where p is on cpu's runqueue,
 * else SCX_DSQ_LOCAL_ON | cpu), and what runs there ends its slice now (SCX_ENQ_PREEMPT). The
 * CPU is p's from now: another waker looking before p runs there must not pick it too (render
 * and logic threads wake on the same timer tick), nor kick p off it. slice carries p's run
 * ticket (run_ticket); deadline, on the clock of cpu's LLC, goes into the CPU's state, as
 * wakers there compare it, and into p's, which ops.running reads back (a local queue is no
 * vtime queue: the insert does not set it).
 */
static __always_inline void claim_cpu(struct task_struct *p, s32 cpu, u64 dsq_id, u64 deadline,
                                      u64 slice, u64 enq_flags, u64 now)
{
	struct fp_cpu_state *cs = cpu_state_of(cpu);

	if (cs)
		occupy_cpu(cs, ticket_role(slice), deadline, ticket_protect_ns(slice), now);
	p->scx.dsq_vtime = deadline;
	fp_dsq_insert(p, dsq_id, slice, enq_flags | SCX_ENQ_PREEMPT);
}

/* claim_cpu from ops.enqueue, p still on prev_cpu's runqueue; deadline is of prev_cpu's LLC
 * clock. */
static __always_inline void take_cpu(struct task_struct *p, s32 cpu, s32 prev_cpu, u64 deadline,
                                     u64 slice, u64 enq_flags, u64 now)
{
	u32 from = llc_of(prev_cpu), to = llc_of(cpu);

	if (from != to)
		deadline = at_other_clock(deadline, *vtime_now_of(from), *vtime_now_of(to));
	claim_cpu(p, cpu, SCX_DSQ_LOCAL_ON | cpu, deadline, slice, enq_flags, now);
	/* The insert into another CPU than p's is done once p's runqueue is unlocked, and 6.12
	 * loses SCX_ENQ_PREEMPT on that way: traced under load, the victim ran on for up to 12 ms
	 * with the game's render thread in its local queue. There a kick preempts it. Not where
	 * the flag works (7.3.4): a kick that lands after p started would end p's slice. The
	 * kernels in between (6.13, 6.14) were not tried; the test is 6.12's missing kfunc. */
	if (!bpf_ksym_exists(scx_bpf_dsq_insert) && cpu != prev_cpu)
		scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
}

/* A CPU taken by role; below a bound short of FP_PREEMPT_NEVER, by a periodic waker
 * (wakeup_victim_bound). */
static __always_inline void count_role_preempt(u32 below_rank)
{
	count(FP_CNT_PREEMPTED);
	if (below_rank < FP_PREEMPT_NEVER)
		count(FP_CNT_PERIODIC_PREEMPTS);
}

/*
 * A waking game-critical, compositor, audio or boosted task does not wait for less
 * important work to use up its slice: it takes the CPU that runs the least important work
 * (of rank below below_rank). Critical roles are earned by short runs, so the others lose at
 * most a few short slices; a stale per-CPU role only costs one needless reschedule (a CPU an
 * RT task took since is never picked: scan_for_victim).
 */
static __always_inline bool preempt_for(struct task_struct *p, s32 prev_cpu, u64 deadline,
                                        u64 slice, u64 enq_flags, u32 below_rank, u64 waker_run_ns,
                                        u64 now)
{
	s32 cpu = victim_cpu_for(p, prev_cpu, below_rank, waker_run_ns, now, ticket_role(slice));

	if (cpu < 0)
		return false;
	take_cpu(p, cpu, prev_cpu, deadline, slice, enq_flags, now);
	count_role_preempt(below_rank);
	return true;
}

/*
 * preempt_for as p wakes, from ops.select_cpu: the CPU p takes by role (wakeup_victim_bound),
 * or -1. The wakeup puts p on that CPU's runqueue, so it goes straight to the head of the
 * CPU's local queue and the CPU is told within the wakeup. Taken from ops.enqueue instead, p
 * is still on its previous CPU's runqueue, and the kernel defers a move into another CPU's
 * local queue until that runqueue is unlocked. Traced (ftrace, 2 vCPUs under CPU hogs and a
 * fork loop, 1200 key presses to a boosted reader, two runs each): from the wakeup to the
 * reader running p50 292-294 us and p99 880-1029 us from ops.enqueue, 201-218 and 641-891
 * from here; the reschedule IPI of the wakeups slower than 300 us left 97-106 us (median)
 * after the wakeup, 65-71 from here. Its deadline is on the victim's LLC clock from the
 * start, as that of a task put on an idle CPU (run_directly). Where no CPU qualifies,
 * ops.enqueue does not look again (victim_sought). The kernel puts p elsewhere only if the
 * CPU went offline since; p then runs next there, once.
 */
static __always_inline s32 take_cpu_on_wakeup(struct task_struct *p, struct task_ctx *tctx,
                                              s32 prev_cpu, u64 *now, const struct fp_tunables *t)
{
	u32 role = role_index(tctx->role), bound;
	u64 deadline, slice;
	bool boost;
	s32 cpu;

	/* Most wakers take no CPU by role: told without a clock read first. */
	if (!wakeup_victim_bound(role, may_be_boosted(tctx), tctx->periodic))
		return -1;
	boost = boosted(tctx, clock_once(now), t);
	bound = wakeup_victim_bound(role, boost, tctx->periodic);
	if (!bound)
		return -1;
	slice = run_ticket(tctx, role, t);
	cpu = victim_cpu_for(p, prev_cpu, bound, waker_run_short_ns(role, tctx->avg_run_ns), *now,
	                     ticket_role(slice));
	if (cpu < 0) {
		tctx->victim_sought = 1;
		return -1;
	}
	deadline = queued_deadline(tctx, *task_vtime_in(tctx, llc_of(cpu)), tctx->slept, boost, now,
	                           t);
	tctx->queued_at = *now;
	if (boost)
		count_boost(tctx);
	claim_cpu(p, cpu, SCX_DSQ_LOCAL, deadline, slice, 0, *now);
	count_role_preempt(bound);
	return cpu;
}

/* Whether a waker with this deadline may take the CPU of cs now. */
static __always_inline bool cpu_preemptible(const struct fp_cpu_state *cs, u64 deadline, u64 now)
{
	return wakeup_preempts(deadline, cs->role, cs->deadline, now, cs->preemptible_at);
}

/* The running task of cpu gives way to a waker by deadline (wakeup_preempts, policy.h). */
static __always_inline void preempt_cpu(s32 cpu)
{
	scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
	count(FP_CNT_WAKEUP_PREEMPTS);
}

/*
 * Wakeup preemption for everyone else, by deadline (wakeup_preempts, policy.h). This is what
 * helps a game no rule names: its frame and audio threads sleep between short runs. Per-CPU
 * queues: the CPU p queued on, if p may preempt it; if only the running task's protection
 * stands in the way, when that ends (preempt_at_protection_end), unless p was woken
 * synchronously (wait_out_protection false).
 */
static __always_inline bool preempt_by_deadline(s32 cpu, u64 deadline, u64 now,
                                                bool wait_out_protection)
{
	struct fp_cpu_state *cs = cpu_state_of(cpu);

	if (!cs)
		return false;
	if (cpu_preemptible(cs, deadline, now)) {
		preempt_cpu(cpu);
		return true;
	}
	if (wait_out_protection && protected_from(cs, deadline, now))
		preempt_at_protection_end(cpu, cs, now);
	return false;
}

/*
 * Shared queue: among the first FP_PREEMPT_SCAN_MAX CPUs from p's previous one, those of its
 * LLC (another LLC's CPUs read another queue: preempting one would not run p), the one p may
 * preempt that runs the latest deadline; -1 if none. Then, if wait_out_protection, p preempts
 * the CPU whose protection ends first of those it would take but for that
 * (preempt_at_protection_end).
 */
static __always_inline s32 llc_victim(struct task_struct *p, s32 cpu, u64 deadline, u64 now,
                                      bool wait_out_protection)
{
	struct fp_cpu_state *cs;
	u64 latest = 0, protected_until = 0;
	s32 victim = -1, protected_cpu = -1;
	u32 i, c, llc = llc_of(cpu);

	bpf_for(i, 0, nr_cpus)
	{
		if (i >= FP_PREEMPT_SCAN_MAX)
			break;
		c = ((u32)cpu + i) % nr_cpus;
		cs = cpu_state_of(c);
		/* Not a CPU p may run on, or one of another LLC (it reads another queue). */
		if (!cs || !task_may_run_on(p, c) || llc_of(c) != llc)
			continue;
		if (!cpu_preemptible(cs, deadline, now)) {
			if (wait_out_protection && protected_from(cs, deadline, now) &&
			    (protected_cpu < 0 ||
			     time_before(cs->preemptible_at, protected_until))) {
				protected_until = cs->preemptible_at;
				protected_cpu = c;
			}
			continue;
		}
		if (victim < 0 || time_before(latest, cs->deadline)) {
			latest = cs->deadline;
			victim = c;
		}
	}
	if (victim < 0 && protected_cpu >= 0) {
		cs = cpu_state_of(protected_cpu);
		if (cs)
			preempt_at_protection_end(protected_cpu, cs, now);
	}
	return victim;
}

/*
 * The CPU a waker queued on its LLC's shared queue preempts, or -1: the one running the latest
 * deadline among those of the LLC it may preempt (llc_victim), unless it was woken
 * synchronously (pipes, sockets: the waker said it would sleep, so a CPU frees soon) while its
 * previous CPU runs a framepace task. Then that CPU alone, as in per-CPU mode, and as EEVDF
 * weighs a wakee only against what runs where it placed it. A writer that goes on writing
 * wakes one reader after another, and each took another CPU of the LLC: on 4 vCPUs of one
 * LLC, 39-43 % of message passing's runs ended in a wakeup preemption and it took 1.79x
 * EEVDF's time; 10-11 % and 1.07x with this (medians of 4, docs/benchmarks.md). Timer and
 * futex wakeups (frames, audio, cyclictest) still look over the LLC: with every waker limited
 * to its own CPU, cyclictest's p50 under CPU hogs on 2 vCPUs went from 267-399 us to
 * 1222-1452. So does a sync wakee whose CPU an RT task holds or that runs nothing of
 * framepace's (never preemptible: it would wait for another CPU's slice to end). Those that
 * find every CPU protected take one when its protection ends (preempt_at_protection_end); a
 * sync wakee does not: its waker frees a CPU soon. Latency-critical and periodic wakers get
 * here only when no CPU runs work they may take by role.
 */
static __always_inline s32 shared_queue_victim(struct task_struct *p, bool woke_sync, s32 cpu,
                                               u64 deadline, u64 now)
{
	struct fp_cpu_state *cs = cpu_state_of(cpu);

	if (!woke_sync || !runs_framepace_task(cs) || !task_may_run_on(p, cpu))
		return llc_victim(p, cpu, deadline, now, !woke_sync);
	return cpu_preemptible(cs, deadline, now) ? cpu : -1;
}

/*
 * An interactive waker with one CPU of its LLC to run on, and that one neither idle nor
 * preemptible, takes a CPU of another LLC whose running task it may preempt, its deadline
 * carried over to that LLC's clock; of those, the one running the latest deadline relative to
 * its clock, and not past a task waiting there with an earlier one. Traced on 2 LLCs x 1
 * vCPU under CPU hogs and a fork loop, cyclictest's thread waited for a batch task's whole
 * 6 ms slice whenever it woke inside that task's protection
 * (traced p50 0.6-1.6 ms, EEVDF's 23-49 us), until it looked irregular and lost the periodic
 * path as well. Only there: with two CPUs an LLC was at EEVDF's, and on 2 LLCs x 2 vCPUs the
 * same move for every interactive waker took message passing from 1.3-1.6x to 1.7-2.5x
 * EEVDF's time. Only interactive tasks: their short runs lose little to a cold cache. At most
 * once per migration_interval_ns per task, as its other moves between LLCs
 * (migration_limited).
 */
static __always_inline bool preempt_other_llc(struct task_struct *p, struct task_ctx *tctx, s32 cpu,
                                              u64 deadline, u64 vtime_now, u64 slice, u64 enq_flags,
                                              u64 now, const struct fp_tunables *t)
{
	u64 there_deadline, ahead, latest = 0, clock, head;
	u32 i, c, llc = llc_of(cpu);
	struct fp_cpu_state *cs;
	s32 victim = -1;

	if (migration_limited(tctx, now, t))
		return false;
	bpf_for(i, 1, nr_cpus)
	{
		if (i >= FP_PREEMPT_SCAN_MAX)
			break;
		c = ((u32)cpu + i) % nr_cpus;
		if (llc_of(c) == llc || !task_may_run_on(p, c))
			continue;
		cs = cpu_state_of(c);
		/* Held by an RT task: p would wait in its local queue (scan_for_victim). */
		if (!cs || cs->released)
			continue;
		clock = *vtime_now_of(llc_of(c));
		there_deadline = at_other_clock(deadline, vtime_now, clock);
		if (!cpu_preemptible(cs, there_deadline, now))
			continue;
		/* Not past what waits there with an earlier deadline: p would run first. */
		if (queue_head_deadline(shared_dsq_of(c), &head) &&
		    time_before(head, there_deadline))
			continue;
		ahead = cs->deadline - clock;
		if (victim < 0 || (s64)(ahead - latest) > 0) {
			latest = ahead;
			victim = c;
		}
	}
	if (victim < 0)
		return false;
	tctx->last_migration_ns = now;
	take_cpu(p, victim, cpu, deadline, slice, enq_flags, now);
	count(FP_CNT_LLC_PREEMPTS);
	return true;
}
