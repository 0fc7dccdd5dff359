/* SPDX-License-Identifier: GPL-2.0 */
/*
 * framepace - a sched_ext scheduler for games.
 *
 * Policy (first cut; the gaming policy builds on it):
 *  - Placement is locality first. A waking task goes back to its previous CPU if that CPU is
 *    idle, else to an idle CPU that shares the previous CPU's last-level cache, else to any
 *    idle CPU it may use; in all three cases it is inserted straight into that CPU's local
 *    queue and never touches shared state.
 *  - When no allowed CPU is idle the task joins one shared queue ordered by weighted virtual
 *    time: runtime is charged as used_ns * 100 / weight, so nice levels are honoured.
 *  - A task that slept may not bank more than sleep_budget_ns of virtual time: it wakes with a
 *    deadline at most that far ahead of everyone else, so sleepers win the next pick without
 *    starving the tasks that kept running.
 *  - ops.timeout_ms makes the kernel eject us (and fall back to the fair class) if any
 *    runnable task waits longer than that: the last line of defence against a policy bug.
 *
 * Known limits: one shared queue serialises enqueues of busy systems on one lock - fine for
 * the handheld/desktop CPU counts we target, and the reason the idle fast path exists. No
 * SMT awareness yet.
 */
#define BPF_NO_KFUNC_PROTOTYPES
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kfuncs.h"
#include "framepace_shared.h"

char _license[] SEC("license") = "GPL";

#define ENOENT 2
#define ENOMEM 12

#define BPF_STRUCT_OPS(name, args...) SEC("struct_ops/" #name) BPF_PROG(name, ##args)
#define BPF_STRUCT_OPS_SLEEPABLE(name, args...) SEC("struct_ops.s/" #name) BPF_PROG(name, ##args)

static __always_inline bool time_before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

/* Topology, filled in by framepaced before load: LLC ids are dense, 0 .. nr_llcs-1.
 * Globals use __u32/__u64: the skeleton repeats their types for C++, which has no u32. */
const volatile __u32 nr_cpus = 1;
const volatile __u32 nr_llcs = 1;
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
	u64 vtime;          /* weighted virtual time: the task's place in the shared queue */
	u64 running_since;  /* ns timestamp of the last ops.running */
	u64 generation;     /* the generation the task was classified in */
	u64 runs;
	u64 runtime_ns;
	u64 queued_at;      /* ns when it last joined the shared queue; 0 once it runs */
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

/*
 * Virtual time of the task that most recently started running. Updated without atomics
 * from every CPU: a lost update only lets a task start a little ahead or behind, and the
 * next ops.running corrects it. Contained and temporary; live with it.
 */
__u64 vtime_now;

/*
 * Bumped by framepaced on every (re)start. A task whose context was set up in an older
 * generation is re-classified the next time it runs: one compare on the hot path, no scan.
 */
__u64 generation;

/*
 * CLOCK_MONOTONIC ns of framepaced's last heartbeat. Read only when a boost window is about
 * to open: a dead or stuck daemon cannot leave games boosted over everyone else.
 */
__u64 heartbeat_ns;

/* End of the open input-boost window (CLOCK_MONOTONIC ns); in the past when none is open. */
__u64 boost_until_ns;

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
		if (ev)
			cnt->produced[idx]++;
		else
			cnt->dropped[idx]++;
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

static __always_inline void event_set_task(struct fp_event *ev, struct task_struct *p)
{
	ev->pid = p->tgid;
	ev->tid = p->pid;
	__builtin_memcpy(ev->comm, p->comm, sizeof(ev->comm));
}

static __always_inline struct fp_tunables current_tunables(void)
{
	u32 zero = 0;
	struct fp_tunables *t = bpf_map_lookup_elem(&tunables, &zero);
	struct fp_tunables dflt = {
		.slice_ns = FP_SLICE_NS_DEFAULT,
		.sleep_budget_ns = FP_SLEEP_BUDGET_NS_DEFAULT,
		.boost_window_ns = FP_BOOST_WINDOW_NS_DEFAULT,
		.heartbeat_limit_ns = FP_HEARTBEAT_LIMIT_NS_DEFAULT,
		.latency_outlier_ns = FP_LATENCY_OUTLIER_NS_DEFAULT,
	};

	/* framepaced validates before writing; zero means "never written". */
	if (!t || !t->slice_ns)
		return dflt;
	return *t;
}

static __always_inline struct task_ctx *lookup_task_ctx(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctxs, p, 0, 0);
}

/* A sleeper re-enters at most budget_ns behind the queue's virtual time. */
static __always_inline u64 enqueue_vtime(u64 task_vtime, u64 now, u64 budget_ns, bool *clamped)
{
	if (time_before(task_vtime, now - budget_ns)) {
		*clamped = true;
		return now - budget_ns;
	}
	*clamped = false;
	return task_vtime;
}

/* Weight 100 is nice 0; a heavier task's time counts for less. */
static __always_inline u64 charge_vtime(u64 task_vtime, u64 used_ns, u32 weight)
{
	return task_vtime + used_ns * 100 / (weight ? weight : 100);
}

/*
 * Opens the input-boost window, or extends the open one. Only opening consults the
 * heartbeat; extending an open window is a single store.
 */
static __always_inline bool open_boost_window(u64 now, const struct fp_tunables *t)
{
	struct fp_event *ev;

	if (time_before(now, boost_until_ns)) {
		boost_until_ns = now + t->boost_window_ns;
		count(FP_CNT_BOOST_OPENED);
		return true;
	}
	if (!heartbeat_ns || now - heartbeat_ns > t->heartbeat_limit_ns) {
		count(FP_CNT_BOOST_REFUSED);
		return false;
	}
	boost_until_ns = now + t->boost_window_ns;
	count(FP_CNT_BOOST_OPENED);
	ev = event_reserve(FP_EV_BOOST_OPENED);
	if (ev) {
		ev->boost.window_ns = t->boost_window_ns;
		bpf_ringbuf_submit(ev, 0);
	}
	return true;
}

/* State set up by an earlier daemon generation starts over; the task keeps its place. */
static __always_inline void reclassify(struct task_ctx *tctx)
{
	tctx->runs = 0;
	tctx->runtime_ns = 0;
	tctx->generation = generation;
	count(FP_CNT_RECLASSIFIED);
}

static __always_inline u32 llc_of(s32 cpu)
{
	if ((u32)cpu < FP_MAX_CPUS)
		return cpu_llc_id[cpu];
	return 0;
}

static __always_inline s32 idle_cpu_in_llc(struct task_struct *p, s32 prev_cpu)
{
	u32 zero = 0, llc = llc_of(prev_cpu);
	struct llc_ctx *lctx = bpf_map_lookup_elem(&llcs, &llc);
	struct cpu_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	struct bpf_cpumask *llc_cpus, *allowed;

	if (!lctx || !s)
		return -ENOENT;
	llc_cpus = lctx->cpus;
	allowed = s->mask;
	if (!llc_cpus || !allowed)
		return -ENOENT;
	bpf_cpumask_and(allowed, fp_cast_mask(llc_cpus), p->cpus_ptr);
	return scx_bpf_pick_idle_cpu(fp_cast_mask(allowed), 0);
}

/* Nearest idle CPU first: the previous one keeps its caches warm, its LLC siblings share L3. */
static __always_inline s32 pick_idle_cpu(struct task_struct *p, s32 prev_cpu)
{
	s32 cpu;

	if (bpf_cpumask_test_cpu(prev_cpu, p->cpus_ptr) &&
	    scx_bpf_test_and_clear_cpu_idle(prev_cpu)) {
		count(FP_CNT_DIRECT_PREV);
		return prev_cpu;
	}

	/* Only worth a cpumask walk when there is more than one cache to choose between. */
	if (nr_llcs > 1) {
		cpu = idle_cpu_in_llc(p, prev_cpu);
		if (cpu >= 0) {
			count(FP_CNT_DIRECT_LLC);
			return cpu;
		}
	}

	cpu = scx_bpf_pick_idle_cpu(p->cpus_ptr, 0);
	if (cpu >= 0) {
		/* With one LLC every idle CPU shares prev's cache. */
		count(nr_llcs > 1 ? FP_CNT_DIRECT_ANY : FP_CNT_DIRECT_LLC);
	}
	return cpu;
}

s32 BPF_STRUCT_OPS(framepace_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	s32 cpu = pick_idle_cpu(p, prev_cpu);

	if (cpu >= 0) {
		fp_dsq_insert(p, SCX_DSQ_LOCAL, current_tunables().slice_ns, 0);
		return cpu;
	}
	count(FP_CNT_SELECT_BUSY);
	return prev_cpu;
}

void BPF_STRUCT_OPS(framepace_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct fp_tunables t = current_tunables();
	struct task_ctx *tctx = lookup_task_ctx(p);
	bool clamped;
	u64 vtime;

	/* Every task gets a context in init_task; without one, queue it at the current time. */
	if (!tctx) {
		fp_dsq_insert_vtime(p, FP_SHARED_DSQ, t.slice_ns, vtime_now, enq_flags);
		count(FP_CNT_ENQ_SHARED);
		return;
	}

	vtime = enqueue_vtime(tctx->vtime, vtime_now, t.sleep_budget_ns, &clamped);
	if (clamped) {
		tctx->vtime = vtime;
		count(FP_CNT_SLEEP_CLAMPED);
	}
	/* Only shared-queue waits are timed: a direct dispatch onto an idle CPU has none. */
	tctx->queued_at = bpf_ktime_get_ns();
	fp_dsq_insert_vtime(p, FP_SHARED_DSQ, t.slice_ns, vtime, enq_flags);
	count(FP_CNT_ENQ_SHARED);
}

void BPF_STRUCT_OPS(framepace_dispatch, s32 cpu, struct task_struct *prev)
{
	if (fp_dsq_move_to_local(FP_SHARED_DSQ))
		count(FP_CNT_DISPATCH_SHARED);
}

static __always_inline void report_wait(struct task_struct *p, struct task_ctx *tctx, u64 now)
{
	u64 wait = now - tctx->queued_at;
	struct fp_event *ev;

	tctx->queued_at = 0;
	if (wait <= current_tunables().latency_outlier_ns)
		return;
	count(FP_CNT_LATENCY_OUTLIERS);
	ev = event_reserve(FP_EV_LATENCY);
	if (!ev)
		return;
	event_set_task(ev, p);
	ev->latency.wait_ns = wait;
	bpf_ringbuf_submit(ev, 0);
}

void BPF_STRUCT_OPS(framepace_running, struct task_struct *p)
{
	struct task_ctx *tctx = lookup_task_ctx(p);
	u64 now;

	count(FP_CNT_RUNS);
	if (!tctx)
		return;
	if (tctx->generation != generation)
		reclassify(tctx);
	now = bpf_ktime_get_ns();
	if (tctx->queued_at)
		report_wait(p, tctx, now);
	tctx->runs++;
	tctx->running_since = now;
	if (time_before(vtime_now, tctx->vtime))
		vtime_now = tctx->vtime;
}

void BPF_STRUCT_OPS(framepace_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tctx = lookup_task_ctx(p);
	u64 used;

	if (!tctx || !tctx->running_since)
		return;
	used = bpf_ktime_get_ns() - tctx->running_since;
	tctx->vtime = charge_vtime(tctx->vtime, used, p->scx.weight);
	tctx->runtime_ns += used;
	count(FP_CNT_STOPS);
	count_add(FP_CNT_RUN_NS, used);
}

void BPF_STRUCT_OPS(framepace_enable, struct task_struct *p)
{
	struct task_ctx *tctx = lookup_task_ctx(p);

	if (tctx)
		tctx->vtime = vtime_now;
}

s32 BPF_STRUCT_OPS(framepace_init_task, struct task_struct *p, struct scx_init_task_args *args)
{
	struct task_ctx *tctx;

	tctx = bpf_task_storage_get(&task_ctxs, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tctx)
		return -ENOMEM;
	tctx->vtime = vtime_now;
	tctx->generation = generation;
	count(FP_CNT_TASK_INITS);
	return 0;
}

static s32 init_scratch_masks(void)
{
	struct bpf_cpumask *mask;
	struct cpu_scratch *s;
	u32 zero = 0, cpu;

	for (cpu = 0; cpu < FP_MAX_CPUS && cpu < nr_cpus; cpu++) {
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
	u32 llc, cpu;

	for (llc = 0; llc < FP_MAX_CPUS && llc < nr_llcs; llc++) {
		lctx = bpf_map_lookup_elem(&llcs, &llc);
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
	for (cpu = 0; cpu < FP_MAX_CPUS && cpu < nr_cpus; cpu++) {
		llc = cpu_llc_id[cpu];
		lctx = bpf_map_lookup_elem(&llcs, &llc);
		if (!lctx)
			continue;
		mask = lctx->cpus;
		if (mask)
			bpf_cpumask_set_cpu(cpu, mask);
	}
	bpf_rcu_read_unlock();
	return 0;
}

s32 BPF_STRUCT_OPS_SLEEPABLE(framepace_init)
{
	s32 err;

	err = scx_bpf_create_dsq(FP_SHARED_DSQ, -1);
	if (err)
		return err;
	err = init_scratch_masks();
	if (err)
		return err;
	return init_llc_masks();
}

void BPF_STRUCT_OPS(framepace_exit, struct scx_exit_info *ei)
{
	bpf_probe_read_kernel_str(exit_info.reason, sizeof(exit_info.reason), ei->reason);
	bpf_probe_read_kernel_str(exit_info.msg, sizeof(exit_info.msg), ei->msg);
	exit_info.exit_code = ei->exit_code;
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
	bpf_ringbuf_submit(ev, 0);
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
	bpf_ringbuf_submit(ev, 0);
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
	__builtin_memcpy(rec.comm, task->comm, sizeof(rec.comm));
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

/*
 * Pure logic, run by the host tests through BPF_PROG_TEST_RUN: the host kernel has no
 * sched_ext, but it can run the exact helpers the scheduler inlines.
 */
SEC("syscall")
int fp_test_vtime(struct fp_vtime_probe *probe)
{
	bool clamped;

	probe->enqueue_vtime = enqueue_vtime(probe->task_vtime, probe->vtime_now,
					     probe->budget_ns, &clamped);
	probe->clamped = clamped;
	probe->charged_vtime = charge_vtime(probe->task_vtime, probe->used_ns, probe->weight);
	return 0;
}

SEC("syscall")
int fp_test_tunables(struct fp_tunables *out)
{
	*out = current_tunables();
	return 0;
}

struct fill_ctx {
	u32 ring;
	u32 failed;
};

static long fill_one(u32 index, void *data)
{
	struct fill_ctx *fill = data;
	struct fp_event *ev = event_reserve_in(fill->ring, FP_EV_TEST);

	if (!ev) {
		fill->failed++;
		return 0;
	}
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
	return 0;
}

/* Fills one ring through the scheduler's own reserve path; reports the failed reserves. */
SEC("syscall")
int fp_test_fill_ring(struct fp_fill_probe *probe)
{
	struct fill_ctx fill = { .ring = probe->ring };

	bpf_loop(probe->count, fill_one, &fill, 0);
	probe->failed = fill.failed;
	return 0;
}

/*
 * Test hook until the input hook exists: asks for a boost window exactly as the input path
 * will. Returns 1 if the window opened. Run through BPF_PROG_TEST_RUN by the host tests and
 * by tests/vm's framepace-boost-probe.
 */
SEC("syscall")
int fp_test_boost(void *ctx)
{
	struct fp_tunables t = current_tunables();

	return open_boost_window(bpf_ktime_get_ns(), &t);
}

SEC(".struct_ops.link")
struct sched_ext_ops framepace_ops = {
	.select_cpu = (void *)framepace_select_cpu,
	.enqueue    = (void *)framepace_enqueue,
	.dispatch   = (void *)framepace_dispatch,
	.running    = (void *)framepace_running,
	.stopping   = (void *)framepace_stopping,
	.enable     = (void *)framepace_enable,
	.init_task  = (void *)framepace_init_task,
	.init       = (void *)framepace_init,
	.exit       = (void *)framepace_exit,
	/* Well under the kernel's 30 s: a stall ejects us long before a user notices a hang. */
	.timeout_ms = 5000,
	.name       = "framepace",
};
