/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where each CPU's state, each LLC's virtual clock and each CPU's counters live: cpu_slots
 * (globals.bpf.c), slot i holding CPU i's state, LLC i's clock and CPU i's counters
 * (struct fp_cpu_slot; framepaced numbers LLCs in order of their first CPU, so LLC i's first
 * CPU is CPU i or later, and there are never more LLCs than CPUs). A context switch reads and
 * writes all three; side by side (512 bytes a slot) they are on one page for seven CPUs in
 * eight, and the first five CPUs' slots are on the globals' page. Under TCG, where a context
 * switch empties QEMU's TLB, a callback seemed to pay for each page it touched first: in one
 * boot, ops.stopping cost about a tenth less without the LLC clock's update while the clocks
 * were an array of their own, and as much less without the look-up of a per-CPU counters map
 * (docs/benchmarks.md: "ops.stopping part by part", "Counters in the CPU's slot").
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/*
 * A global array, not a per-CPU map: any CPU's state is an address computation, where
 * bpf_map_lookup_percpu_elem is a helper call per CPU a waker looks at. CPUs from FP_MAX_CPUS
 * on have no slot (cpu_state_of returns NULL): they are never preemption victims, never take
 * a synchronous wakeup, do not credit the game as a waker, are served by their LLC's shared
 * queue, and count in the counters map (counters_on).
 *
 * A CPU's state by id: ops.running and ops.stopping may be called from another CPU than the
 * task's (a remote sched_setaffinity or renice puts the running task and sets it again).
 */
static __always_inline struct fp_cpu_state *cpu_state_of(s32 cpu)
{
	if ((u32)cpu >= FP_MAX_CPUS)
		return NULL;
	return &cpu_slots[bounded_index(cpu)].cpu;
}

static __always_inline struct fp_cpu_state *this_cpu_state(void)
{
	return cpu_state_of(bpf_get_smp_processor_id());
}

static __always_inline struct fp_llc_clock *llc_clock_of(u32 llc)
{
	return &cpu_slots[bounded_index(llc)].llc;
}
