/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel functions framepace calls, declared by this project from the kernel's BTF
 * (vmlinux.h is included with BPF_NO_KFUNC_PROTOTYPES so these are the only declarations).
 *
 * Every sched_ext kfunc is __weak: an unresolved weak kfunc is not an error at load time,
 * which lets one object run on 6.12 (scx_bpf_dispatch*, scx_bpf_consume) and on 6.13+
 * (scx_bpf_dsq_insert*, scx_bpf_dsq_move_to_local) - bpf_ksym_exists() picks the branch and
 * the verifier prunes the other. It also lets the host, whose kernel has no sched_ext, load
 * the object with the scheduler switched off for its tests.
 */
#ifndef FRAMEPACE_KFUNCS_H
#define FRAMEPACE_KFUNCS_H

/* sched_ext, 6.13+ names */
void scx_bpf_dsq_insert(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __weak __ksym;
void scx_bpf_dsq_insert_vtime(struct task_struct *p, u64 dsq_id, u64 slice, u64 vtime,
                              u64 enq_flags) __weak __ksym;
bool scx_bpf_dsq_move_to_local(u64 dsq_id) __weak __ksym;

/* sched_ext, 6.12 names of the same operations */
void scx_bpf_dispatch(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __weak __ksym;
void scx_bpf_dispatch_vtime(struct task_struct *p, u64 dsq_id, u64 slice, u64 vtime,
                            u64 enq_flags) __weak __ksym;
bool scx_bpf_consume(u64 dsq_id) __weak __ksym;

/* sched_ext, stable since 6.12 */
s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __weak __ksym;
bool scx_bpf_test_and_clear_cpu_idle(s32 cpu) __weak __ksym;
s32 scx_bpf_pick_idle_cpu(const struct cpumask *cpus_allowed, u64 flags) __weak __ksym;
void scx_bpf_kick_cpu(s32 cpu, u64 flags) __weak __ksym;
s32 scx_bpf_task_cpu(const struct task_struct *p) __weak __ksym;
s32 scx_bpf_dsq_nr_queued(u64 dsq_id) __weak __ksym;
const struct cpumask *scx_bpf_get_idle_cpumask(void) __weak __ksym;
const struct cpumask *scx_bpf_get_idle_smtmask(void) __weak __ksym;
int bpf_iter_scx_dsq_new(struct bpf_iter_scx_dsq *it, u64 dsq_id, u64 flags) __weak __ksym;
struct task_struct *bpf_iter_scx_dsq_next(struct bpf_iter_scx_dsq *it) __weak __ksym;
void bpf_iter_scx_dsq_destroy(struct bpf_iter_scx_dsq *it) __weak __ksym;
void scx_bpf_put_idle_cpumask(const struct cpumask *cpumask) __weak __ksym;
const struct cpumask *scx_bpf_get_online_cpumask(void) __weak __ksym;
void scx_bpf_put_cpumask(const struct cpumask *cpumask) __weak __ksym;

/*
 * Sending a CPU's local queue back through ops.enqueue when an RT/DL task takes the CPU:
 * 6.12-6.18 only from ops.cpu_release (returns a count); 6.19+ from anywhere, under the
 * kernel name scx_bpf_reenqueue_local___v2. That name is spelled here with one more libbpf
 * flavour suffix, which libbpf strips: without it libbpf would strip "___v2" itself and
 * resolve the old function.
 */
u32 scx_bpf_reenqueue_local(void) __weak __ksym;
void scx_bpf_reenqueue_local___v2___fp(void) __weak __ksym;

/* sched_ext, 6.18+: the runqueue the running callback holds locked (NULL outside one). */
struct rq *scx_bpf_locked_rq(void) __weak __ksym;

/* sched_ext, 6.13+: move one task met by a queue iterator to another queue. */
bool scx_bpf_dsq_move(struct bpf_iter_scx_dsq *it__iter, struct task_struct *p, u64 dsq_id,
                      u64 enq_flags) __weak __ksym;

/* sched_ext, 6.19+: the head of a user queue without its lock (NULL when empty). */
struct task_struct *scx_bpf_dsq_peek(u64 dsq_id) __weak __ksym;

/* sched_ext, 6.14+: the runqueue clock the kernel has already read (see fp_now). */
u64 scx_bpf_now(void) __weak __ksym;

/* cpumask kptrs */
struct bpf_cpumask *bpf_cpumask_create(void) __weak __ksym;
void bpf_cpumask_release(struct bpf_cpumask *cpumask) __weak __ksym;
void bpf_cpumask_set_cpu(u32 cpu, struct bpf_cpumask *cpumask) __weak __ksym;
bool bpf_cpumask_test_cpu(u32 cpu, const struct cpumask *cpumask) __weak __ksym;
bool bpf_cpumask_and(struct bpf_cpumask *dst, const struct cpumask *src1,
                     const struct cpumask *src2) __weak __ksym;
u32 bpf_cpumask_weight(const struct cpumask *cpumask) __weak __ksym;
u32 bpf_cpumask_any_distribute(const struct cpumask *cpumask) __weak __ksym;
void bpf_rcu_read_lock(void) __weak __ksym;
void bpf_rcu_read_unlock(void) __weak __ksym;

/* The version-independent spellings the scheduler uses. */
static __always_inline void fp_dsq_insert(struct task_struct *p, u64 dsq_id, u64 slice,
                                          u64 enq_flags)
{
	if (bpf_ksym_exists(scx_bpf_dsq_insert))
		scx_bpf_dsq_insert(p, dsq_id, slice, enq_flags);
	else
		scx_bpf_dispatch(p, dsq_id, slice, enq_flags);
}

static __always_inline void fp_dsq_insert_vtime(struct task_struct *p, u64 dsq_id, u64 slice,
                                                u64 vtime, u64 enq_flags)
{
	if (bpf_ksym_exists(scx_bpf_dsq_insert_vtime))
		scx_bpf_dsq_insert_vtime(p, dsq_id, slice, vtime, enq_flags);
	else
		scx_bpf_dispatch_vtime(p, dsq_id, slice, vtime, enq_flags);
}

static __always_inline bool fp_dsq_move_to_local(u64 dsq_id)
{
	if (bpf_ksym_exists(scx_bpf_dsq_move_to_local))
		return scx_bpf_dsq_move_to_local(dsq_id);
	return scx_bpf_consume(dsq_id);
}

static __always_inline void fp_reenqueue_local(void)
{
	if (bpf_ksym_exists(scx_bpf_reenqueue_local___v2___fp))
		scx_bpf_reenqueue_local___v2___fp();
	else
		scx_bpf_reenqueue_local();
}

/*
 * The scheduler's clock, in sched_clock's time: the runqueue clock the kernel read for this
 * scheduling event where bpf_ktime_get_ns reads the clocksource again (an HPET read, a trap
 * to the hypervisor, where the TSC is unstable: the test VM's case). Monotonic on one CPU
 * only: a stamp from another CPU is compared with time_since or time_before. Not
 * CLOCK_MONOTONIC: what framepaced writes (heartbeat_ns) or reads (event times) stays on
 * bpf_ktime_get_ns. Before 6.14, bpf_ktime_get_ns throughout.
 */
static __always_inline u64 fp_now(void)
{
	if (bpf_ksym_exists(scx_bpf_now))
		return scx_bpf_now();
	return bpf_ktime_get_ns();
}

/* The clock, read at most once per callback and only on the paths that need it. */
static __always_inline u64 clock_once(u64 *now)
{
	if (!*now)
		*now = fp_now();
	return *now;
}

/* Fields struct rq has only where the kernel accounts interrupt time
 * (CONFIG_IRQ_TIME_ACCOUNTING) or a hypervisor's steal time (CONFIG_PARAVIRT_TIME_ACCOUNTING):
 * flavours of the running kernel's struct rq, checked for in its BTF at load. */
struct rq___fp_irq_time {
	u64 prev_irq_time;
} __attribute__((preserve_access_index));

struct rq___fp_steal_time {
	u64 prev_steal_time_rq;
} __attribute__((preserve_access_index));

/*
 * Whether the kernel's task clock is fp_now()'s: where it accounts neither interrupt nor steal
 * time, the runqueue's task clock is its clock (scx_bpf_now() reads it from 6.14 on). Then
 * p->se.exec_start, which the kernel sets as it picks p and as it updates p's runtime (last as
 * p stops), says when p started or stopped on fp_now()'s clock: fp_now_at_switch, and the
 * accounting of a run when p is next queued (account_last_run).
 */
static __always_inline bool task_clock_is_fp_now(void)
{
	return bpf_ksym_exists(scx_bpf_now) &&
	       !bpf_core_field_exists(((struct rq___fp_irq_time *)0)->prev_irq_time) &&
	       !bpf_core_field_exists(((struct rq___fp_steal_time *)0)->prev_steal_time_rq);
}

/*
 * fp_now() as ops.running and ops.stopping of p see it, without a call: the kernel has just set
 * p->se.exec_start to its runqueue's task clock (task_clock_is_fp_now), the runqueue clock as
 * last updated. scx_bpf_now() reads the clock afresh once the runqueue lock was dropped since (a
 * dispatch that moved a task from another CPU): compared in ops.running under TCG, exec_start
 * was behind it by more than 100 us in 142 of about 1000 runs, by more than 1 ms in one, and
 * never ahead; wakeup protections are 1 ms or more. The call cost 0.5-1 us there, as much as the
 * rest of ops.running. Where the clocks differ (and before 6.14, where fp_now() is
 * bpf_ktime_get_ns's time) the call.
 */
static __always_inline u64 fp_now_at_switch(const struct task_struct *p)
{
	if (task_clock_is_fp_now())
		return p->se.exec_start;
	return fp_now();
}

/*
 * The CPU p is on, as the kernel's task_cpu() reads it: a load (x86 keeps it in thread_info)
 * where scx_bpf_task_cpu is a kfunc call on every ops.enqueue, ops.running and ops.stopping.
 */
static __always_inline s32 task_cpu(const struct task_struct *p)
{
	if (bpf_core_field_exists(p->thread_info.cpu))
		return p->thread_info.cpu;
	return scx_bpf_task_cpu(p);
}

static __always_inline const struct cpumask *fp_cast_mask(struct bpf_cpumask *mask)
{
	return (const struct cpumask *)mask;
}

#endif /* FRAMEPACE_KFUNCS_H */
