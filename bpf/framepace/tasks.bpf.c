/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-task state in task storage: what a task is charged per run, its deadline's role, and
 * the ListTasks iterator that dumps it.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/* Per-task state lives and dies with the task: no table to size, no LRU, nothing to leak. */
struct task_ctx {
	u64 vtime;        /* weighted virtual time: the task's place in the queues */
	u64 exec_at_stop; /* p->se.sum_exec_runtime as its last run was accounted (or at enable):
	                    * what the run since used, without a clock read */
	u64 generation;   /* the generation the task was classified in */
	u64 runs;
	u64 runtime_ns;
	u64 queued_at;    /* ns when it was last queued; 0 once that run was accounted */
	u64 avg_run_ns;   /* moving mean of run lengths */
	u64 avg_wake_ns;  /* moving mean of the intervals between wakeups */
	u64 wake_dev_ns;  /* moving mean of their distance from that mean: how regular they are */
	u64 last_wake_ns; /* when it last woke */
	u64 slept_at;     /* when it stopped to sleep (fp_now()'s clock), until that sleep's wakeup
	                   * is placed (sleep_to_place); 0 otherwise */
	u64 last_migration_ns;
	u64 game_wakeup_ns;  /* when a game thread last woke it */
	u64 input_wakeup_ns; /* when input_event last woke it */
	u64 boosts;          /* times it was queued as boosted (inside an input-boost window) */
	u64 runnable_pct;    /* moving share of stops at which it was still runnable, % */
	u32 classes_seq;     /* classes_seq its class was read at */
	u32 vtime_llc;       /* the LLC whose virtual clock vtime is measured against */
	u32 slice_left_ns;   /* what its slice had left as a short waker displaced it, 0 when
	                      * none did since its last full slice (resume_slice) */
	u8 class_id;         /* enum fp_class of its thread group */
	u8 role;             /* enum fp_role */
	u8 slept;            /* stopped without being runnable: the next run is a wakeup */
	u8 periodic;         /* periodic_wakeups as of its last wakeup: its deadline_role */
	u8 woke_sync;        /* select_cpu: this wakeup is synchronous; ops.enqueue clears it */
	u8 yielded;          /* called sched_yield() in this run: gives way to any waiting task */
	u8 victim_sought;    /* select_cpu found no CPU to take by role: enqueue looks no more */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

static __always_inline struct task_ctx *lookup_task_ctx(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctxs, p, 0, 0);
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
 * The role whose deadline offset tctx's task queues, runs and is weighed in dispatch with
 * (deadline_role): from the one flag its last wakeup set, so that all three agree.
 */
static __always_inline u32 task_deadline_role(const struct task_ctx *tctx,
                                              const struct fp_tunables *t)
{
	return deadline_role(tctx->role, tctx->periodic, t);
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

/* What p's run has used so far, or the run that ended: the kernel brings sum_exec_runtime up
 * to date before it calls ops.dispatch and ops.stopping, and after ops.stopping only as it
 * puts away a task that sleeps (put_prev_task), before the run is accounted. */
static __always_inline u64 run_used_ns(const struct task_struct *p, const struct task_ctx *tctx)
{
	return p->se.sum_exec_runtime - tctx->exec_at_stop;
}

/*
 * The slice p is queued with for a run in this role, carrying the run's ticket (ticket_slice,
 * policy.h): its role and how long wakers leave it be once it starts.
 */
static __always_inline u64 ticket_for(u32 role, u64 avg_run_ns, const struct fp_tunables *t)
{
	u64 slice = t->role_slice_ns[role];

	return ticket_slice(slice, role,
	                    wakeup_protection_ns(role, avg_run_ns, slice,
	                                         batch_protection_ns(nr_cpus, nr_llcs)));
}

static __always_inline u64 run_ticket(const struct task_ctx *tctx, u32 role,
                                      const struct fp_tunables *t)
{
	return ticket_for(role, tctx->avg_run_ns, t);
}

/* A task with no context (it came before init_task could make one): a normal run. */
static __always_inline u64 contextless_ticket(const struct fp_tunables *t)
{
	return ticket_for(FP_ROLE_NORMAL, 0, t);
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
