/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The scheduler's and each task's lifecycle: init (queues, CPU state, LLC masks, the
 * sampler), exit (the record framepaced reads), a task's context at fork, CPU hotplug.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

void BPF_STRUCT_OPS(framepace_enable, struct task_struct *p)
{
	struct task_ctx *tctx = lookup_task_ctx(p);

	if (!tctx)
		return;
	start_at_clock(p, tctx);
	/* Charged from here on: not for what it ran before framepace was loaded, or in another
	 * class (an RT thread made normal again). */
	tctx->exec_at_stop = p->se.sum_exec_runtime;
}

/*
 * p leaves framepace (it exits, or becomes an RT or deadline task): the run that ended as it
 * last stopped, which no queueing will account now (account_last_run). Without it, the last
 * run of every exiting task would be missing from the counters and from its LLC's clock.
 */
void BPF_STRUCT_OPS(framepace_disable, struct task_struct *p)
{
	struct task_ctx *tctx;

	if (!task_clock_is_fp_now())
		return;
	tctx = lookup_task_ctx(p);
	if (tctx)
		account_last_run(p, tctx, false, current_tunables());
}

/* Sleepable: the context is allocated with GFP_KERNEL, so a fork under memory pressure
 * waits for memory instead of failing. */
s32 BPF_STRUCT_OPS_SLEEPABLE(framepace_init_task, struct task_struct *p,
                             struct scx_init_task_args *args)
{
	struct task_ctx *tctx;

	tctx = bpf_task_storage_get(&task_ctxs, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tctx)
		return -ENOMEM;
	start_at_clock(p, tctx);
	tctx->generation = generation;
	tctx->classes_seq = classes_seq - 1; /* read the class as its first run is accounted */
	/* No evidence yet of frequent wakeups: critical is earned, not assumed. */
	tctx->avg_wake_ns = FP_BEHAVIOUR_NS_MAX;
	tctx->wake_dev_ns = FP_BEHAVIOUR_NS_MAX;
	count(FP_CNT_TASK_INITS);
	return 0;
}

/*
 * Each concern sets up its own part: queues.bpf.c, cpu_state.bpf.c, topology.bpf.c,
 * protection_end.bpf.c, utilisation.bpf.c. Their loops over CPUs and LLCs are open-coded
 * iterators (bpf_for), not counted for loops: 6.12's verifier loses the bound of a counter
 * that also serves as a map key on the stack and refuses the loop as infinite ("infinite loop
 * detected", 6.12.117).
 */
s32 BPF_STRUCT_OPS_SLEEPABLE(framepace_init)
{
	s32 err;

	err = create_queues();
	if (err)
		return err;
	err = init_cpus();
	if (err)
		return err;
	err = init_llc_masks();
	if (err)
		return err;
	err = init_protection_ends();
	if (err)
		return err;
	return start_util_timer();
}

void BPF_STRUCT_OPS(framepace_exit, struct scx_exit_info *ei)
{
	bpf_probe_read_kernel_str(exit_info.reason, sizeof(exit_info.reason), ei->reason);
	bpf_probe_read_kernel_str(exit_info.msg, sizeof(exit_info.msg), ei->msg);
	exit_info.exit_code = ei->exit_code;
	stop_util_timer();
	cancel_protection_ends();
	/* Last, so that a non-zero kind means the whole record is there. */
	*(volatile s64 *)&exit_info.kind = ei->kind;
}

/*
 * CPU hotplug, which suspend does to every CPU but the boot one: without these two callbacks
 * the kernel ejects the scheduler on each event. Nothing needs moving: the kernel migrates
 * the tasks of a CPU going down, and what sits on its queue is stolen by the others
 * (framepace_dispatch) like any queue of a busy CPU. Queues, CPU states, scratch masks and
 * CPU loops cover every possible CPU up to FP_MAX_CPUS, and the utilisation sampler counts
 * online CPUs as it goes.
 */
void BPF_STRUCT_OPS(framepace_cpu_online, s32 cpu)
{
	count(FP_CNT_CPU_ONLINE);
}

void BPF_STRUCT_OPS(framepace_cpu_offline, s32 cpu)
{
	struct fp_cpu_state *cs = cpu_state_of(cpu);

	if (cs) {
		cs->role = FP_NR_ROLES;
		/* Held as it went: counted among the held CPUs, it would make every_cpu_held true
		 * while an online CPU is free. */
		if (cs->released)
			release_ends(cs);
	}
	count(FP_CNT_CPU_OFFLINE);
}
