/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Input boost: input_event opens a short window (while framepaced's heartbeat is fresh) in
 * which game, compositor and input-handling tasks go first.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

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

/* Whether boosted may hold, told without the clock: a window was ever opened, and the task's
 * role is one it boosts or the task once handled input. */
static __always_inline bool may_be_boosted(const struct task_ctx *tctx)
{
	return boost_until_ns && (boostable(tctx->role) || tctx->input_wakeup_ns);
}

/* A task queued (or put on a CPU) as boosted: counted, and in its own record (ListTasks). */
static __always_inline void count_boost(struct task_ctx *tctx)
{
	count(FP_CNT_BOOSTED);
	tctx->boosts++;
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
