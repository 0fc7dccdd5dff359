/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPUs and last-level caches: which LLC a CPU is in, which CPUs a task may use, and the
 * per-LLC masks set up at load.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

struct llc_ctx {
	struct bpf_cpumask __kptr *cpus;
	u32 nr_cpus;     /* CPUs in the LLC, counted at load */
	u64 balanced_at; /* fp_now() when a CPU of it last took a task from a busier LLC */
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

/* CPUs from FP_MAX_CPUS on count as LLC 0. */
static __always_inline u32 llc_of(s32 cpu)
{
	/* nr_llcs is read-only data, known at load: with one LLC the table is never read. */
	if (nr_llcs <= 1)
		return 0;
	return cpu_llc_id[bounded_index(cpu)];
}

/* The next hardware thread of cpu's core; cpu itself without SMT. */
static __always_inline u32 next_sibling(u32 cpu)
{
	return cpu_next_sibling[bounded_index(cpu)];
}

static __always_inline u32 nr_llc_queues(void)
{
	return nr_llcs < FP_MAX_CPUS ? nr_llcs : FP_MAX_CPUS;
}

static __always_inline u32 nr_cpu_queues(void)
{
	return nr_cpus < FP_MAX_CPUS ? nr_cpus : FP_MAX_CPUS;
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
 * Puts a new, empty cpumask into a map value's kptr slot. At load, the only time it runs (it
 * allocates), the slot is empty; the verifier still wants whatever the exchange returns
 * released. Shared by every cpumask the scheduler owns (LLCs, scratch, the sampler's).
 */
static __always_inline s32 install_empty_cpumask(struct bpf_cpumask __kptr **slot)
{
	struct bpf_cpumask *mask = bpf_cpumask_create();

	if (!mask)
		return -ENOMEM;
	mask = bpf_kptr_xchg(slot, mask);
	if (mask)
		bpf_cpumask_release(mask);
	return 0;
}

static s32 init_llc_masks(void)
{
	struct bpf_cpumask *mask;
	struct llc_ctx *lctx;
	u32 key;
	s32 llc, cpu, err;

	bpf_for(llc, 0, nr_llcs < FP_MAX_CPUS ? nr_llcs : FP_MAX_CPUS)
	{
		key = llc;
		lctx = bpf_map_lookup_elem(&llcs, &key);
		if (!lctx)
			return -ENOENT;
		err = install_empty_cpumask(&lctx->cpus);
		if (err)
			return err;
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
		lctx->nr_cpus++;
	}
	bpf_rcu_read_unlock();
	return 0;
}
