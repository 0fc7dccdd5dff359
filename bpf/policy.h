/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The gaming policy as pure functions of a task's observed behaviour and the tunables: what
 * role a task has, and how early its deadline is. The scheduler inlines them on its hot
 * paths; the host tests run the very same code through BPF_PROG_TEST_RUN.
 */
#ifndef FRAMEPACE_POLICY_H
#define FRAMEPACE_POLICY_H

/* Moving mean with a quarter weight for the newest sample: settles in a handful of runs. */
static __always_inline u64 ewma(u64 avg, u64 sample)
{
	return (avg * 3 + sample) / 4;
}

/* Roles that must never wait behind a migration limit or batch work. */
static __always_inline bool latency_critical(u32 role)
{
	return role == FP_ROLE_GAME_CRITICAL || role == FP_ROLE_COMPOSITOR ||
	       role == FP_ROLE_AUDIO;
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
 * Identity first (the daemon's class), then behaviour. Batch work is what rarely sleeps: it
 * was still runnable (slice used up, or preempted) at most of its stops. A helper the game
 * has woken within the last critical_wake_ns (wineserver, a game's own audio or network
 * process) counts as part of the game. Nice > 0 is always batch: the user asked for it.
 */
static __always_inline u32 classify_role(u32 class_id, u32 weight, u64 avg_run_ns,
					 u64 avg_wake_ns, u64 runnable_pct, u64 game_wakeup_age_ns,
					 const struct fp_tunables *t)
{
	if (class_id == FP_CLASS_COMPOSITOR)
		return FP_ROLE_COMPOSITOR;
	if (class_id == FP_CLASS_AUDIO)
		return FP_ROLE_AUDIO;
	if (class_id == FP_CLASS_GAME) {
		if (avg_run_ns < t->critical_run_ns && avg_wake_ns < t->critical_wake_ns)
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

/*
 * The deadline a task is queued with. Normally its virtual time plus its role's offset, so
 * roles only reorder within a bounded lag and nobody starves. A boosted task goes to the
 * front: the earliest virtual time any sleeper may claim, which is bounded the same way.
 */
static __always_inline u64 task_deadline(u64 vtime, u64 vtime_now, u32 role, bool boosted,
					 const struct fp_tunables *t)
{
	if (boosted)
		return vtime_now - t->sleep_budget_ns;
	if (role >= FP_NR_ROLES)
		role = FP_ROLE_NORMAL;
	return vtime + t->role_deadline_ns[role];
}

#endif /* FRAMEPACE_POLICY_H */
