/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exec and exit events: the candidates framepaced classifies games from.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/* Game candidates for the daemon: every exec, with the path that was executed. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct fp_event *ev = event_reserve(FP_EV_EXEC);

	if (!ev)
		return 0;
	event_set_task(ev, p);
	bpf_probe_read_kernel_str(ev->exec.filename, sizeof(ev->exec.filename), bprm->filename);
	event_submit_now(ev);
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
	event_submit_now(ev);
	return 0;
}
