/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tunables framepaced writes live (validated before it writes), and the defaults the
 * scheduler runs with until it has.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct fp_tunables);
} tunables SEC(".maps");

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
