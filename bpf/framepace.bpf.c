/* SPDX-License-Identifier: GPL-2.0 */
/*
 * framepace - a sched_ext scheduler for games.
 *
 * Policy:
 *  - framepaced tells us which thread groups are games, compositors and audio servers (the
 *    "classes" map, by tgid); behaviour does the rest. Each task gets a role (policy.h) from
 *    its class, its mean run length, how often it wakes and who wakes it; the role picks its
 *    slice and its deadline offset, both tunables.
 *  - Placement is locality first: the previous CPU if idle, else a wholly idle SMT core in
 *    its LLC, else any idle CPU in its LLC, else any idle CPU; the task goes straight to that
 *    CPU's local queue. Tasks that are not latency-critical move to another LLC at most once
 *    per migration_interval_ns.
 *  - Otherwise the task is queued by deadline (weighted virtual time plus its role's offset):
 *    under light load on its CPU's own queue (cache-warm, no shared lock; idle CPUs steal),
 *    and on its LLC's shared queue once CPU utilisation passes shared_util_pct, where the
 *    earliest deadline in that cache runs next (a CPU with nothing left takes another LLC's
 *    work before idling). A waking task whose deadline is well before that of the
 *    task running where it queued preempts it, as in EEVDF: sleepers (a game's frame and
 *    audio threads, whether or not a rule names the game) do not wait out batch slices.
 *  - Runtime is charged as used_ns * 100 / weight: nice levels are honoured, and games run
 *    with game_weight_pct of their weight. A sleeper banks at most sleep_budget_ns, so lag is
 *    bounded and batch work always progresses.
 *  - input_event opens a short boost window (only while framepaced's heartbeat is fresh):
 *    game, compositor and input-handling tasks queue at the front and preempt batch work on
 *    their CPU. Tasks woken from inside input_event are the input handlers.
 *  - ops.timeout_ms makes the kernel eject us (and fall back to the fair class) if any
 *    runnable task waits longer than that: the last line of defence against a policy bug.
 *
 * RT tasks are above sched_ext and never reach us; the audio role is for the SCHED_OTHER
 * audio servers (pipewire without rtkit). When an RT task takes a CPU, the tasks in that
 * CPU's local queue are sent elsewhere (ops.cpu_release), and the other CPUs serve its own
 * queue until framepace runs there again.
 */
#define BPF_NO_KFUNC_PROTOTYPES
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kfuncs.h"
#include "scx_helpers.h"
#include "framepace_shared.h"
#include "policy.h"

char _license[] SEC("license") = "GPL";

#define ENOENT 2
#define EBUSY 16
#define ENOMEM 12
#define CLOCK_MONOTONIC 1

/* The gap between entering and leaving shared mode, in utilisation percent. */
#define UTIL_HYSTERESIS_PCT 10
/* How many CPUs a waking task looks at for work to preempt. */
#define FP_PREEMPT_SCAN_MAX 64

/* Topology, filled in by framepaced before load: LLC ids are dense, 0 .. nr_llcs-1.
 * nr_cpus counts possible CPUs (ids 0 .. nr_cpus-1), so hotplug never leaves it stale.
 * Globals use __u32/__u64: the skeleton repeats their types for C++, which has no u32. */
const volatile __u32 nr_cpus = 1;
const volatile __u32 nr_llcs = 1;
const volatile __u32 smt_enabled = 0;
const volatile __u32 cpu_llc_id[FP_MAX_CPUS];

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct fp_tunables);
} tunables SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct fp_cpu_counters);
} counters SEC(".maps");

/* Written once by framepaced at load; read by a restarted daemon before it adopts us. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct fp_meta);
} meta SEC(".maps");

/*
 * The event rings: an array of FP_NR_RINGS ring buffers, created by framepaced at the size
 * it was configured with. The kernel does not hold inner ring buffers to the template's
 * size, only to its type.
 */
struct ring_template {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FP_RING_BYTES_DEFAULT);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, FP_NR_RINGS);
	__type(key, u32);
	__array(values, struct ring_template);
} rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct fp_ring_counters);
} ring_counters SEC(".maps");

/* Per-task state lives and dies with the task: no table to size, no LRU, nothing to leak. */
struct task_ctx {
	u64 vtime;         /* weighted virtual time: the task's place in the queues */
	u64 running_since; /* fp_now() at the last ops.running; 0 until it first runs */
	u64 exec_at_run;   /* p->se.sum_exec_runtime then: what a run used, without a clock read */
	u64 generation;    /* the generation the task was classified in */
	u64 runs;
	u64 runtime_ns;
	u64 queued_at;    /* ns when it was last queued; 0 once it runs */
	u64 avg_run_ns;   /* moving mean of run lengths */
	u64 avg_wake_ns;  /* moving mean of the intervals between wakeups */
	u64 wake_dev_ns;  /* moving mean of their distance from that mean: how regular they are */
	u64 last_wake_ns; /* when it last woke */
	u64 last_migration_ns;
	u64 game_wakeup_ns;  /* when a game thread last woke it */
	u64 input_wakeup_ns; /* when input_event last woke it */
	u64 boosts;          /* times it was queued as boosted (inside an input-boost window) */
	u64 runnable_pct;    /* moving share of stops at which it was still runnable, % */
	u32 classes_seq;     /* classes_seq its class was read at */
	u32 vtime_llc;       /* the LLC whose virtual clock vtime is measured against */
	u8 class_id;         /* enum fp_class of its thread group */
	u8 role;             /* enum fp_role */
	u8 slept;            /* stopped without being runnable: the next run is a wakeup */
	u8 periodic;         /* periodic_wakeups as of its last wakeup: its deadline_role */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

struct llc_ctx {
	struct bpf_cpumask __kptr *cpus;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FP_MAX_CPUS);
	__type(key, u32);
	__type(value, struct llc_ctx);
} llcs SEC(".maps");

/* Room to intersect an LLC with a task's allowed CPUs without allocating on the hot path. */
struct cpu_scratch {
	struct bpf_cpumask __kptr *mask;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct cpu_scratch);
} scratch SEC(".maps");

/* framepaced's decisions, by tgid (enum fp_class). Read once per task per classes_seq. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, u32);
} classes SEC(".maps");

/*
 * What each CPU is doing, for wakers and for boosted tasks looking for batch work to preempt.
 * A global array, not a per-CPU map: any CPU's state is an address computation, where
 * bpf_map_lookup_percpu_elem is a helper call per CPU a waker looks at. One cache line each:
 * every CPU writes its own at each ops.running and ops.stopping, and a waker that takes a CPU
 * (preempt_for) writes that CPU's.
 */
struct cpu_state {
	u32 role;           /* role of the running task; FP_NR_ROLES while none runs */
	u32 released;       /* an RT or deadline task holds the CPU (ops.cpu_release) */
	u64 deadline;       /* deadline of the running task, for wakeup preemption */
	u64 preemptible_at; /* no waker preempts it before (its start + wakeup_protection_ns) */
	u32 own_inserts;    /* tasks ever put in the CPU's own queue (wraps) */
	u32 own_stolen_at;  /* own_inserts when a steal last took nothing from that queue */
} __attribute__((aligned(64)));

/*
 * CPUs from FP_MAX_CPUS on have none (cpu_state_of returns NULL): they are never preemption
 * victims, never take a synchronous wakeup, do not credit the game as a waker, and are served
 * by their LLC's shared queue.
 */
static struct cpu_state cpu_states[FP_MAX_CPUS];

struct util_timer {
	struct bpf_timer timer;
	struct bpf_cpumask __kptr *idle_online; /* the sampler's room for idle & online */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct util_timer);
} util_timers SEC(".maps");

/*
 * Bumped by framepaced after every change to "classes": a task re-reads its class when its
 * copy is older. One compare on the hot path, no scan.
 */
__u32 classes_seq;

/* Share of busy CPUs, a moving mean of sample_utilisation's samples, in percent. */
__u32 util_pct;

/* Non-zero while utilisation is above shared_util_pct: everything uses its LLC's queue. */
__u32 shared_mode;

/*
 * CPUs an RT or deadline task holds (cpu_state.released): non-zero only while one does, so
 * the paths that serve such a CPU's queue cost one read of this word the rest of the time.
 */
__u32 nr_released;

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

/*
 * Bumped by framepaced on every (re)start. A task whose context was set up in an older
 * generation is re-classified the next time it runs: one compare on the hot path, no scan.
 */
__u64 generation;

/*
 * CLOCK_MONOTONIC ns of framepaced's last heartbeat. Read only when input opens or extends a
 * boost window: a dead or stuck daemon cannot leave games boosted over everyone else.
 */
__u64 heartbeat_ns;

/* End of the open input-boost window (fp_now's clock); in the past when none is open. */
__u64 boost_until_ns;

/*
 * The thread inside input_event (input_mark; 0 when none): whoever it wakes handles input.
 * A thread id, not a per-CPU flag: the trampoline may be preempted and migrated between
 * input_event and the fexit program (preemption is on there), and a flag set on one CPU and
 * cleared on another stayed set for good: a fifth of all wakeups in a benchmark run counted
 * as input wakeups. Two devices' events at once on two CPUs: the later one's thread wins, the
 * other's wakeups are not credited, and nothing stays set.
 */
__u32 input_tid;

/*
 * input_tid's value for the current context. An interrupt on an idle CPU (a USB keyboard's)
 * runs input_event in the idle task, whose pid is 0 on every CPU: there the CPU marks it
 * (an interrupt cannot migrate). Thread ids stay below PID_MAX_LIMIT (2^22), clear of bit 31.
 */
static __always_inline u32 input_mark(void)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();

	return tid ? tid : 0x80000000u | bpf_get_smp_processor_id();
}

struct fp_exit_info exit_info;

static __always_inline void count_add(enum fp_counter idx, u64 delta)
{
	u32 zero = 0;
	struct fp_cpu_counters *cnt = bpf_map_lookup_elem(&counters, &zero);

	if (cnt && idx < FP_NR_COUNTERS)
		cnt->value[idx] += delta;
}

static __always_inline void count(enum fp_counter idx)
{
	count_add(idx, 1);
}

/*
 * Reserves an event in ring idx and counts it as produced or dropped. Never waits: a full
 * ring costs one failed reserve and one counter increment.
 */
static __always_inline struct fp_event *event_reserve_in(u32 idx, u16 type)
{
	u32 zero = 0, key = idx;
	struct fp_ring_counters *cnt = bpf_map_lookup_elem(&ring_counters, &zero);
	struct fp_event *ev = NULL;
	void *ring;

	/* key, not idx, goes to the lookup: a stack copy would lose idx's bounds. */
	ring = bpf_map_lookup_elem(&rings, &key);
	if (ring)
		ev = bpf_ringbuf_reserve(ring, sizeof(*ev), 0);
	if (cnt && idx < FP_NR_RINGS) {
		if (ev) {
			cnt->produced[idx]++;
		} else {
			/* Once per ring and CPU: when overflow began, for measuring the alert. */
			if (!cnt->dropped[idx])
				cnt->first_drop_ns[idx] = bpf_ktime_get_ns();
			cnt->dropped[idx]++;
		}
	}
	if (!ev)
		return NULL;
	ev->version = FP_EVENT_VERSION;
	ev->type = type;
	ev->cpu = bpf_get_smp_processor_id();
	ev->timestamp_ns = bpf_ktime_get_ns();
	return ev;
}

/* The writer's CPU picks the ring. */
static __always_inline struct fp_event *event_reserve(u16 type)
{
	return event_reserve_in(bpf_get_smp_processor_id() % FP_NR_RINGS, type);
}

/*
 * Exec and exit events are acted on (a game is classified within milliseconds of its exec):
 * they wake framepaced, also when events that did not wake it wait in the ring before them
 * (the kernel's default wakes a consumer only when it has read everything before).
 */
static __always_inline void event_submit_now(struct fp_event *ev)
{
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
}

/*
 * Role changes, latency outliers and boost windows are only counted by framepaced: they ride
 * along with the next exec or exit, or wake it once a quarter of their ring waits. Each woke
 * it before, and every wakeup of the daemon is a delay for whatever shares its CPU: on an
 * idle system the game's own role changes (46-132 in 8 s, traced in the VM) did.
 */
static __always_inline void event_submit_batched(struct fp_event *ev)
{
	u32 key = ev->cpu % FP_NR_RINGS;
	void *ring = bpf_map_lookup_elem(&rings, &key);
	u64 flags = BPF_RB_NO_WAKEUP;

	if (ring && bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) >=
	                    bpf_ringbuf_query(ring, BPF_RB_RING_SIZE) / 4)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(ev, flags);
}

static __always_inline void event_set_task(struct fp_event *ev, struct task_struct *p)
{
	ev->pid = p->tgid;
	ev->tid = p->pid;
	__builtin_memcpy(ev->comm, p->comm, sizeof(ev->comm));
}

/* What the scheduler runs with until framepaced has written the tunables map. */
static const struct fp_tunables default_tunables = {
        .role_slice_ns = FP_ROLE_SLICE_NS_DEFAULTS,
        .role_deadline_ns = FP_ROLE_DEADLINE_NS_DEFAULTS,
        .sleep_budget_ns = FP_SLEEP_BUDGET_NS_DEFAULT,
        .boost_window_ns = FP_BOOST_WINDOW_NS_DEFAULT,
        .heartbeat_limit_ns = FP_HEARTBEAT_LIMIT_NS_DEFAULT,
        .latency_outlier_ns = FP_LATENCY_OUTLIER_NS_DEFAULT,
        .critical_run_ns = FP_CRITICAL_RUN_NS_DEFAULT,
        .critical_wake_ns = FP_CRITICAL_WAKE_NS_DEFAULT,
        .interactive_run_ns = FP_INTERACTIVE_RUN_NS_DEFAULT,
        .batch_runnable_pct = FP_BATCH_RUNNABLE_PCT_DEFAULT,
        .game_weight_pct = FP_GAME_WEIGHT_PCT_DEFAULT,
        .shared_util_pct = FP_SHARED_UTIL_PCT_DEFAULT,
        .migration_interval_ns = FP_MIGRATION_INTERVAL_NS_DEFAULT,
        .lag_limit_ns = FP_LAG_LIMIT_NS_DEFAULT,
};

/* One map lookup, no copy. framepaced validates before writing; a zero slice = never written. */
static __always_inline const struct fp_tunables *current_tunables(void)
{
	u32 zero = 0;
	struct fp_tunables *t = bpf_map_lookup_elem(&tunables, &zero);

	if (!t || !t->role_slice_ns[FP_ROLE_NORMAL])
		return &default_tunables;
	return t;
}

/*
 * An index into the arrays of FP_MAX_CPUS entries (CPU states, LLC ids, LLC clocks), 0 when
 * out of range. The mask is in asm, which the compiler cannot drop as redundant: it may keep
 * a bound test on a copy of the value that the verifier cannot tie to the index (seen:
 * enqueue refused on 7.3). FP_MAX_CPUS is a power of two.
 */
static __always_inline u64 bounded_index(u32 i)
{
	u64 c = i;

	if (c >= FP_MAX_CPUS)
		c = 0;
	asm volatile("%[c] &= %[mask]" : [c] "+r"(c) : [mask] "i"(FP_MAX_CPUS - 1));
	return c;
}

/* A CPU's state by id: ops.running and ops.stopping may be called from another CPU than the
 * task's (a remote sched_setaffinity or renice puts the running task and sets it again). */
static __always_inline struct cpu_state *cpu_state_of(s32 cpu)
{
	if ((u32)cpu >= FP_MAX_CPUS)
		return NULL;
	return &cpu_states[bounded_index(cpu)];
}

static __always_inline struct cpu_state *this_cpu_state(void)
{
	return cpu_state_of(bpf_get_smp_processor_id());
}

/* What wakers weigh up on a CPU (cs: NULL past FP_MAX_CPUS) that now runs a task of tctx's. */
static __always_inline void occupy_cpu(struct cpu_state *cs, struct task_ctx *tctx, u64 deadline,
                                       u64 now, const struct fp_tunables *t)
{
	u32 role = role_index(tctx->role);

	if (!cs)
		return;
	cs->role = role;
	cs->deadline = deadline;
	cs->preemptible_at =
	        now + wakeup_protection_ns(role, tctx->avg_run_ns, t->role_slice_ns[role]);
}

/* After a task was put in cpu's own queue: steals look there again (steal_from_cpu_queue).
 * Wakers on several CPUs may put tasks there at once, hence the atomic. */
static __always_inline void note_own_insert(s32 cpu)
{
	struct cpu_state *cs = cpu_state_of(cpu);

	if (cs)
		__sync_fetch_and_add(&cs->own_inserts, 1);
}

/*
 * The CPU's state goes to "released" when an RT or deadline task takes it and back when
 * framepace runs or dispatches there. Both happen on that CPU under its runqueue lock,
 * so only the count shared with the others needs an atomic.
 */
static __always_inline void mark_released(struct cpu_state *cs)
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

static __always_inline void release_ends(struct cpu_state *cs)
{
	cs->released = 0;
	__sync_fetch_and_add(&nr_released, (u32)-1);
}

/* A framepace task runs here: the CPU is back, unless it is only lent. */
static __always_inline void mark_acquired(struct cpu_state *cs)
{
	if (cs->released && !rt_waits_here())
		release_ends(cs);
}

static __always_inline bool cpu_released(s32 cpu)
{
	struct cpu_state *cs;

	if (!nr_released)
		return false;
	cs = cpu_state_of(cpu);
	return cs && cs->released;
}

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
	struct cpu_state *cs;

	if (!waking || cpu == bpf_get_smp_processor_id())
		return !cpu_released(cpu);
	cs = cpu_state_of(cpu);
	return cs && cs->role < FP_NR_ROLES && !cs->released;
}

static __always_inline struct task_ctx *lookup_task_ctx(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctxs, p, 0, 0);
}

static __always_inline void count_clamp(u32 clamped)
{
	if (clamped == FP_CLAMP_SLEEP)
		count(FP_CNT_SLEEP_CLAMPED);
	else if (clamped == FP_CLAMP_LAG)
		count(FP_CNT_LAG_CLAMPED);
}

/* The weight runtime is charged at: the nice level's, scaled up for games. */
static __always_inline u64 charge_weight(struct task_struct *p, const struct task_ctx *tctx,
                                         const struct fp_tunables *t)
{
	u64 weight = p->scx.weight;

	if (tctx->class_id == FP_CLASS_GAME)
		weight = weight * t->game_weight_pct / 100;
	return weight;
}

/*
 * Opens the input-boost window, or extends the open one. Both consult the heartbeat: held
 * keys or a stream of mouse events would otherwise keep a window open for good after the
 * daemon died.
 */
static __always_inline bool open_boost_window(const struct fp_tunables *t)
{
	u64 now = fp_now();
	struct fp_event *ev;
	bool extending = time_before(now, boost_until_ns);

	/* The heartbeat is on framepaced's clock, CLOCK_MONOTONIC. */
	if (!heartbeat_ns || time_since(bpf_ktime_get_ns(), heartbeat_ns) > t->heartbeat_limit_ns) {
		count(FP_CNT_BOOST_REFUSED);
		return false;
	}
	boost_until_ns = now + t->boost_window_ns;
	count(FP_CNT_BOOST_OPENED);
	if (extending)
		return true;
	ev = event_reserve(FP_EV_BOOST_OPENED);
	if (ev) {
		ev->boost.window_ns = t->boost_window_ns;
		event_submit_batched(ev);
	}
	return true;
}

/* Boosted: a window is open and the task is the game's, the compositor, or handles input. */
static __always_inline bool boosted(const struct task_ctx *tctx, u64 now,
                                    const struct fp_tunables *t)
{
	if (!time_before(now, boost_until_ns))
		return false;
	return boostable(tctx->role) || time_since(now, tctx->input_wakeup_ns) < t->boost_window_ns;
}

/* State set up by an earlier daemon generation starts over; the task keeps its place. */
static __always_inline void reclassify(struct task_ctx *tctx)
{
	tctx->runs = 0;
	tctx->runtime_ns = 0;
	tctx->classes_seq = classes_seq - 1;
	tctx->generation = generation;
	count(FP_CNT_RECLASSIFIED);
}

/* Re-reads the thread group's class after framepaced changed the classes map. */
static __always_inline void refresh_class(struct task_struct *p, struct task_ctx *tctx)
{
	u32 tgid = p->tgid;
	u32 *class_id = bpf_map_lookup_elem(&classes, &tgid);

	tctx->class_id = class_id && *class_id < FP_NR_CLASSES ? *class_id : FP_CLASS_NONE;
	tctx->classes_seq = classes_seq;
}

/* CPUs from FP_MAX_CPUS on count as LLC 0. */
static __always_inline u32 llc_of(s32 cpu)
{
	return cpu_llc_id[bounded_index(cpu)];
}

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
		tctx->vtime = tctx->vtime - *vtime_now_of(tctx->vtime_llc) + *now;
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

static __always_inline u32 nr_llc_queues(void)
{
	return nr_llcs < FP_MAX_CPUS ? nr_llcs : FP_MAX_CPUS;
}

/* The shared queue of cpu's last-level cache. */
static __always_inline u64 shared_dsq_of(s32 cpu)
{
	return FP_LLC_DSQ(llc_of(cpu));
}

/*
 * Whether p may run on cpu. Most tasks may run anywhere: two loads where the test of the mask
 * is a kfunc call, for every CPU a waker looks at. A task inside a migrate_disable() section
 * keeps its nr_cpus_allowed while cpus_ptr narrows to one CPU: it takes the full test.
 */
static __always_inline bool task_may_run_on(const struct task_struct *p, s32 cpu)
{
	if (p->nr_cpus_allowed >= nr_cpus && !p->migration_disabled)
		return true;
	return bpf_cpumask_test_cpu(cpu, p->cpus_ptr);
}

/* The CPUs of prev's LLC that p may use; only worth it with more than one LLC. */
static __always_inline const struct cpumask *llc_allowed(struct task_struct *p, s32 prev_cpu)
{
	u32 zero = 0, llc = llc_of(prev_cpu);
	struct llc_ctx *lctx;
	struct cpu_scratch *s;
	struct bpf_cpumask *llc_cpus, *allowed;

	if (nr_llcs <= 1)
		return p->cpus_ptr;
	lctx = bpf_map_lookup_elem(&llcs, &llc);
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!lctx || !s)
		return p->cpus_ptr;
	llc_cpus = lctx->cpus;
	allowed = s->mask;
	if (!llc_cpus || !allowed)
		return p->cpus_ptr;
	bpf_cpumask_and(allowed, fp_cast_mask(llc_cpus), p->cpus_ptr);
	return fp_cast_mask(allowed);
}

/*
 * A task that moved to another LLC less than migration_interval_ns ago does not move to
 * another one yet: ping-ponging between caches costs more than the wait. Within an LLC an
 * idle CPU is always taken (the cache is shared, and waiting for a busy CPU costs up to a
 * slice: on an idle system, most of a frame). Latency-critical roles and boosted tasks are
 * never held.
 */
static __always_inline bool migration_limited(const struct task_ctx *tctx, u64 now,
                                              const struct fp_tunables *t)
{
	if (!t->migration_interval_ns || latency_critical(tctx->role))
		return false;
	if (time_since(now, tctx->input_wakeup_ns) < t->boost_window_ns)
		return false;
	return time_since(now, tctx->last_migration_ns) < t->migration_interval_ns;
}

/* The clock, read at most once per callback and only on the paths that need it. */
static __always_inline u64 clock_once(u64 *now)
{
	if (!*now)
		*now = fp_now();
	return *now;
}

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
 * LLC has no sibling to share the core with, the rest of the LLC shares L3.
 */
static __always_inline s32 pick_idle_cpu(struct task_struct *p, s32 prev_cpu, struct task_ctx *tctx,
                                         u64 *now, const struct fp_tunables *t)
{
	const struct cpumask *llc;
	s32 cpu;

	if (task_may_run_on(p, prev_cpu)) {
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
#define FP_PF_EXITING 0x00000004 /* PF_EXITING, include/linux/sched.h: a #define, not in BTF */

static __always_inline s32 sync_wake_cpu(struct task_struct *p, s32 prev_cpu, u64 wake_flags,
                                         struct task_ctx *tctx, u64 *now,
                                         const struct fp_tunables *t)
{
	struct task_struct *waker;
	struct cpu_state *cs;
	bool other_llc;
	s32 cpu;

	if (!(wake_flags & SCX_WAKE_SYNC) || (tctx && latency_critical(role_index(tctx->role))))
		return -1;
	cpu = bpf_get_smp_processor_id();
	if (!task_may_run_on(p, cpu))
		return -1;
	other_llc = llc_of(prev_cpu) != llc_of(cpu);
	if (prev_cpu != cpu && !other_llc && task_may_run_on(p, prev_cpu) &&
	    scx_bpf_test_and_clear_cpu_idle(prev_cpu)) {
		count(FP_CNT_DIRECT_PREV);
		return prev_cpu;
	}
	cs = this_cpu_state();
	if (!cs || cs->role >= FP_NR_ROLES || cs->released)
		return -1;
	waker = bpf_get_current_task_btf();
	if (waker->flags & FP_PF_EXITING)
		return -1;
	if (scx_bpf_dsq_nr_queued(SCX_DSQ_LOCAL) > 0 ||
	    scx_bpf_dsq_nr_queued(shared_dsq_of(cpu)) > 0 ||
	    ((u32)cpu < FP_MAX_CPUS && scx_bpf_dsq_nr_queued(FP_CPU_DSQ(cpu)) > 0))
		return -1;
	if (other_llc && tctx) {
		if (migration_limited(tctx, clock_once(now), t))
			return -1;
		tctx->last_migration_ns = clock_once(now);
	}
	count(FP_CNT_SYNC_WAKEUPS);
	return cpu;
}

/* Who is waking p: input_event (p handles input) or a game thread (p works for the game). */
static __always_inline void note_waker(struct task_ctx *tctx, u64 *now)
{
	struct cpu_state *cs;

	if (input_tid && input_tid == input_mark()) {
		tctx->input_wakeup_ns = clock_once(now);
		count(FP_CNT_INPUT_WAKEUPS);
		return;
	}
	cs = this_cpu_state();
	if (cs && game_role(cs->role))
		tctx->game_wakeup_ns = clock_once(now);
}

s32 BPF_STRUCT_OPS(framepace_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	const struct fp_tunables *t = current_tunables();
	struct task_ctx *tctx = lookup_task_ctx(p);
	u64 now = 0;
	s32 cpu;

	if (tctx && (wake_flags & SCX_WAKE_TTWU))
		note_waker(tctx, &now);
	cpu = sync_wake_cpu(p, prev_cpu, wake_flags, tctx, &now, t);
	if (cpu < 0)
		cpu = pick_idle_cpu(p, prev_cpu, tctx, &now, t);
	if (cpu >= 0) {
		u32 role = tctx ? role_index(tctx->role) : FP_ROLE_NORMAL;

		fp_dsq_insert(p, SCX_DSQ_LOCAL, t->role_slice_ns[role], 0);
		return cpu;
	}
	count(FP_CNT_SELECT_BUSY);
	return prev_cpu;
}

/* preempt_rank (policy.h) of what runs on cpu, for p: never where p may not run. */
static __always_inline u32 cpu_preempt_rank(struct task_struct *p, u32 cpu)
{
	struct cpu_state *cs = cpu_state_of(cpu);

	/* A CPU an RT task holds runs nothing of framepace's until it is back: p would wait. */
	if (!cs || cs->released || !task_may_run_on(p, cpu))
		return FP_PREEMPT_NEVER;
	return preempt_rank(cs->role);
}

/*
 * The CPU p may use whose work matters least (batch, then normal, then interactive), the
 * nearest to its previous CPU when that ties (the walk starts there, and neighbouring ids
 * mostly share a cache); -1 if every CPU runs something as important, or of rank
 * below_rank or more. Only waking latency-critical, boosted or periodic tasks look, and they
 * are few: a bounded walk over the per-CPU states, no locks.
 */
static __always_inline s32 victim_cpu_for(struct task_struct *p, s32 prev_cpu, u32 below_rank)
{
	u32 best_rank = below_rank, rank, i, cpu;
	s32 best = -1;

	bpf_for(i, 0, nr_cpus)
	{
		if (i >= FP_PREEMPT_SCAN_MAX || best_rank == 0)
			break;
		cpu = ((u32)prev_cpu + i) % nr_cpus;
		rank = cpu_preempt_rank(p, cpu);
		if (rank < best_rank) {
			best_rank = rank;
			best = cpu;
		}
	}
	return best;
}

/*
 * A waking game-critical, compositor, audio or boosted task does not wait for less
 * important work to use up its slice: it goes to the head of the local queue of the CPU that
 * runs the least important work (of rank below below_rank), and that task's slice ends now
 * (SCX_ENQ_PREEMPT). Critical roles are earned by short runs, so the others lose at most a
 * few short slices; a stale per-CPU role only costs one needless reschedule (a CPU an RT task
 * took since is never picked: cpu_preempt_rank).
 */
static __always_inline bool preempt_for(struct task_struct *p, struct task_ctx *tctx, s32 prev_cpu,
                                        u64 deadline, u64 slice, u64 enq_flags, u32 below_rank,
                                        u64 now, const struct fp_tunables *t)
{
	s32 cpu = victim_cpu_for(p, prev_cpu, below_rank);

	if (cpu < 0)
		return false;
	/* The CPU is p's from now: another waker looking before p runs there must not pick it
	 * too (render and logic threads wake on the same timer tick), nor kick p off it. */
	occupy_cpu(cpu_state_of(cpu), tctx, deadline, now, t);
	fp_dsq_insert(p, SCX_DSQ_LOCAL_ON | cpu, slice, enq_flags | SCX_ENQ_PREEMPT);
	count(FP_CNT_PREEMPTED);
	return true;
}

/*
 * Wakes an idle CPU of cpus (p's allowed ones, or those of its LLC) to dispatch: it reads its
 * LLC's shared queue, then steals from the CPUs' own queues (framepace_dispatch), the waiting
 * task with them. Seen without it on an idle system: an audio thread woken by a timer on a CPU
 * that had just given itself to another game thread waited 3.8 ms in that CPU's queue while
 * the other CPU sat idle. Picking clears the CPU's idle bit; if another CPU takes the task
 * first, the kicked one finds nothing and goes idle again, which sets it back.
 */
static __always_inline bool kick_idle_cpu(const struct cpumask *cpus)
{
	s32 idle = scx_bpf_pick_idle_cpu(cpus, 0);

	if (idle < 0)
		return false;
	scx_bpf_kick_cpu(idle, SCX_KICK_IDLE);
	count(FP_CNT_IDLE_KICKS);
	return true;
}

/* Whether a waker with this deadline may take the CPU of cs now. */
static __always_inline bool cpu_preemptible(const struct cpu_state *cs, u64 deadline, u64 now)
{
	return wakeup_preempts(deadline, cs->role, cs->deadline, now, cs->preemptible_at);
}

static __always_inline bool deadline_preempts(s32 cpu, u64 deadline, u64 now)
{
	struct cpu_state *cs = cpu_state_of(cpu);

	return cs && cpu_preemptible(cs, deadline, now);
}

/*
 * Wakeup preemption for everyone else, by deadline (wakeup_preempts, policy.h). This is what
 * helps a game no rule names: its frame and audio threads sleep between short runs. Per-CPU
 * queues: the CPU it queued on. Shared queue: an idle CPU if one appeared, else, among the
 * first FP_PREEMPT_SCAN_MAX CPUs from p's previous one, the one p may preempt that runs the
 * latest deadline.
 */
static __always_inline bool preempt_by_deadline(struct task_struct *p, s32 cpu, u64 deadline,
                                                u64 now, bool shared)
{
	struct cpu_state *cs;
	u64 latest = 0;
	s32 victim = -1;
	u32 i, c, llc = llc_of(cpu);

	if (!shared) {
		if (!deadline_preempts(cpu, deadline, now))
			return false;
		victim = cpu;
	} else {
		/* A CPU of the LLC that went idle since select_cpu looked reads the shared queue
		 * once woken (another LLC's would move p there past the migration limit). */
		if (kick_idle_cpu(llc_allowed(p, cpu)))
			return false;
		bpf_for(i, 0, nr_cpus)
		{
			if (i >= FP_PREEMPT_SCAN_MAX)
				break;
			c = ((u32)cpu + i) % nr_cpus;
			cs = cpu_state_of(c);
			/* Not running a framepace task (RT, offline: never preempted), or not one p
			 * may preempt. Another LLC's CPUs read another queue: preempting one would
			 * not run p. */
			if (!cs || !task_may_run_on(p, c) || llc_of(c) != llc ||
			    !cpu_preemptible(cs, deadline, now))
				continue;
			if (victim < 0 || time_before(latest, cs->deadline)) {
				latest = cs->deadline;
				victim = c;
			}
		}
		if (victim < 0)
			return false;
	}
	scx_bpf_kick_cpu(victim, SCX_KICK_PREEMPT);
	count(FP_CNT_WAKEUP_PREEMPTS);
	return true;
}

/*
 * SCX_KICK_IDLE to the other CPUs of cpu's LLC (the first FP_PREEMPT_SCAN_MAX): one going
 * idle as a task was queued reschedules and finds it, the busy ones ignore the kick. Unlike
 * a look for an idle CPU from ops.enqueue, the kick's test runs after the insert has landed
 * and does not skip a CPU that is still dispatching. Only where a task would otherwise be
 * stranded (its CPU taken by an RT task): a kick per CPU is too dear for every enqueue.
 */
static __always_inline void kick_llc_idle(s32 cpu)
{
	u32 i, c, llc = llc_of(cpu);

	bpf_for(i, 1, nr_cpus)
	{
		if (i >= FP_PREEMPT_SCAN_MAX)
			break;
		c = ((u32)cpu + i) % nr_cpus;
		if (llc_of(c) == llc)
			scx_bpf_kick_cpu(c, SCX_KICK_IDLE);
	}
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
	fp_dsq_insert_vtime(p, shared_dsq_of(cpu), slice, deadline, enq_flags);
	count(FP_CNT_REENQUEUED);
	if (!kick_idle_cpu(p->cpus_ptr))
		kick_llc_idle(cpu);
}

/*
 * The role whose deadline offset tctx's task queues, runs and is weighed in dispatch with
 * (deadline_role): from the one flag its last wakeup set, so that all three agree.
 */
static __always_inline u32 task_deadline_role(const struct task_ctx *tctx,
                                              const struct fp_tunables *t)
{
	return deadline_role(tctx->role, tctx->periodic, t);
}

void BPF_STRUCT_OPS(framepace_enqueue, struct task_struct *p, u64 enq_flags)
{
	const struct fp_tunables *t = current_tunables();
	struct task_ctx *tctx = lookup_task_ctx(p);
	s32 cpu = task_cpu(p);
	u64 now, vtime, vtime_now, deadline, slice;
	u32 role, clamped;
	bool boost, waking, periodic;

	/* Every task gets a context in init_task; without one, queue it at the current time. */
	if (!tctx) {
		fp_dsq_insert_vtime(p, shared_dsq_of(cpu), t->role_slice_ns[FP_ROLE_NORMAL],
		                    *vtime_now_of(llc_of(cpu)), enq_flags);
		count(FP_CNT_ENQ_SHARED);
		return;
	}

	now = fp_now();
	vtime_now = *task_vtime_in(tctx, llc_of(cpu));
	/* A task woken straight into a local queue and sent back from it (SCX_ENQ_REENQ) has
	 * slept too: its bound applies here, before its deadline is set. */
	vtime = enqueue_vtime(tctx->vtime, vtime_now, t->sleep_budget_ns, t->lag_limit_ns,
	                      (enq_flags & SCX_ENQ_WAKEUP) || tctx->slept, &clamped);
	if (clamped) {
		tctx->vtime = vtime;
		count_clamp(clamped);
	}
	role = role_index(tctx->role);
	periodic = acts_periodic(role, tctx->periodic);
	boost = boosted(tctx, now, t);
	deadline = task_deadline(vtime, vtime_now, task_deadline_role(tctx, t), boost, t);
	slice = t->role_slice_ns[role];
	tctx->queued_at = now;
	if (enq_flags & SCX_ENQ_REENQ) {
		requeue_elsewhere(p, cpu, slice, deadline, enq_flags);
		return;
	}
	if (boost) {
		count(FP_CNT_BOOSTED);
		tctx->boosts++;
	}
	waking = enq_flags & SCX_ENQ_WAKEUP;
	if (waking && (boost || latency_critical(role)) &&
	    preempt_for(p, tctx, cpu, deadline, slice, enq_flags, FP_PREEMPT_NEVER, now, t))
		return;
	/* A game no rule names shows itself by periodic wakeups: its threads do not queue behind
	 * CPU hogs (batch, rank 0) either. Only batch: against the rest, deadlines decide. */
	if (waking && periodic &&
	    preempt_for(p, tctx, cpu, deadline, slice, enq_flags, preempt_rank(FP_ROLE_NORMAL), now,
	                t)) {
		count(FP_CNT_PERIODIC_PREEMPTS);
		return;
	}

	/*
	 * A CPU only consumes its own queue, so p must be allowed there (affinity changes), and
	 * queues exist for the first FP_MAX_CPUS CPUs only (own_queue_serves for the rest).
	 */
	if (!shared_mode && (u32)cpu < FP_MAX_CPUS && task_may_run_on(p, cpu) &&
	    own_queue_serves(cpu, waking)) {
		fp_dsq_insert_vtime(p, FP_CPU_DSQ(cpu), slice, deadline, enq_flags);
		note_own_insert(cpu);
		count(FP_CNT_ENQ_CPU);
		if (waking && preempt_by_deadline(p, cpu, deadline, now, false))
			return;
		if (cpu != bpf_get_smp_processor_id())
			scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
		/* A waking task found no idle CPU in select_cpu (or skipped it): one of its LLC
		 * may have gone idle since, and steals it from here rather than leave it waiting.
		 * Not one of another LLC: select_cpu may have refused that move (migration_limited). */
		if (waking)
			kick_idle_cpu(llc_allowed(p, cpu));
	} else {
		fp_dsq_insert_vtime(p, shared_dsq_of(cpu), slice, deadline, enq_flags);
		count(FP_CNT_ENQ_SHARED);
		if (waking)
			preempt_by_deadline(p, cpu, deadline, now, true);
		else if (cpu != bpf_get_smp_processor_id())
			/* Queued again from elsewhere (an affinity or nice change): no CPU of the
			 * LLC may dispatch soon, and nothing wakes an idle one but this. */
			kick_idle_cpu(llc_allowed(p, cpu));
	}
}

/* Deadline of the first task in a queue; false when it is empty. */
static __always_inline bool queue_head_deadline(u64 dsq_id, u64 *deadline)
{
	struct bpf_iter_scx_dsq it;
	struct task_struct *head;
	bool found = false;

	/* 6.19+ reads the head without the lock, in one look-up of the queue by id (a hash
	 * table's: a count first would be a second one, on every dispatch). */
	if (bpf_ksym_exists(scx_bpf_dsq_peek)) {
		head = scx_bpf_dsq_peek(dsq_id);
		if (!head)
			return false;
		*deadline = head->scx.dsq_vtime;
		return true;
	}
	/* Before it, a lock-free count first: the iterator takes the queue's lock three times
	 * (start, step, end), and the shared queue is empty on every CPU's dispatch while the
	 * load is light. */
	if (scx_bpf_dsq_nr_queued(dsq_id) <= 0)
		return false;
	if (bpf_iter_scx_dsq_new(&it, dsq_id, 0) == 0) {
		head = bpf_iter_scx_dsq_next(&it);
		if (head) {
			*deadline = head->scx.dsq_vtime;
			found = true;
		}
	}
	bpf_iter_scx_dsq_destroy(&it);
	return found;
}

/* What p's run has used so far: the kernel brings sum_exec_runtime up to date before it
 * calls ops.dispatch and ops.stopping. */
static __always_inline u64 run_used_ns(const struct task_struct *p, const struct task_ctx *tctx)
{
	return p->se.sum_exec_runtime - tctx->exec_at_run;
}

/* prev's deadline charged for its run so far, as it would be queued again now. */
static __always_inline u64 charged_deadline(struct task_struct *prev, struct task_ctx *tctx,
                                            u32 role, const struct fp_tunables *t)
{
	u64 vtime =
	        charge_vtime(tctx->vtime, run_used_ns(prev, tctx), charge_weight(prev, tctx, t));

	return role_deadline(vtime, role, t);
}

/* prev runs on with a new slice: wakers now compare against its charged deadline. */
static __always_inline void renew_slice(struct task_struct *prev, s32 cpu, u32 role, u64 deadline,
                                        const struct fp_tunables *t)
{
	struct cpu_state *cs = cpu_state_of(cpu);

	prev->scx.slice = t->role_slice_ns[role];
	if (cs)
		cs->deadline = deadline;
}

/*
 * ops.dispatch runs when prev's slice is over but before prev is queued again, so without
 * this check the best waiting task always replaces it and weights (nice < 0, games) would
 * only order the waiters, not share the CPU. prev runs on with a new slice if its deadline,
 * charged for the run so far, is still earlier than head, that of the task dispatch would
 * take. With waiting false nothing else can run here: prev runs on with its own role's
 * slice, where the kernel would refill it with SCX_SLICE_DFL (20 ms) and a task queued behind
 * it meanwhile would wait that long.
 */
static __always_inline bool prev_runs_on(struct task_struct *prev, s32 cpu, bool waiting, u64 head)
{
	const struct fp_tunables *t = current_tunables();
	struct task_ctx *tctx = lookup_task_ctx(prev);
	u64 deadline;
	u32 role;

	if (!tctx || !tctx->running_since) {
		if (!waiting)
			prev->scx.slice = t->role_slice_ns[FP_ROLE_NORMAL];
		return false;
	}
	role = role_index(tctx->role);
	deadline = charged_deadline(prev, tctx, task_deadline_role(tctx, t), t);
	if (waiting && !time_before(deadline, head))
		return false;
	renew_slice(prev, cpu, role, deadline, t);
	if (waiting)
		count(FP_CNT_KEEP_PREV);
	return true;
}

/*
 * A task in the own queue of a CPU an RT or deadline task holds (queued there just before it
 * was taken) would wait for as long as that task runs. Whichever CPU dispatches next takes it
 * first: it has waited already. Only while some CPU is held (nr_released).
 */
static __always_inline bool rescue_stranded(s32 cpu, u32 nr_queues)
{
	struct cpu_state *cs;
	u32 i, c;

	bpf_for(i, 1, nr_queues)
	{
		c = ((u32)cpu + i) % nr_queues;
		cs = cpu_state_of(c);
		if (cs && cs->released && fp_dsq_move_to_local(FP_CPU_DSQ(c))) {
			count(FP_CNT_RESCUED);
			return true;
		}
	}
	return false;
}

static __always_inline u32 nr_cpu_queues(void)
{
	return nr_cpus < FP_MAX_CPUS ? nr_cpus : FP_MAX_CPUS;
}

/*
 * The head of another CPU's own queue, the nearest id first: of a CPU in cpu's LLC (same_llc)
 * or of one elsewhere. With one LLC the first pass covers every queue.
 *
 * Every CPU that goes idle runs this over every other CPU, and each try is a look-up of the
 * queue by id in the kernel's hash table (traced under TCG: 0.8 us of an idle dispatch's
 * 1.3 us, on two CPUs). A queue a steal found nothing in is skipped until something is put
 * in it again (own_inserts moves): one load instead. The count moves after the insert, and
 * the steal reads it before it looks, so an insert it did not see moves the count past the
 * mark it leaves (on x86, where loads are not reordered). A wrong skip only delays a steal:
 * the owner always reads its own queue, and rescue_stranded those of held CPUs. A queue whose
 * tasks this CPU may not run (affinity) is skipped by the others too until its next insert;
 * its owner runs them.
 */
static __always_inline bool steal_from_cpu_queue(s32 cpu, u32 nr_queues, bool same_llc)
{
	u32 i, victim, inserts, llc = llc_of(cpu);
	struct cpu_state *cs;

	bpf_for(i, 1, nr_queues)
	{
		victim = ((u32)cpu + i) % nr_queues;
		if (nr_llcs > 1 && (llc_of(victim) == llc) != same_llc)
			continue;
		cs = cpu_state_of(victim);
		if (!cs)
			continue;
		inserts = *(volatile u32 *)&cs->own_inserts;
		if (inserts == cs->own_stolen_at)
			continue;
		if (fp_dsq_move_to_local(FP_CPU_DSQ(victim))) {
			count(FP_CNT_STEALS);
			return true;
		}
		cs->own_stolen_at = inserts;
	}
	return false;
}

/* A CPU with nothing of its own takes the head of another LLC's queue (the nearest id first). */
static __always_inline bool steal_from_other_llc(s32 cpu)
{
	u32 i, llc = llc_of(cpu), nr = nr_llc_queues();

	bpf_for(i, 1, nr)
	{
		if (fp_dsq_move_to_local(FP_LLC_DSQ((llc + i) % nr))) {
			count(FP_CNT_LLC_STEALS);
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
 * Stranded tasks of a CPU an RT task holds first; then prev if it still deserves the CPU;
 * else the earlier head of the CPU's own queue and the shared one (both hold tasks after a
 * switch between per-CPU and shared mode, or a requeue from a CPU taken by an RT task); else
 * another CPU's queue; else prev again.
 */
void BPF_STRUCT_OPS(framepace_dispatch, s32 cpu, struct task_struct *prev)
{
	u64 own_dsq = FP_CPU_DSQ(cpu), shared_dsq = shared_dsq_of(cpu), own_head = 0,
	    shared_head = 0;
	u32 nr_queues = nr_cpu_queues();
	bool prev_queued = prev && (prev->scx.flags & SCX_TASK_QUEUED);
	bool own, shared, shared_first;
	struct cpu_state *cs;

	/* Dispatching here means framepace has this CPU (again), unless it is only lent. */
	if (nr_released) {
		/* cpu, not this CPU: under core scheduling dispatch may run for a sibling. */
		cs = cpu_state_of(cpu);
		if (cs && cs->released) {
			if (rt_waits_here()) {
				/* prev ran in the lent moment: it keeps its role's slice, not the
				 * kernel's 20 ms default, if nothing else is moved here. */
				if (!run_lent(cpu) && prev_queued)
					prev_runs_on(prev, cpu, false, 0);
				return;
			}
			release_ends(cs);
		}
		if (rescue_stranded(cpu, nr_queues))
			return;
	}
	own = (u32)cpu < FP_MAX_CPUS && queue_head_deadline(own_dsq, &own_head);
	shared = queue_head_deadline(shared_dsq, &shared_head);
	shared_first = shared && (!own || time_before(shared_head, own_head));
	if (prev_queued && (own || shared) &&
	    prev_runs_on(prev, cpu, true, shared_first ? shared_head : own_head))
		return;

	if (shared_first && fp_dsq_move_to_local(shared_dsq)) {
		count(FP_CNT_DISPATCH_SHARED);
		return;
	}
	if (own && fp_dsq_move_to_local(own_dsq)) {
		count(FP_CNT_DISPATCH_CPU);
		return;
	}
	if (shared && !shared_first && fp_dsq_move_to_local(shared_dsq)) {
		count(FP_CNT_DISPATCH_SHARED);
		return;
	}
	/* Nothing here: what waits in the LLC's other CPUs' queues (kick_idle_cpu woke this
	 * CPU for it), then other LLCs' work: their shared queues, then their CPUs' queues. */
	if (steal_from_cpu_queue(cpu, nr_queues, true))
		return;
	if (nr_llcs > 1 &&
	    (steal_from_other_llc(cpu) || steal_from_cpu_queue(cpu, nr_queues, false)))
		return;
	if (prev_queued)
		prev_runs_on(prev, cpu, false, 0);
}

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
	u32 clamped;

	count(FP_CNT_RUNS);
	if (!tctx)
		return;
	if (tctx->generation != generation)
		reclassify(tctx);
	if (tctx->classes_seq != classes_seq)
		refresh_class(p, tctx);
	now = fp_now();
	vtime_now = task_vtime_in(tctx, llc_of(cpu));
	/* A woken task was queued when it woke; one put straight onto an idle CPU runs now. */
	woke = tctx->queued_at ? tctx->queued_at : now;
	if (tctx->queued_at)
		report_wait(p, tctx, now, t);
	if (tctx->slept) {
		/* Woken straight onto an idle CPU, it skipped enqueue's bounds: apply them here. */
		tctx->vtime = enqueue_vtime(tctx->vtime, *vtime_now, t->sleep_budget_ns,
		                            t->lag_limit_ns, true, &clamped);
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
		occupy_cpu(cs, tctx, role_deadline(tctx->vtime, task_deadline_role(tctx, t), t),
		           now, t);
		mark_acquired(cs);
	}
}

/* Role changes of classified tasks go to framepaced; everyone else's are only counted. */
static __always_inline void set_role(struct task_struct *p, struct task_ctx *tctx, u32 role)
{
	struct fp_event *ev;

	if (tctx->class_id != FP_CLASS_NONE) {
		count(FP_CNT_ROLE_CHANGES);
		ev = event_reserve(FP_EV_ROLE_CHANGE);
		if (ev) {
			event_set_task(ev, p);
			ev->role.old_role = tctx->role;
			ev->role.new_role = role;
			event_submit_batched(ev);
		}
	}
	tctx->role = role;
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
	u64 now, used;
	u32 role;

	if (cs)
		cs->role = FP_NR_ROLES;
	if (!tctx || !tctx->running_since)
		return;
	used = run_used_ns(p, tctx);
	/* The clock now, less interrupt time: only the game-waker rule below reads it. */
	now = tctx->running_since + used;
	tctx->vtime = charge_vtime(tctx->vtime, used, charge_weight(p, tctx, t));
	tctx->runtime_ns += used;
	tctx->avg_run_ns = ewma(tctx->avg_run_ns, used);
	tctx->runnable_pct = runnable_share(tctx->runnable_pct, runnable, used,
	                                    t->role_slice_ns[role_index(tctx->role)]);
	if (!runnable)
		tctx->slept = 1;
	count(FP_CNT_STOPS);
	count_add(FP_CNT_RUN_NS, used);

	role = classify_role(tctx->class_id, tctx->role, p->scx.weight, tctx->avg_run_ns,
	                     tctx->avg_wake_ns, tctx->runnable_pct,
	                     time_since(now, tctx->game_wakeup_ns), t);
	if (role != tctx->role)
		set_role(p, tctx, role);
}

void BPF_STRUCT_OPS(framepace_enable, struct task_struct *p)
{
	struct task_ctx *tctx = lookup_task_ctx(p);

	if (tctx)
		start_at_clock(p, tctx);
}

/* Sleepable: the context is allocated with GFP_KERNEL, so a fork under memory pressure
 * waits for memory instead of failing. */
s32 BPF_STRUCT_OPS_SLEEPABLE(framepace_init_task, struct task_struct *p,
                             struct scx_init_task_args *args)
{
	struct task_ctx *tctx;

	tctx = bpf_task_storage_get(&task_ctxs, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tctx)
		return -ENOMEM;
	start_at_clock(p, tctx);
	tctx->generation = generation;
	tctx->classes_seq = classes_seq - 1; /* read the class at the first run */
	/* No evidence yet of frequent wakeups: critical is earned, not assumed. */
	tctx->avg_wake_ns = FP_BEHAVIOUR_NS_MAX;
	tctx->wake_dev_ns = FP_BEHAVIOUR_NS_MAX;
	count(FP_CNT_TASK_INITS);
	return 0;
}

/*
 * Every util_sample_period_ns (policy.h): the share of online CPUs that are busy, smoothed,
 * decides between per-CPU queues and the shared one, with hysteresis so that a load near the
 * threshold does not flip-flop. Both counts are taken now: the scheduler stays loaded across CPU hotplug, so
 * a count of online CPUs from load time goes stale, and the kernel does not clear the idle
 * bit of a CPU that goes offline (idle is the state it leaves in), so the idle mask's weight
 * alone would count offline CPUs as idle ones: idle CPUs are those of idle & online.
 */
static int sample_utilisation(void *map, int *key, struct util_timer *ut)
{
	const struct fp_tunables *t = current_tunables();
	const struct cpumask *online = scx_bpf_get_online_cpumask();
	const struct cpumask *idle = scx_bpf_get_idle_cpumask();
	struct bpf_cpumask *idle_online;
	u32 nr_online = bpf_cpumask_weight(online), nr_idle = 0, busy_pct;

	/* Mask operations, not a walk over the CPUs: a loop that counts makes every iteration
	 * a new verifier state, and the walk made framepace_init too large to verify (7.3).
	 * The RCU section makes the kptr trusted whether or not the verifier counts this
	 * callback of the sleepable init as sleepable (kernels differ). */
	bpf_rcu_read_lock();
	idle_online = ut->idle_online;
	if (idle_online) {
		bpf_cpumask_and(idle_online, online, idle);
		nr_idle = bpf_cpumask_weight(fp_cast_mask(idle_online));
	}
	bpf_rcu_read_unlock();
	scx_bpf_put_idle_cpumask(idle);
	scx_bpf_put_cpumask(online);
	busy_pct = nr_online > nr_idle ? (nr_online - nr_idle) * 100 / nr_online : 0;
	count(FP_CNT_UTIL_SAMPLES);
	util_pct = ewma(util_pct, busy_pct);

	if (!shared_mode && util_pct >= t->shared_util_pct) {
		shared_mode = 1;
		count(FP_CNT_SHARED_MODE);
	} else if (shared_mode && util_pct + UTIL_HYSTERESIS_PCT < t->shared_util_pct) {
		shared_mode = 0;
		count(FP_CNT_CPU_MODE);
	}
	bpf_timer_start(&ut->timer, util_sample_period_ns(busy_pct), 0);
	return 0;
}

static s32 start_util_timer(void)
{
	u32 zero = 0;
	struct util_timer *ut = bpf_map_lookup_elem(&util_timers, &zero);
	struct bpf_cpumask *mask;
	s32 err;

	if (!ut)
		return -ENOENT;
	mask = bpf_cpumask_create();
	if (!mask)
		return -ENOMEM;
	mask = bpf_kptr_xchg(&ut->idle_online, mask);
	if (mask)
		bpf_cpumask_release(mask);
	err = bpf_timer_init(&ut->timer, &util_timers, CLOCK_MONOTONIC);
	if (err)
		return err;
	err = bpf_timer_set_callback(&ut->timer, sample_utilisation);
	if (err)
		return err;
	return bpf_timer_start(&ut->timer, FP_UTIL_PERIOD_NS, 0);
}

/*
 * The set-up loops below are open-coded iterators (bpf_for), not counted for loops: 6.12's
 * verifier loses the bound of a counter that also serves as a map key on the stack and
 * refuses the loop as infinite ("infinite loop detected", seen on 6.12.117).
 */

/* Per-CPU state: scratch masks, and no framepace task running yet (a zeroed state would read
 * as a CPU running normal work, for wakers looking for one to preempt). */
static s32 init_cpus(void)
{
	struct bpf_cpumask *mask;
	struct cpu_scratch *s;
	struct cpu_state *cs;
	u32 zero = 0;
	s32 cpu;

	bpf_for(cpu, 0, nr_cpu_queues())
	{
		cs = cpu_state_of(cpu);
		if (cs)
			cs->role = FP_NR_ROLES;
		s = bpf_map_lookup_percpu_elem(&scratch, &zero, cpu);
		if (!s)
			return -ENOENT;
		mask = bpf_cpumask_create();
		if (!mask)
			return -ENOMEM;
		mask = bpf_kptr_xchg(&s->mask, mask);
		if (mask)
			bpf_cpumask_release(mask);
	}
	return 0;
}

static s32 init_llc_masks(void)
{
	struct bpf_cpumask *mask;
	struct llc_ctx *lctx;
	u32 key;
	s32 llc, cpu;

	bpf_for(llc, 0, nr_llcs < FP_MAX_CPUS ? nr_llcs : FP_MAX_CPUS)
	{
		key = llc;
		lctx = bpf_map_lookup_elem(&llcs, &key);
		if (!lctx)
			return -ENOENT;
		mask = bpf_cpumask_create();
		if (!mask)
			return -ENOMEM;
		mask = bpf_kptr_xchg(&lctx->cpus, mask);
		if (mask)
			bpf_cpumask_release(mask);
	}

	bpf_rcu_read_lock();
	bpf_for(cpu, 0, nr_cpu_queues())
	{
		if ((u32)cpu >= FP_MAX_CPUS)
			break;
		key = cpu_llc_id[cpu];
		lctx = bpf_map_lookup_elem(&llcs, &key);
		if (!lctx)
			continue;
		mask = lctx->cpus;
		if (mask)
			bpf_cpumask_set_cpu(cpu, mask);
	}
	bpf_rcu_read_unlock();
	return 0;
}

static s32 create_queues(void)
{
	s32 llc, cpu, err;

	bpf_for(llc, 0, nr_llc_queues())
	{
		err = scx_bpf_create_dsq(FP_LLC_DSQ(llc), -1);
		if (err)
			return err;
	}
	bpf_for(cpu, 0, nr_cpu_queues())
	{
		err = scx_bpf_create_dsq(FP_CPU_DSQ(cpu), -1);
		if (err)
			return err;
	}
	return 0;
}

s32 BPF_STRUCT_OPS_SLEEPABLE(framepace_init)
{
	s32 err;

	err = create_queues();
	if (err)
		return err;
	err = init_cpus();
	if (err)
		return err;
	err = init_llc_masks();
	if (err)
		return err;
	return start_util_timer();
}

static void stop_util_timer(void)
{
	u32 zero = 0;
	struct util_timer *ut = bpf_map_lookup_elem(&util_timers, &zero);

	if (ut)
		bpf_timer_cancel(&ut->timer);
}

void BPF_STRUCT_OPS(framepace_exit, struct scx_exit_info *ei)
{
	bpf_probe_read_kernel_str(exit_info.reason, sizeof(exit_info.reason), ei->reason);
	bpf_probe_read_kernel_str(exit_info.msg, sizeof(exit_info.msg), ei->msg);
	exit_info.exit_code = ei->exit_code;
	stop_util_timer();
	/* Last, so that a non-zero kind means the whole record is there. */
	*(volatile s64 *)&exit_info.kind = ei->kind;
}

/* Game candidates for the daemon: every exec, with the path that was executed. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct fp_event *ev = event_reserve(FP_EV_EXEC);

	if (!ev)
		return 0;
	event_set_task(ev, p);
	bpf_probe_read_kernel_str(ev->exec.filename, sizeof(ev->exec.filename), bprm->filename);
	event_submit_now(ev);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	struct fp_event *ev;

	/* One event per process, not per thread. */
	if (p->pid != p->tgid)
		return 0;
	ev = event_reserve(FP_EV_EXIT);
	if (!ev)
		return 0;
	event_set_task(ev, p);
	event_submit_now(ev);
	return 0;
}

/*
 * Input boost. Every input event opens or extends the window (gated by the heartbeat);
 * whoever the thread inside input_event wakes is an input handler (see note_waker).
 * Attached only where the kernel has input_event (framepaced checks).
 */
SEC("fentry/input_event")
int BPF_PROG(on_input_event, struct input_dev *dev, unsigned int type, unsigned int code, int value)
{
	input_tid = input_mark();
	open_boost_window(current_tunables());
	return 0;
}

SEC("fexit/input_event")
int BPF_PROG(on_input_event_exit, struct input_dev *dev, unsigned int type, unsigned int code,
             int value)
{
	/* Only our own mark: another device's event may have begun since (if it begins between
	 * the test and the store, its wakeups go uncredited; nothing stays set). */
	if (input_tid == input_mark())
		input_tid = 0;
	return 0;
}

/*
 * ListTasks: one fp_task_record per task that has a context. Iterators run outside the
 * scheduling paths, so this costs nothing while nobody asks.
 */
SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct fp_task_record rec = {};
	struct task_ctx *tctx;

	if (!task)
		return 0;
	tctx = bpf_task_storage_get(&task_ctxs, task, 0, 0);
	if (!tctx)
		return 0;
	rec.pid = task->tgid;
	rec.tid = task->pid;
	rec.policy = task->policy;
	/* The iterator also loads on kernels without sched_ext (host tests). */
	rec.weight = bpf_core_field_exists(task->scx) ? task->scx.weight : 100;
	rec.generation = tctx->generation;
	rec.runs = tctx->runs;
	rec.runtime_ns = tctx->runtime_ns;
	rec.class_id = tctx->class_id;
	rec.role = tctx->role;
	rec.avg_run_ns = tctx->avg_run_ns;
	rec.avg_wake_ns = tctx->avg_wake_ns;
	rec.wake_dev_ns = tctx->wake_dev_ns;
	rec.boosts = tctx->boosts;
	__builtin_memcpy(rec.comm, task->comm, sizeof(rec.comm));
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

/*
 * CPU hotplug, which suspend does to every CPU but the boot one: without these two callbacks
 * the kernel ejects the scheduler on each event. Nothing needs moving: the kernel migrates
 * the tasks of a CPU going down, and what sits on its queue is stolen by the others
 * (framepace_dispatch) like any queue of a busy CPU. Queues, CPU states, scratch masks and
 * CPU loops cover every possible CPU up to FP_MAX_CPUS, and the utilisation sampler counts
 * online CPUs as it goes.
 */
void BPF_STRUCT_OPS(framepace_cpu_online, s32 cpu)
{
	count(FP_CNT_CPU_ONLINE);
}

void BPF_STRUCT_OPS(framepace_cpu_offline, s32 cpu)
{
	struct cpu_state *cs = cpu_state_of(cpu);

	if (cs) {
		cs->role = FP_NR_ROLES;
		/* Held as it went: counted among the held CPUs, it would make every_cpu_held true
		 * while an online CPU is free. */
		if (cs->released)
			release_ends(cs);
	}
	count(FP_CNT_CPU_OFFLINE);
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
	struct cpu_state *cs = this_cpu_state();
	const struct cpumask *idle;
	s32 helper;
	bool own;

	count(FP_CNT_CPU_RELEASED);
	if (cs)
		mark_released(cs);
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

SEC(".struct_ops.link")
struct sched_ext_ops framepace_ops = {
        .select_cpu = (void *)framepace_select_cpu,
        .enqueue = (void *)framepace_enqueue,
        .dispatch = (void *)framepace_dispatch,
        .running = (void *)framepace_running,
        .stopping = (void *)framepace_stopping,
        .enable = (void *)framepace_enable,
        .cpu_online = (void *)framepace_cpu_online,
        .cpu_offline = (void *)framepace_cpu_offline,
        .cpu_release = (void *)framepace_cpu_release,
        .init_task = (void *)framepace_init_task,
        .init = (void *)framepace_init,
        .exit = (void *)framepace_exit,
        /* Well under the kernel's 30 s: a stall ejects us long before a user notices a hang. */
        .timeout_ms = 5000,
        /* .flags: set by framepaced to those of its wanted flags the kernel knows
         * (daemon/scheduler/ops_flags.h). */
        .name = "framepace",
};
