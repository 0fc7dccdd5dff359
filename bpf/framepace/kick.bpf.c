/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Waking idle CPUs to take queued work.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/*
 * Wakes an idle CPU of cpus (p's allowed ones, or those of its LLC) to dispatch: it reads its
 * LLC's shared queue, then steals from the CPUs' own queues (framepace_dispatch), the waiting
 * task with them. Seen without it on an idle system: an audio thread woken by a timer on a CPU
 * that had just given itself to another game thread waited 3.8 ms in that CPU's queue while
 * the other CPU sat idle. Picking clears the CPU's idle bit; if another CPU takes the task
 * first, the kicked one finds nothing and goes idle again, which sets it back.
 */
static __always_inline bool kick_idle_cpu(const struct cpumask *cpus)
{
	s32 idle = scx_bpf_pick_idle_cpu(cpus, 0);

	if (idle < 0)
		return false;
	scx_bpf_kick_cpu(idle, SCX_KICK_IDLE);
	count(FP_CNT_IDLE_KICKS);
	return true;
}

/*
 * SCX_KICK_IDLE to the other CPUs of cpu's LLC (the first FP_PREEMPT_SCAN_MAX): one going
 * idle as a task was queued reschedules and finds it, the busy ones ignore the kick. Unlike
 * a look for an idle CPU from ops.enqueue, the kick's test runs after the insert has landed
 * and does not skip a CPU that is still dispatching. Only where a task would otherwise be
 * stranded (its CPU taken by an RT task): a kick per CPU is too dear for every enqueue.
 */
static __always_inline void kick_llc_idle(s32 cpu)
{
	u32 i, c, llc = llc_of(cpu);

	bpf_for(i, 1, nr_cpus)
	{
		if (i >= FP_PREEMPT_SCAN_MAX)
			break;
		c = ((u32)cpu + i) % nr_cpus;
		if (llc_of(c) == llc)
			scx_bpf_kick_cpu(c, SCX_KICK_IDLE);
	}
}
