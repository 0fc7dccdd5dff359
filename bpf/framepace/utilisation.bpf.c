/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The utilisation sampler: a BPF timer that switches between per-CPU queues and the shared
 * ones as the share of busy CPUs crosses shared_util_pct.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/* The gap between entering and leaving shared mode, in utilisation percent. */
#define UTIL_HYSTERESIS_PCT 10

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
	s32 err;

	if (!ut)
		return -ENOENT;
	err = install_empty_cpumask(&ut->idle_online);
	if (err)
		return err;
	err = bpf_timer_init(&ut->timer, &util_timers, CLOCK_MONOTONIC);
	if (err)
		return err;
	err = bpf_timer_set_callback(&ut->timer, sample_utilisation);
	if (err)
		return err;
	return bpf_timer_start(&ut->timer, FP_UTIL_PERIOD_NS, 0);
}

static void stop_util_timer(void)
{
	u32 zero = 0;
	struct util_timer *ut = bpf_map_lookup_elem(&util_timers, &zero);

	if (ut)
		bpf_timer_cancel(&ut->timer);
}
