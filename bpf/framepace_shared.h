/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything that both the BPF scheduler and framepaced see: map value layouts, counter
 * indices, the exit record. Plain C, fixed-width types only, so that the same bytes mean the
 * same thing to clang -target bpf and to g++.
 */
#ifndef FRAMEPACE_SHARED_H
#define FRAMEPACE_SHARED_H

#ifdef __bpf__
/* vmlinux.h provides u32/u64/s64. */
typedef u16 fp_u16;
typedef u32 fp_u32;
typedef u64 fp_u64;
typedef s64 fp_s64;
#else
#include <stdint.h>
typedef uint16_t fp_u16;
typedef uint32_t fp_u32;
typedef uint64_t fp_u64;
typedef int64_t fp_s64;
#endif

/*
 * Bumped whenever a layout in this file changes, or that of the scheduler's global variables
 * (.bss, .rodata: an adopting daemon's programs run on the kept ones): a daemon only adopts
 * a running scheduler whose layout version equals its own.
 */
#define FP_LAYOUT_VERSION 21

/* Upper bound for the topology tables in rodata; CPUs beyond it share LLC 0. */
#define FP_MAX_CPUS 512

/*
 * Queues: under light load each CPU queues on its own, FP_CPU_DSQ(cpu); while the system is
 * loaded the CPUs of one last-level cache share a deadline queue, FP_LLC_DSQ(llc), so a task
 * waits where its cache is warm and moves to another LLC only when a CPU there runs dry.
 * (Ids below 2^63 are free for schedulers to use.)
 */
#define FP_CPU_DSQ(cpu) ((fp_u64)(cpu) + 1)
#define FP_LLC_DSQ(llc) ((fp_u64)FP_MAX_CPUS + 1 + (llc))

/*
 * What framepaced decided a thread group is, by identity (environment, executable, comm,
 * user rules); written into the "classes" map by tgid.
 */
enum fp_class {
	FP_CLASS_NONE = 0,
	FP_CLASS_GAME = 1,
	FP_CLASS_COMPOSITOR = 2,
	FP_CLASS_AUDIO = 3,
	FP_NR_CLASSES,
};

/*
 * What a thread is, by behaviour (and its class): decides its slice and how early its
 * deadline is. Values are part of the layout (events, ListTasks).
 */
enum fp_role {
	FP_ROLE_NORMAL = 0,
	FP_ROLE_INTERACTIVE = 1,   /* short runs: editors, shells, desktop helpers */
	FP_ROLE_BATCH = 2,         /* uses up its slices, or nice > 0 */
	FP_ROLE_GAME = 3,          /* a game thread, or a helper the game keeps waking */
	FP_ROLE_GAME_CRITICAL = 4, /* a game thread that wakes often and runs briefly (render) */
	FP_ROLE_COMPOSITOR = 5,
	FP_ROLE_AUDIO = 6,
	FP_NR_ROLES,
};

/* Per-CPU counters, summed by userspace. Append only: indices are part of the layout. */
enum fp_counter {
	FP_CNT_DIRECT_PREV,      /* woken onto its previous CPU, which was idle */
	FP_CNT_DIRECT_LLC,       /* woken onto an idle CPU sharing prev's last-level cache */
	FP_CNT_DIRECT_ANY,       /* woken onto an idle CPU elsewhere */
	FP_CNT_SELECT_BUSY,      /* no idle CPU allowed: queued, or a CPU taken by role */
	FP_CNT_ENQ_SHARED,       /* enqueued on the shared deadline queue */
	FP_CNT_DISPATCH_SHARED,  /* moved from the shared queue to a CPU */
	FP_CNT_SLEEP_CLAMPED,    /* a sleeper's saved-up budget was cut to the bound */
	FP_CNT_RUNS,             /* runs, counted as they are accounted (account_run): as stops */
	FP_CNT_TASK_INITS,       /* task contexts created */
	FP_CNT_STOPS,            /* times a task stopped running, counted as runs (a running
	                          * task's affinity or nice change stops it without a count) */
	FP_CNT_RUN_NS,           /* total runtime of those stops, ns: run_ns / stops = mean run */
	FP_CNT_RECLASSIFIED,     /* tasks whose state predates the current generation, reset */
	FP_CNT_BOOST_OPENED,     /* input-boost windows opened or extended */
	FP_CNT_BOOST_REFUSED,    /* boost windows refused: the daemon's heartbeat was stale */
	FP_CNT_LATENCY_OUTLIERS, /* runs that started later than latency_outlier_ns after queueing */
	FP_CNT_DIRECT_CORE,      /* woken onto a wholly idle SMT core in prev's LLC */
	FP_CNT_ENQ_CPU,          /* enqueued on a CPU's own queue (light load) */
	FP_CNT_DISPATCH_CPU,     /* moved from the CPU's own queue */
	FP_CNT_STEALS,           /* moved from another CPU's queue by an idle CPU */
	FP_CNT_MIGRATION_LIMITED, /* kept on its busy previous CPU: migrated too recently */
	FP_CNT_BOOSTED,           /* queued or put on a CPU with a boosted (front) deadline */
	FP_CNT_PREEMPTED,         /* a waking critical, boosted or periodic task took a CPU from
				    less important work (batch, normal, interactive) */
	FP_CNT_INPUT_WAKEUPS,     /* tasks woken from inside input_event: input handlers */
	FP_CNT_ROLE_CHANGES,      /* role changes of classified (game, compositor, audio) tasks */
	FP_CNT_SHARED_MODE,       /* switches from per-CPU queues to the shared queue */
	FP_CNT_CPU_MODE,          /* switches back to per-CPU queues */
	FP_CNT_LAG_CLAMPED,       /* a task's virtual time was pulled back to lag_limit_ns ahead */
	FP_CNT_KEEP_PREV,         /* a task whose slice ended ran on: its deadline was earliest */
	FP_CNT_CPU_ONLINE,        /* CPUs that came online (hotplug, resume) */
	FP_CNT_CPU_OFFLINE,       /* CPUs that went offline (hotplug, suspend) */
	FP_CNT_WAKEUP_PREEMPTS,   /* a waking task's deadline was well before that of the task
				    running where it queued: that CPU was told to reschedule */
	FP_CNT_CPU_RELEASED,      /* an RT/DL task took a CPU from framepace (ops.cpu_release) */
	FP_CNT_REENQUEUED,        /* tasks sent away from such a CPU's local queue */
	FP_CNT_RESCUED,           /* tasks taken from the own queue of a CPU an RT task holds */
	FP_CNT_LLC_STEALS,        /* moved from another last-level cache's shared queue */
	FP_CNT_SYNC_WAKEUPS,      /* woken by a waker about to sleep: onto the waker's CPU */
	FP_CNT_PERIODIC_PREEMPTS, /* a periodic (undetected game) thread took a batch task's CPU */
	FP_CNT_IDLE_KICKS,        /* an idle CPU was woken for a task queued behind a busy one */
	FP_CNT_RT_LENDS,          /* dispatches on a CPU an RT task still waits for (the kernel
				    lends it to sched_ext for a moment): bound or starved tasks,
				    any while every CPU is held */
	FP_CNT_IDLE_HERE,         /* woken by an interrupt on its idle previous CPU whose idle bit
				    another waker had taken, nothing queued there: run there */
	FP_CNT_UTIL_SAMPLES,      /* utilisation samples taken (util_sample_period_ns) */
	FP_CNT_LLC_BALANCES,      /* a CPU took a task from an LLC with more runnable per CPU */
	FP_CNT_LLC_PREEMPTS,      /* an interactive waker took a CPU of another LLC by deadline */
	FP_CNT_CLAIMS_LOST,       /* a waker's victim CPU was taken by another waker (or its
				    task changed) between the scan and the claim: it looked again */
	FP_CNT_PROTECTION_PREEMPTS, /* a task that ran out its protection gave way to a waiter
				      that came during it (protection_end.bpf.c) */
	FP_NR_COUNTERS,
};

struct fp_cpu_counters {
	fp_u64 value[FP_NR_COUNTERS];
};

/*
 * What each CPU is doing, for wakers deciding whether to preempt it, for boosted tasks looking
 * for batch work to preempt, and for steals deciding whether to look in its queue. One cache
 * line of what wakers read: every CPU writes its own at each ops.running and ops.stopping,
 * and a waker that takes a CPU (claim_cpu) writes that CPU's. The scheduler's alone:
 * framepaced never reads it (see struct fp_cpu_slot).
 */
struct fp_cpu_state {
	fp_u32 role;             /* role of the running task; FP_NR_ROLES while none runs */
	fp_u32 released;         /* an RT or deadline task holds the CPU (ops.cpu_release);
	                          * one 64-bit word with role, which claims swap (victim_cpu_for) */
	fp_u64 deadline;         /* deadline of the running task, for wakeup preemption */
	fp_u64 preemptible_at;   /* no waker preempts it before start + wakeup_protection_ns */
	fp_u32 own_inserted;     /* queue_stamp of the last task put in the CPU's own queue */
	fp_u32 own_stolen_at;    /* own_inserted when a steal last took nothing from that queue */
	fp_u16 balance_turn;     /* which other LLC balance_llcs looks at next */
	fp_u16 yielder_waits;    /* the task that stopped last gave way on a yield and waits */
	fp_u32 latency_at;       /* latency_stamp() as a game, compositor or audio thread last
	                          * started here (policy.h: where forks start) */
	fp_u64 yielder_deadline; /* its deadline then, charged for the yield */
	fp_u64 run_started;      /* fp_now_at_switch() as its task started, for ops.stopping */
	fp_u32 moved_from_llc;   /* 1 + the LLC whose clock the deadline of the task dispatch
	                          * moved here from another LLC is on; 0 when none was */
	fp_u16 yield_in_run;     /* the running task called sched_yield(): ops.stopping accounts
	                          * its run (note_yielder) */
	fp_u16 run_ticket;       /* the running task's ticket (policy.h: ticket_slice), which
	                          * ops.stopping puts back on a slice the kernel has used from */
} __attribute__((aligned(64)));

/*
 * An LLC's virtual clock and what its shared queue's head was when last seen (vclock.bpf.c).
 * A cache line of its own: every run accounted on the LLC's CPUs may write it, every dispatch
 * and shared insert the head. The scheduler's alone, as struct fp_cpu_state.
 */
struct fp_llc_clock {
	fp_u64 vtime_now;
	fp_u64 head_deadline; /* the first deadline waiting in the LLC's shared queue, as last seen */
	fp_u32 head_waits;    /* whether a task waited there then */
} __attribute__((aligned(64)));

/*
 * Slot i of the scheduler's cpu_slots (.bss): CPU i's state, LLC i's clock and CPU i's
 * counters, side by side so that a context switch touches one place (cpu_slots.bpf.c says
 * why). framepaced reads and resets the counters (GetStats, ResetStats); the state and the
 * clock are here only because the skeleton repeats .bss's types for C++.
 */
struct fp_cpu_slot {
	struct fp_cpu_state cpu;
	struct fp_llc_clock llc;
	struct fp_cpu_counters counters __attribute__((aligned(64)));
};

#ifdef __cplusplus
#define FP_STATIC_ASSERT static_assert
#else
#define FP_STATIC_ASSERT _Static_assert
#endif
/* cpu_slots.bpf.c counts pages in slots of this size: a 49th counter makes it 576 bytes. */
FP_STATIC_ASSERT(sizeof(struct fp_cpu_slot) == 512, "cpu_slots.bpf.c counts 512-byte slots");
/* A claim swaps role and released as one aligned 64-bit word (victim_cpu_for), and what
 * wakers read is one cache line. */
FP_STATIC_ASSERT(__builtin_offsetof(struct fp_cpu_state, role) == 0 &&
                         __builtin_offsetof(struct fp_cpu_state, released) == 4 &&
                         sizeof(struct fp_cpu_state) == 64,
                 "fp_cpu_state: role and released first, one cache line");

/*
 * Tunables that change live: one array element that framepaced writes and the scheduler
 * reads once per callback. Units in the names; per-role arrays are indexed by enum fp_role.
 */
struct fp_tunables {
	fp_u64 role_slice_ns[FP_NR_ROLES];    /* slice given at each dispatch, by role */
	fp_u64 role_deadline_ns[FP_NR_ROLES]; /* deadline = virtual time + this, by role */
	fp_u64 sleep_budget_ns;               /* most virtual time a sleeper may bank (lag bound) */
	fp_u64 boost_window_ns;               /* length of an input-boost window */
	fp_u64 heartbeat_limit_ns; /* a daemon heartbeat older than this refuses boosts */
	fp_u64 latency_outlier_ns; /* a wait from queueing to running above this is reported */
	fp_u64 critical_run_ns;    /* game threads with a mean run below this ... */
	fp_u64 critical_wake_ns;   /* ... and a mean wake interval below this are critical */
	fp_u64 interactive_run_ns; /* other threads with a mean run below this are interactive */
	fp_u64 batch_runnable_pct; /* still runnable at this % of its stops or more: batch */
	fp_u64 game_weight_pct;    /* games' weight relative to their nice level's */
	fp_u64 shared_util_pct;    /* CPU utilisation above which the shared queue is used */
	fp_u64 migration_interval_ns; /* a non-latency task moves to another LLC at most once per this */
	fp_u64 lag_limit_ns;          /* most virtual time a task may be ahead of the queue */
	/*
	 * framepaced's bookkeeping, never read here: bit i set when tunable i (in the daemon's
	 * table order) was set explicitly at run time. Kept with the maps, so a daemon that
	 * adopts the scheduler after a crash knows which values a power-profile preset may
	 * replace.
	 */
	fp_u64 user_set_mask;
};

#define FP_SLICE_NS_DEFAULT 3000000ULL /* 3 ms: under a 120 Hz frame (8.33 ms) */
#define FP_SLICE_NS_MIN 50000ULL
#define FP_SLICE_NS_MAX 100000000ULL
#define FP_DEADLINE_NS_MAX 1000000000ULL
#define FP_SLEEP_BUDGET_NS_DEFAULT 3000000ULL
#define FP_SLEEP_BUDGET_NS_MAX 1000000000ULL
#define FP_BOOST_WINDOW_NS_DEFAULT 4000000ULL /* 4 ms: half a 120 Hz frame */
#define FP_BOOST_WINDOW_NS_MIN 100000ULL
#define FP_BOOST_WINDOW_NS_MAX 100000000ULL
#define FP_HEARTBEAT_LIMIT_NS_DEFAULT 5000000000ULL
#define FP_HEARTBEAT_LIMIT_NS_MIN 200000000ULL
#define FP_HEARTBEAT_LIMIT_NS_MAX 60000000000ULL
#define FP_LATENCY_OUTLIER_NS_DEFAULT 20000000ULL /* 20 ms: over two 120 Hz frames */
#define FP_LATENCY_OUTLIER_NS_MIN 100000ULL
#define FP_LATENCY_OUTLIER_NS_MAX 10000000000ULL
#define FP_CRITICAL_RUN_NS_DEFAULT 2000000ULL   /* render/submit work per frame */
#define FP_CRITICAL_WAKE_NS_DEFAULT 50000000ULL /* 20 Hz or faster */
#define FP_INTERACTIVE_RUN_NS_DEFAULT 1000000ULL
#define FP_BEHAVIOUR_NS_MAX 1000000000ULL
#define FP_BATCH_RUNNABLE_PCT_DEFAULT 90ULL
#define FP_GAME_WEIGHT_PCT_DEFAULT 200ULL
#define FP_GAME_WEIGHT_PCT_MAX 1000ULL
#define FP_SHARED_UTIL_PCT_DEFAULT 75ULL
/*
 * The sampler's moving mean (ewma, policy.h) of a machine whose CPUs are all busy settles at
 * 97, not 100 (integer rounding): a threshold of 98-100 was never reached, and per-CPU queues
 * with every CPU busy starve wakers queued behind CPU hogs that lag the LLC's clock (2 hogs per
 * vCPU: the game's frame-start p99 111-417 ms, docs/benchmarks.md).
 */
#define FP_SHARED_UTIL_PCT_MAX 95ULL
#define FP_MIGRATION_INTERVAL_NS_DEFAULT 1000000ULL
#define FP_LAG_LIMIT_NS_DEFAULT 40000000ULL /* bounds a nice-19 task's wait */
#define FP_LAG_LIMIT_NS_MIN 1000000ULL

/* Defaults by role: NORMAL, INTERACTIVE, BATCH, GAME, GAME_CRITICAL, COMPOSITOR, AUDIO. */
#define FP_ROLE_SLICE_NS_DEFAULTS                                                                  \
	{3000000ULL, 3000000ULL, 6000000ULL, 3000000ULL, 3000000ULL, 3000000ULL, 1000000ULL}
#define FP_ROLE_DEADLINE_NS_DEFAULTS                                                               \
	{4000000ULL, 1000000ULL, 12000000ULL, 1000000ULL, 0ULL, 0ULL, 0ULL}

/*
 * Identifies a running framepace scheduler and its layout to a daemon that finds it kept
 * across a restart. Its map ("meta") must never change shape: one array element, this
 * struct first.
 */
#define FP_META_MAGIC 0x6670616365ULL /* "fpace" */

struct fp_meta {
	fp_u64 magic;
	fp_u64 layout_version;
};

/* What the kernel said when it disabled the scheduler; written once by ops.exit. */
#define FP_EXIT_REASON_LEN 128
#define FP_EXIT_MSG_LEN 1024

struct fp_exit_info {
	fp_s64 kind; /* enum scx_exit_kind; written last, 0 until ops.exit ran */
	fp_s64 exit_code;
	char reason[FP_EXIT_REASON_LEN];
	char msg[FP_EXIT_MSG_LEN];
};

/* scx_exit_kind values userspace names (stable kernel ABI). */
#define FP_EXIT_KIND_UNREG 64
#define FP_EXIT_KIND_UNREG_BPF 65
#define FP_EXIT_KIND_UNREG_KERN 66
#define FP_EXIT_KIND_SYSRQ 67
#define FP_EXIT_KIND_ERROR 1024
#define FP_EXIT_KIND_ERROR_BPF 1025
#define FP_EXIT_KIND_ERROR_STALL 1026

/*
 * Events, BPF to framepaced, through FP_NR_RINGS ring buffers: a writer uses the ring of its
 * CPU modulo FP_NR_RINGS. With fewer than 32 CPUs at most two CPUs share a ring, so writers
 * rarely contend on a ring's spinlock, and a storm on one CPU fills one ring without
 * silencing the others. A reserve that fails is counted as dropped for that ring, never
 * waited on.
 */
#define FP_NR_RINGS 16
#define FP_RING_BYTES_DEFAULT (256 * 1024)
#define FP_RING_BYTES_MIN 4096 /* one page: the kernel's minimum */
#define FP_RING_BYTES_MAX (256 * 1024 * 1024)

/* Bumped when an event layout changes; the daemon ignores (and counts) other versions. */
#define FP_EVENT_VERSION 1

enum fp_event_type {
	FP_EV_EXEC = 1,         /* a process exec'd: a game candidate */
	FP_EV_EXIT = 2,         /* a process (thread group) exited */
	FP_EV_BOOST_OPENED = 3, /* an input-boost window opened */
	FP_EV_ROLE_CHANGE = 4,  /* a task's role changed (gaming policy) */
	FP_EV_LATENCY = 5,      /* a task waited longer than latency_outlier_ns to run */
	FP_NR_EVENT_TYPES,
};

#define FP_EVENT_PATH_LEN 64

struct fp_event {
	fp_u16 version; /* FP_EVENT_VERSION */
	fp_u16 type;    /* enum fp_event_type */
	fp_u32 cpu;
	fp_u64 timestamp_ns; /* CLOCK_MONOTONIC */
	fp_u32 pid;          /* thread group id */
	fp_u32 tid;
	char comm[16];
	union {
		struct {
			char filename[FP_EVENT_PATH_LEN];
		} exec;
		struct {
			fp_u64 window_ns;
		} boost;
		struct {
			fp_u32 old_role;
			fp_u32 new_role;
		} role;
		struct {
			fp_u64 wait_ns;
		} latency;
	};
};

/* Per-CPU; a CPU only ever writes the slot of its own ring. */
struct fp_ring_counters {
	fp_u64 produced[FP_NR_RINGS];
	fp_u64 dropped[FP_NR_RINGS];
	fp_u64 first_drop_ns[FP_NR_RINGS]; /* CLOCK_MONOTONIC of this CPU's first drop, 0: none */
};

/* One task as the task iterator reports it to ListTasks. */
#define FP_COMM_LEN 16

struct fp_task_record {
	fp_u32 pid; /* thread group id */
	fp_u32 tid;
	fp_u32 policy;     /* SCHED_NORMAL 0, SCHED_BATCH 3, SCHED_IDLE 5, SCHED_EXT 7 */
	fp_u32 weight;     /* sched_ext weight, 100 = nice 0 */
	fp_u64 generation; /* generation the task was classified in */
	fp_u64 runs;
	fp_u64 runtime_ns;
	char comm[FP_COMM_LEN];
	fp_u32 class_id;    /* enum fp_class of the thread group */
	fp_u32 role;        /* enum fp_role */
	fp_u64 avg_run_ns;  /* moving mean of run lengths */
	fp_u64 avg_wake_ns; /* moving mean of the interval between wakeups */
	fp_u64 boosts;      /* times it was queued as boosted (inside an input-boost window) */
	fp_u64 wake_dev_ns; /* moving mean of the intervals' distance from avg_wake_ns */
};

#endif /* FRAMEPACE_SHARED_H */
