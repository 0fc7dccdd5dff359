/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The gaming policy as pure functions of a task's observed behaviour and the tunables: what
 * role a task has, where it enters the queue, what its runtime costs it and how early its
 * deadline is. The scheduler inlines them on its hot paths; the host tests run the very same
 * code through BPF_PROG_TEST_RUN (tests/bpf) and compile it as C++ (tests/unit), with the
 * kernel's type names (u32, u64, s64) defined by the includer.
 */
#ifndef FRAMEPACE_POLICY_H
#define FRAMEPACE_POLICY_H

#include "framepace_shared.h"
#include "scx_helpers.h"

/* Moving mean with a quarter weight for the newest sample: settles in a handful of runs. */
static __always_inline u64 ewma(u64 avg, u64 sample)
{
	return (avg * 3 + sample) / 4;
}

/* A role as an index into the per-role tunables: anything out of range counts as normal. */
static __always_inline u32 role_index(u32 role)
{
	return role < FP_NR_ROLES ? role : (u32)FP_ROLE_NORMAL;
}

/* Roles that must never wait behind a migration limit or batch work. */
static __always_inline bool latency_critical(u32 role)
{
	return role == FP_ROLE_GAME_CRITICAL || role == FP_ROLE_COMPOSITOR || role == FP_ROLE_AUDIO;
}

/*
 * Behaviour that marks a game's frame, simulation or audio thread whether or not a rule names
 * the game: it wakes often (critical_wake_ns or faster) and regularly (its intervals stray
 * from their mean by less than half of it on average: a frame or audio period, where tasks
 * passing messages wake in bursts, straying by about three quarters), runs briefly each time
 * (under critical_run_ns) and sleeps at least three quarters of the time. A CPU hog never
 * matches (it does not sleep); neither does a task not yet seen to wake (avg_wake_ns and
 * wake_dev_ns start at FP_BEHAVIOUR_NS_MAX). Without the regularity test, hackbench's tasks
 * matched and took one another's CPUs 79000 times in one run.
 */
static __always_inline bool periodic_wakeups(u64 avg_run_ns, u64 avg_wake_ns, u64 wake_dev_ns,
                                             const struct fp_tunables *t)
{
	return avg_wake_ns < t->critical_wake_ns && avg_run_ns < t->critical_run_ns &&
	       avg_run_ns * 4 <= avg_wake_ns && wake_dev_ns * 2 < avg_wake_ns;
}

/*
 * The moving share of stops at which a task was still runnable: the evidence for batch. A stop
 * after at least half its slice counts (a CPU hog uses its slices up), a sleep counts against,
 * and a stop that came early with the task still runnable (another task's wakeup preempted it)
 * is no evidence either way: counted as runnable, a message-passing load whose tasks preempt
 * one another turned batch, and then every wakeup preempted them (hackbench: 266000 times).
 */
static __always_inline u64 runnable_share(u64 pct, bool runnable, u64 used_ns, u64 slice_ns)
{
	if (!runnable)
		return ewma(pct, 0);
	if (used_ns >= slice_ns / 2)
		return ewma(pct, 100);
	return pct;
}

/* Roles whose wakeups mark the wakee as working for the game. */
static __always_inline bool game_role(u32 role)
{
	return role == FP_ROLE_GAME || role == FP_ROLE_GAME_CRITICAL;
}

/* Roles an open input-boost window moves to the front (input handlers are boosted too). */
static __always_inline bool boostable(u32 role)
{
	return game_role(role) || role == FP_ROLE_COMPOSITOR;
}

/*
 * The mean run under which a game thread is game-critical: critical_run_ns to become it, a
 * quarter more to stay it. A 60 Hz logic tick of 1.5 ms of work ran 1.8-2.0 ms on average in
 * the VM, past 2 ms now and then: traced on an idle system it changed role (and with it its
 * deadline and who may take its CPU) 46-132 times in 8 s.
 */
static __always_inline u64 critical_run_bound(u32 role_now, const struct fp_tunables *t)
{
	if (role_now == FP_ROLE_GAME_CRITICAL)
		return t->critical_run_ns + t->critical_run_ns / 4;
	return t->critical_run_ns;
}

/*
 * Identity first (the daemon's class), then behaviour. Batch work is what rarely sleeps: it
 * was still runnable (slice used up, or preempted) at most of its stops. A helper the game
 * has woken within the last critical_wake_ns (wineserver, a game's own audio or network
 * process; never a kernel thread: note_waker) counts as part of the game. Nice > 0 is always
 * batch: the user asked for it.
 */
static __always_inline u32 classify_role(u32 class_id, u32 role_now, u32 weight, u64 avg_run_ns,
                                         u64 avg_wake_ns, u64 runnable_pct, u64 game_wakeup_age_ns,
                                         const struct fp_tunables *t)
{
	if (class_id == FP_CLASS_COMPOSITOR)
		return FP_ROLE_COMPOSITOR;
	if (class_id == FP_CLASS_AUDIO)
		return FP_ROLE_AUDIO;
	if (class_id == FP_CLASS_GAME) {
		if (avg_run_ns < critical_run_bound(role_now, t) &&
		    avg_wake_ns < t->critical_wake_ns)
			return FP_ROLE_GAME_CRITICAL;
		return FP_ROLE_GAME;
	}
	if (weight < 100 || runnable_pct >= t->batch_runnable_pct)
		return FP_ROLE_BATCH;
	if (game_wakeup_age_ns < t->critical_wake_ns)
		return FP_ROLE_GAME;
	if (avg_run_ns < t->interactive_run_ns)
		return FP_ROLE_INTERACTIVE;
	return FP_ROLE_NORMAL;
}

/* Virtual time plus the role's offset: roles only reorder within a bounded lag, nobody starves. */
static __always_inline u64 role_deadline(u64 vtime, u32 role, const struct fp_tunables *t)
{
	return vtime + t->role_deadline_ns[role_index(role)];
}

/*
 * Whether a task of this role that wakes periodically (its last wakeup's periodic_wakeups) is
 * treated as such. Batch work stays batch, however regular its wakeups.
 */
static __always_inline bool acts_periodic(u32 role, bool periodic)
{
	return periodic && role_index(role) != FP_ROLE_BATCH;
}

/*
 * The role whose deadline offset a task is queued with, runs with (the deadline wakers compare
 * against) and is charged against in dispatch. A thread that wakes periodically (a frame,
 * simulation or audio thread, whether or not a rule names its game) takes the game-critical
 * offset unless its own is earlier: with its own role's (normal, 4 ms later) CPU hogs lagging
 * behind the clock came first, and a traced run under load had an undetected game's render
 * thread wait 12 ms while they ran in turn.
 */
static __always_inline u32 deadline_role(u32 role, bool periodic, const struct fp_tunables *t)
{
	role = role_index(role);
	if (!acts_periodic(role, periodic) ||
	    t->role_deadline_ns[role] <= t->role_deadline_ns[FP_ROLE_GAME_CRITICAL])
		return role;
	return FP_ROLE_GAME_CRITICAL;
}

/*
 * The deadline a task is queued with: role_deadline, or for a boosted task the front: the
 * earliest virtual time any sleeper may claim, which is bounded the same way.
 */
static __always_inline u64 task_deadline(u64 vtime, u64 vtime_now, u32 role, bool boosted,
                                         const struct fp_tunables *t)
{
	if (boosted)
		return vtime_now - t->sleep_budget_ns;
	return role_deadline(vtime, role, t);
}

/* Which bound enqueue_vtime applied. */
#define FP_CLAMP_NONE 0
#define FP_CLAMP_SLEEP 1 /* a sleeper banked more than sleep_budget_ns */
#define FP_CLAMP_LAG 2   /* a task ran more than lag_limit_ns ahead */

/*
 * Where a task (re-)enters the queue, relative to the queue's virtual time: a waking sleeper
 * at most budget_ns behind it (it may not bank more), and nobody more than lag_ns ahead of
 * it. The upper bound is what keeps a low-weight task (nice 19 charges 100x) from waiting
 * past the kernel's watchdog however busy the system is. A runnable task that lags because
 * it is heavy (negative nice, a game) keeps its lag: that is its larger share.
 *
 * A waking sleeper also goes back by the time it slept (slept_ns), down to that same bound:
 * the clock moves only as tasks run ahead of it, so on a CPU with time to spare it stood
 * still while a thread that had just run was asleep, and each wakeup found that thread ahead
 * by its last run, behind every sleeper the bound had raised. One game's threads pinned to
 * one CPU (VM, 7.3.4: render 3 ms of work every 8.33 ms, logic 4.5 ms every 16.67) then ran
 * in the same order at every tick they share, logic first: render waited 4.7 ms from its
 * wakeup at the median (EEVDF 59-64 us) and its frames started about 3 ms late (EEVDF
 * 220-230 us). With this rule they started 256-308 us late at the median, and 7-9 frames
 * were missed in 8 s (EEVDF 203-252 us and 6-41 in the same boots; 45-144 before). EEVDF
 * comes near: a sleeper's negative lag decays while it sleeps (DELAY_DEQUEUE), at the queue's
 * virtual rate; here by the wall time slept, unweighted, and never past the bound every long
 * sleeper gets, so a task that sleeps gains at most sleep_budget_ns a wakeup against a CPU
 * hog, as before. Sleeps of message-passing tasks are microseconds: they move by as much.
 * slept_ns 0: no sleep to count (not a wakeup, or one already placed).
 */
static __always_inline u64 enqueue_vtime(u64 task_vtime, u64 now, u64 budget_ns, u64 lag_ns,
                                         u64 slept_ns, bool waking, u32 *clamped)
{
	u64 floor = now - budget_ns;

	if (waking && time_before(task_vtime, floor)) {
		*clamped = FP_CLAMP_SLEEP;
		return floor;
	}
	/* Right after load the clock is small and floor wraps: no sleep moves a task past it. */
	if (waking && slept_ns && now >= budget_ns) {
		if (slept_ns > task_vtime - floor) {
			*clamped = FP_CLAMP_SLEEP;
			return floor;
		}
		task_vtime -= slept_ns;
	}
	if (time_before(now + lag_ns, task_vtime)) {
		*clamped = FP_CLAMP_LAG;
		return now + lag_ns;
	}
	*clamped = FP_CLAMP_NONE;
	return task_vtime;
}

/* Weight 100 is nice 0; a heavier task's time counts for less. */
static __always_inline u64 charge_vtime(u64 task_vtime, u64 used_ns, u32 weight)
{
	return task_vtime + used_ns * 100 / (weight ? weight : 100);
}

/* Ranks of the work a CPU runs, the lower the sooner a waker takes it (preempt_rank,
 * victim_rank): batch 0, normal 1, interactive 2, a game thread running long against a short
 * waker FP_PREEMPT_LONG_RUN, never FP_PREEMPT_NEVER. */
#define FP_PREEMPT_LONG_RUN 3
#define FP_PREEMPT_NEVER 4

/*
 * How readily a CPU running a task of this role gives it up to a waking task: batch first,
 * then normal, then interactive work; never game, compositor or audio threads (or a CPU
 * running no framepace task: role FP_NR_ROLES).
 */
static __always_inline u32 preempt_rank(u32 role)
{
	switch (role) {
	case FP_ROLE_BATCH:
		return 0;
	case FP_ROLE_NORMAL:
		return 1;
	case FP_ROLE_INTERACTIVE:
		return 2;
	default:
		return FP_PREEMPT_NEVER;
	}
}

/*
 * A game thread's CPU goes to a latency-critical waker (an audio or game-critical thread, a
 * compositor) once the game thread has run FP_SHORT_WAKER_RATIO times the waker's mean run
 * in its current run: last of all victims (rank FP_PREEMPT_LONG_RUN), and never by deadline.
 * Short work first, as EEVDF's shorter requests get earlier deadlines: a game's threads
 * sharing one CPU (taskset, VM, 7.3.4: render 3 ms and logic 4.5 ms of work, audio 0.1 ms every
 * 2.67 ms) waited for each other's whole runs: audio started 821-831 us late at the median,
 * 218-230 under EEVDF, and missed 1094-1127 periods, EEVDF 338-391; on an idle system of 2
 * vCPUs, audio's late periods (1 ms or more) had waited behind render 162-179 times in 10 s,
 * 103-142 under EEVDF, which let audio preempt render. With it (and enqueue_vtime's sleep
 * rule), pinned: audio 223-277 us late at the median, 464-539 periods missed (EEVDF 213-244
 * and 279-323 in the same boots); idle: 280-347 late audio periods in 10 s (EEVDF 369-403),
 * before: 340-443 (EEVDF 380-449). The game thread keeps about two thirds of its CPU while
 * each waker runs about its mean: each preemption costs it one of the waker's runs, and its
 * run restarts the count (several wakers, or runs far past their mean, take more). A waker that never ran counts as running FP_SHORT_WAKER_MIN_RUN_NS. 0
 * (no such waker): waker_run_short_ns.
 */
#define FP_SHORT_WAKER_RATIO 2
#define FP_SHORT_WAKER_MIN_RUN_NS 50000ULL

static __always_inline u64 waker_run_short_ns(u32 role, u64 avg_run_ns)
{
	if (!latency_critical(role_index(role)))
		return 0;
	return avg_run_ns > FP_SHORT_WAKER_MIN_RUN_NS ? avg_run_ns : FP_SHORT_WAKER_MIN_RUN_NS;
}

/* preempt_rank of the task running on a CPU since run_started, for a waker whose runs
 * take waker_run_ns (waker_run_short_ns; 0: preempt_rank's). */
static __always_inline u32 victim_rank(u32 role, u64 run_started, u64 now, u64 waker_run_ns)
{
	u32 rank = preempt_rank(role);

	if (rank == FP_PREEMPT_NEVER && waker_run_ns && game_role(role) &&
	    time_since(now, run_started) >= FP_SHORT_WAKER_RATIO * waker_run_ns)
		return FP_PREEMPT_LONG_RUN;
	return rank;
}

/*
 * The CPUs a waking task takes by role, not deadline (take_cpu_on_wakeup): those whose work ranks
 * below the bound returned. Boosted and latency-critical tasks take any CPU that runs no
 * game, compositor or audio thread (latency-critical ones a game thread running long too:
 * victim_rank); a task that wakes periodically (a game's thread no rule
 * names) only one that runs batch work, and against the rest deadlines decide; others none (0).
 */
static __always_inline u32 wakeup_victim_bound(u32 role, bool boosted, bool periodic)
{
	if (boosted || latency_critical(role))
		return FP_PREEMPT_NEVER;
	if (acts_periodic(role, periodic))
		return preempt_rank(FP_ROLE_NORMAL);
	return 0;
}

/*
 * A waking task preempts the running one only when its deadline is earlier by more than
 * this: a sleeper waking behind batch work (deadline offset 12 ms) or behind a long runner
 * does, while tasks that wake each other with similar deadlines (pipes, message passing) do
 * not preempt one another on every wakeup.
 */
#define FP_WAKEUP_PREEMPT_MARGIN_NS 2000000ULL

/*
 * The least a task that sleeps often (not batch) runs before a waking task with an earlier
 * deadline may take its CPU. Without it every wakeup in a message-passing load (hackbench,
 * perf bench sched messaging: hundreds of tasks waking each other) preempted the task that
 * had just started, as each sleeper's banked time puts its deadline past the margin: 81000
 * preemptions in one benchmark run, and 2.2-2.5x EEVDF's run time.
 */
#define FP_WAKEUP_PREEMPT_MIN_RUN_NS 1000000ULL

/*
 * The least a batch task runs before a waking task with an earlier deadline may take its CPU,
 * by the CPUs an LLC has (nr_cpus over nr_llcs): 1 ms up to 3 CPUs, 2 ms from 4, 3 ms from 8,
 * as EEVDF's base slice grows with log2 of the CPUs (0.7 ms x (1 + log2 n), up to 8). A batch
 * task is not only a CPU hog: a task that writes to others without sleeping (a sender in perf
 * bench sched messaging) counts as batch too, and each reader it woke takes its CPU once this
 * runs out; the more CPUs share a queue, the more such readers wake per run. At 1 ms on 4 vCPUs
 * of one LLC (2 host cores), 43 % of all runs ended in a wakeup preemption (70412 of 163348,
 * 78 % of them against batch senders) and messaging took 2.1-2.5x EEVDF's time; 1.3-1.6x at
 * 2 ms, 1.1-1.4x at 3 ms. Not 3 ms everywhere: on 2 vCPUs under CPU hogs cyclictest's p99 went
 * from EEVDF's to 1.76x it. Game threads do not wait for this: they take a batch CPU by role
 * (take_cpu_on_wakeup). Multiplications, not a division: it is read at every queueing
 * (run_ticket).
 */
static __always_inline u64 batch_protection_ns(u32 nr_cpus, u32 nr_llcs)
{
	if (nr_cpus >= 8 * nr_llcs)
		return 3 * FP_WAKEUP_PREEMPT_MIN_RUN_NS;
	if (nr_cpus >= 4 * nr_llcs)
		return 2 * FP_WAKEUP_PREEMPT_MIN_RUN_NS;
	return FP_WAKEUP_PREEMPT_MIN_RUN_NS;
}

/*
 * How long a task that has just started keeps its CPU against wakers with earlier deadlines:
 * batch work batch_protect_ns (batch_protection_ns); anyone else twice its own mean run, at
 * least FP_WAKEUP_PREEMPT_MIN_RUN_NS; never more than its slice. Relative to the task's own
 * runs because a constant in wall time is no constant in work: on a two-LLC VM with vCPUs at
 * half speed, message-passing runs passed 1 ms, half of all runs ended in a wakeup preemption
 * (341793 of 685363) and messaging took 9.65x EEVDF's time. A task past twice its usual run is
 * running long now, and an earlier deadline may take its CPU.
 */
static __always_inline u64 wakeup_protection_ns(u32 role, u64 avg_run_ns, u64 slice_ns,
                                                u64 batch_protect_ns)
{
	u64 protect = avg_run_ns * 2;

	if (role == FP_ROLE_BATCH)
		protect = batch_protect_ns;
	if (protect < FP_WAKEUP_PREEMPT_MIN_RUN_NS)
		protect = FP_WAKEUP_PREEMPT_MIN_RUN_NS;
	return protect < slice_ns ? protect : slice_ns;
}

/*
 * A run's ticket: what ops.running tells wakers about the task that starts (its role and its
 * protection, wakeup_protection_ns), written where the task is queued into the low 9 bits of
 * the slice it is inserted with, which the kernel leaves alone until the run starts (the
 * deadline it was queued with travels in p->scx.dsq_vtime: a boosted task's is the front,
 * and no waker takes its CPU by deadline while it runs). ops.running then needs no
 * task-storage look-up: under TCG that look-up alone cost 1.5 us of the callback's 3.0-3.8
 * (scx_simple's whole ops.running: 0.6 us), and every context switch pays it. The slice
 * changes by less than 512 ns; the protection is kept in units of 2^17 ns (131 us), rounded
 * up, up to 63 units (8.3 ms, past every default slice), and a protection past the slice ends
 * with it. A slice the kernel set reads as a ticket of whatever its low bits say, for one run
 * at most: its own (20 ms, a normal task, as the scheduler loads or unloads). One it has
 * counted down gets the run's ticket back as the run stops (slice_with_ticket, ops.stopping).
 */
#define FP_TICKET_ROLE_MASK 0x7ULL
#define FP_TICKET_PROTECT_SHIFT 3
#define FP_TICKET_PROTECT_UNITS_MAX 63ULL
#define FP_TICKET_UNIT_SHIFT 17
#define FP_TICKET_MASK 0x1ffULL

static __always_inline u64 ticket_slice(u64 slice_ns, u32 role, u64 protect_ns)
{
	u64 units = (protect_ns + (1ULL << FP_TICKET_UNIT_SHIFT) - 1) >> FP_TICKET_UNIT_SHIFT;

	if (units > FP_TICKET_PROTECT_UNITS_MAX)
		units = FP_TICKET_PROTECT_UNITS_MAX;
	/* Never a zero slice: the kernel reads 0 as "keep the current one". */
	if (slice_ns <= FP_TICKET_MASK)
		slice_ns = FP_TICKET_MASK + 1;
	return (slice_ns & ~FP_TICKET_MASK) | units << FP_TICKET_PROTECT_SHIFT |
	       (role_index(role) & FP_TICKET_ROLE_MASK);
}

/* A slice the kernel has counted down from, with the ticket (its low bits) it started with. */
static __always_inline u64 slice_with_ticket(u64 slice, u64 ticket)
{
	slice &= ~FP_TICKET_MASK;
	return (slice ? slice : FP_TICKET_MASK + 1) | (ticket & FP_TICKET_MASK);
}

/*
 * The slice a game thread displaced by a short waker (victim_rank) resumes with: what its
 * slice had left, left_ns from the last displacement or the whole ticket_slice, less used_ns
 * run since it started; 0 when less than FP_TICKET_MASK is left (it is used up: queued as any
 * other task). Not a fresh slice: audio displacing a logic tick every 2.67 ms would have
 * renewed it each time, and the tick held the CPU for all its work. used_ns counts from the
 * run's start (the CPU state's run_started), which a slice renewed in dispatch keeps: a thread
 * displaced past its first slice has none left and is queued by deadline.
 */
static __always_inline u64 resume_slice(u64 ticket_slice, u64 left_ns, u64 used_ns)
{
	u64 slice = left_ns ? left_ns : ticket_slice & ~FP_TICKET_MASK;

	if (used_ns + FP_TICKET_MASK >= slice)
		return 0;
	return slice_with_ticket(slice - used_ns, ticket_slice);
}

static __always_inline u32 ticket_role(u64 slice)
{
	return role_index(slice & FP_TICKET_ROLE_MASK);
}

static __always_inline u64 ticket_protect_ns(u64 slice)
{
	return ((slice >> FP_TICKET_PROTECT_SHIFT) & FP_TICKET_PROTECT_UNITS_MAX)
	       << FP_TICKET_UNIT_SHIFT;
}

/*
 * Whether a task with waking_deadline may take the CPU from the running task at all: its
 * deadline is earlier by more than the margin, and the running task is one preempt_rank gives
 * up. Wakers also wait for its protection (wakeup_preempts); a yielder cuts its slice to it
 * (slice_behind_yielder).
 */
static __always_inline bool deadline_outranks(u64 waking_deadline, u32 running_role,
                                              u64 running_deadline)
{
	return preempt_rank(running_role) < FP_PREEMPT_NEVER &&
	       time_before(waking_deadline + FP_WAKEUP_PREEMPT_MARGIN_NS, running_deadline);
}

/*
 * Wakeup preemption by deadline, as EEVDF does it: a task that slept (its virtual time is at
 * most sleep_budget_ns behind) wakes with an early deadline and does not wait for the
 * running task's slice to end, unless that task is one preempt_rank never gives up, or its
 * protection (wakeup_protection_ns from its start) lasts until preemptible_at. A now read
 * before the running task started (another CPU's write raced the waker) is before that too.
 */
static __always_inline bool wakeup_preempts(u64 waking_deadline, u32 running_role,
                                            u64 running_deadline, u64 now, u64 preemptible_at)
{
	return deadline_outranks(waking_deadline, running_role, running_deadline) &&
	       !time_before(now, preemptible_at);
}

/*
 * Steals skip a CPU's own queue they found empty until a task is put there again: the queue
 * carries the stamp of its last insert (queue_stamp: the clock in ~1 us units, 32 bits, odd so
 * that it never reads as the zeroed mark of a queue never looked at), and a steal that found it
 * empty marks the stamp it read. An insert from ops.enqueue is a direct dispatch the kernel
 * carries out once the callback returns, after the stamp: a steal that failed within
 * FP_INSERT_LANDS_NS of the stamp may have looked before the task landed, and leaves no mark,
 * so that a later steal looks again. A stamp from another CPU's clock that reads ahead (by
 * less than the window) is recent too. The window is far above the few hundred ns a direct dispatch takes, to cover a
 * vCPU the host stops in between; a wrong skip (a stamp met again after the 73 min wrap) only
 * delays a steal: the owner always reads its own queue.
 */
#define FP_QUEUE_STAMP_SHIFT 10
#define FP_INSERT_LANDS_NS (256 * 1000ULL)

static __always_inline u32 queue_stamp(u64 now)
{
	return (u32)(now >> FP_QUEUE_STAMP_SHIFT) | 1;
}

static __always_inline bool empty_queue_markable(u32 inserted_stamp, u64 now)
{
	s32 age = (s32)(queue_stamp(now) - inserted_stamp),
	    lands = (s32)(FP_INSERT_LANDS_NS >> FP_QUEUE_STAMP_SHIFT);

	/* A stamp more than half the wrap old reads as negative: old too, not recent. */
	return age >= lands || age <= -lands;
}

/*
 * Where a new process starts (ops.select_cpu on a fork): not on an idle core a game, compositor
 * or audio thread started on within FP_LATENCY_CPU_RECENT_NS (on any of its hardware threads),
 * while its parent's is not one. The kernel never moves a task at exec under sched_ext (select_task_rq_scx keeps prev
 * for WF_EXEC), so a short program starts out where its fork put it, until something preempts
 * it there, and there the game's timers fire: each game thread they wake finds the CPU busy
 * and preempts it or goes elsewhere. EEVDF's exec balancing (sched_exec) moves the program to
 * the CPU its parent left instead. Traced
 * with a program started every 0.5 s beside the idle benchmark game (2 vCPUs, 7.3.4): wakeups
 * of game threads on the program's CPU moved to the other, idle one 792 times under framepace
 * and 72 under EEVDF. Which CPUs those threads use is stamped as each run starts
 * (latency_stamp: the clock in ~1 ms units, 32 bits, odd so that it never reads as the zero of
 * a CPU none ran on); 50 ms is three frames at 60 Hz. A stamp from a CPU whose clock reads
 * ahead is recent too; one older than half the wrap (26 days) is not.
 */
#define FP_LATENCY_STAMP_SHIFT 20
#define FP_LATENCY_CPU_RECENT_NS (50 * 1000 * 1000ULL)

static __always_inline bool marks_latency_cpu(u32 role)
{
	return game_role(role) || latency_critical(role);
}

static __always_inline u32 latency_stamp(u64 now)
{
	return (u32)(now >> FP_LATENCY_STAMP_SHIFT) | 1;
}

static __always_inline bool latency_cpu_recent(u32 stamp, u64 now)
{
	s32 age = (s32)(latency_stamp(now) - stamp),
	    recent = (s32)(FP_LATENCY_CPU_RECENT_NS >> FP_LATENCY_STAMP_SHIFT);

	return stamp && age < recent && age > -recent;
}

/*
 * Whether a task whose slice ended (or that yielded) runs on: when nothing waits, always;
 * else only if its deadline, charged for the run so far, is still before head, that of the
 * task dispatch would take, and it did not yield. Charged deadlines alone would keep a task
 * spinning on sched_yield() until its fair share was used: it runs little between yields.
 */
static __always_inline bool prev_keeps_cpu(bool waiting, bool yielded, u64 charged_deadline,
                                           u64 head)
{
	return !waiting || (!yielded && time_before(charged_deadline, head));
}

/*
 * The slice of a task that takes the CPU from one that yielded and still waits: a yielder is
 * not woken, so no wakeup preemption comes for it, and with an earlier deadline than this
 * task's it waited this task's whole slice. It waits as a waker would: if a waker with the
 * yielder's deadline would preempt this task (deadline_outranks), the task runs only its wakeup
 * protection (protect_ns); then dispatch compares the two deadlines again. Slices end at a
 * tick (250 Hz), so a protection of 1 ms lasts 1-5 ms. A frame limiter that sleeps until 2 ms
 * before each frame and spins on sched_yield() for the rest, with two CPU hogs on its CPU,
 * started its frames 7.0-7.1 ms late at the median (the hogs' 6 ms batch slices, 8 ms at the
 * tick), 2.0-2.4 ms with this (EEVDF 1.2-1.6).
 */
static __always_inline u64 slice_behind_yielder(u64 slice_ns, u32 role, u64 deadline,
                                                u64 protect_ns, u64 yielder_deadline)
{
	if (protect_ns >= slice_ns || !deadline_outranks(yielder_deadline, role, deadline))
		return slice_ns;
	return protect_ns;
}

/*
 * What a task that calls sched_yield() forfeits, in ns of its run to charge: the rest of its
 * slice, as EEVDF (7.x) moves a yielder's vruntime to its deadline. Without it a spinner
 * runs little between yields, its virtual time stays behind, and spinners on sched_yield()
 * took their fair share from the worker they waited for (4x its CPU time with 3 spinners on
 * one CPU; EEVDF 1.0-1.2x). Like EEVDF's (only while eligible), only while the task is not
 * ahead of its LLC's clock: a spinner pays one slice, then waits until the clock passes it.
 * Charged at the task's weight, a nice-19 yielder's slice is 100x as much virtual time;
 * enqueue's lag limit bounds it, as it bounds any run of such a task.
 */
static __always_inline u64 yield_forfeit_ns(u64 task_vtime, u64 clock, u64 used_ns, u64 slice_ns)
{
	if (time_before(clock, task_vtime) || used_ns >= slice_ns)
		return 0;
	return slice_ns - used_ns;
}

/*
 * An LLC's virtual clock once a task that started at virtual time task_vtime ran there: it
 * follows the tasks it runs, but at most one of the task's slices at a time. A nice-19 task is
 * charged 100x its run and re-enters up to lag_limit_ns (40 ms) ahead of the clock: followed
 * all the way, the clock leapt 40 ms whenever such a task ran (khugepaged, every 10 s), and
 * every sleeper woken after it entered behind every CPU hog until the hogs caught up.
 */
static __always_inline u64 advanced_clock(u64 clock, u64 task_vtime, u64 slice_ns)
{
	if (!time_before(clock, task_vtime))
		return clock;
	return time_before(task_vtime, clock + slice_ns) ? task_vtime : clock + slice_ns;
}

/*
 * Where a task ahead of its LLC's clock takes it (advanced_clock): to its virtual time, but
 * not past the deadline of the first task waiting in the LLC's queue (head, when one waits).
 * Traced under 4 CPU hogs and a shell loop running /bin/true: each child starts at the clock
 * and runs ahead of it; followed all the way, 950 such runs took the clock 2.5 s in 10 s,
 * 16 ms ahead of the hogs, every sleeper entered behind them, and a 1 kHz cyclictest thread
 * waited 8-15 ms while batch hogs ran in turn. An eighth of the task's lead is always taken:
 * a head that cannot run for long (bound to a CPU an RT task holds) must not stop the clock,
 * or every task would end up at the lag limit and weights would no longer count.
 */
static __always_inline u64 clock_target(u64 clock, u64 task_vtime, bool waiting, u64 head)
{
	u64 least = clock + (task_vtime - clock) / 8;

	if (!waiting || !time_before(head, task_vtime))
		return task_vtime;
	return time_before(head, least) ? least : head;
}

/*
 * A virtual time or deadline of one LLC's clock carried to another LLC's: the same distance
 * from that clock. Each LLC's clock follows the tasks it runs, so the clocks drift apart, and
 * a deadline compared raw with another LLC's would win or lose by the drift.
 */
static __always_inline u64 at_other_clock(u64 vtime, u64 from_clock, u64 to_clock)
{
	return vtime - from_clock + to_clock;
}

/*
 * Whether a CPU of a less busy LLC takes the first task waiting in another: when that LLC has
 * over 9/8 of this one's runnable tasks per CPU (cross-multiplied: no division). here_runnable
 * counts what this LLC's CPUs run and queue, the task this CPU is about to put back
 * included. Tasks that never sleep (CPU hogs) are only ever queued again in their own LLC:
 * five of them on two single-CPU LLCs ran 3:2 for as long as they ran, 0.33 against 0.50 of
 * a CPU each. Taken while the other side has more, such a count rotates between the LLCs and
 * each task gets its share over time, as under EEVDF's balancer (0.40 each). The margin keeps
 * long queues that differ by a task or two where they are: taken at any difference, the
 * message-passing benchmark on two LLCs of two vCPUs moved a task every millisecond each
 * way and ran 4-5x EEVDF's time (1.5x without the balancer).
 */
static __always_inline bool llc_busier(u32 there_runnable, u32 there_cpus, u32 here_runnable,
                                       u32 here_cpus)
{
	return (u64)there_runnable * here_cpus * 8 > (u64)here_runnable * there_cpus * 9;
}

/*
 * The utilisation sampler's period (sample_utilisation): every 10 ms while any CPU is busy,
 * so a load that builds up reaches shared mode within tens of milliseconds; every 80 ms once
 * a sample found every CPU idle, where there is nothing to decide and each firing wakes an
 * idle CPU. Traced in the VM over 10 s of an idle system: with a 100 Hz sampler framepace
 * took 1415-1487 local timer interrupts (1008-1013 hrtimer softirqs) against EEVDF's 449-477
 * in the same boot; with this idle period 632-691 (173-174 softirqs) against 481-538.
 * The first busy sample after an idle spell comes at most 80 ms late; until then tasks use
 * their CPUs' own queues, which serve a light load best anyway.
 */
#define FP_UTIL_PERIOD_NS 10000000ULL
#define FP_UTIL_IDLE_PERIOD_NS 80000000ULL

static __always_inline u64 util_sample_period_ns(u32 busy_pct)
{
	return busy_pct ? FP_UTIL_PERIOD_NS : FP_UTIL_IDLE_PERIOD_NS;
}

#endif /* FRAMEPACE_POLICY_H */
