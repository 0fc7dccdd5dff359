/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What framepaced hears: per-CPU counters, and events in FP_NR_RINGS ring buffers chosen by
 * the writer's CPU, every one counted as produced or dropped.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/* Counts from CPUs past FP_MAX_CPUS, which have no slot (counters_on), or for them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct fp_cpu_counters);
} counters SEC(".maps");

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

/*
 * Where events on cpu are counted: in its slot, or past FP_MAX_CPUS in the counters map's
 * element of the CPU that counts (framepaced sums both). A slot's counters are written by its
 * own CPU only: plain increments, as in a per-CPU map's values. As there, a count from an
 * interrupt between another count's read and write on the same CPU (the input hook, the
 * utilisation timer) can be lost.
 */
static __always_inline struct fp_cpu_counters *counters_on(s32 cpu)
{
	u32 zero = 0;

	if ((u32)cpu < FP_MAX_CPUS)
		return &cpu_slots[bounded_index(cpu)].counters;
	return bpf_map_lookup_elem(&counters, &zero);
}

static __always_inline void count_add(enum fp_counter idx, u64 delta)
{
	struct fp_cpu_counters *cnt = counters_on(bpf_get_smp_processor_id());

	if (cnt && idx < FP_NR_COUNTERS)
		cnt->value[idx] += delta;
}

static __always_inline void count(enum fp_counter idx)
{
	count_add(idx, 1);
}

/* A run that used used_ns was accounted (account_run): runs and stops (one each, both counted
 * as runs are accounted) and run time. */
static __always_inline void count_run(u64 used_ns)
{
	struct fp_cpu_counters *cnt = counters_on(bpf_get_smp_processor_id());

	if (!cnt)
		return;
	cnt->value[FP_CNT_RUNS]++;
	cnt->value[FP_CNT_STOPS]++;
	cnt->value[FP_CNT_RUN_NS] += used_ns;
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
