/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whether a wakeup comes from the task running on this CPU or from an interrupt that only
 * happened to stop it: a timer (every clock_nanosleep), a softirq (RCU, the network stack) or
 * an irq_work (a BPF ring buffer's reader) wakes its task while whatever ran there is
 * current, and says nothing about that task. Credited to a game thread that was running, they
 * made helpers of the game out of the kernel's RCU thread, framepaced and any timer sleeper
 * beside it (docs/benchmarks.md: "Wakeups from interrupts").
 *
 * Read from the CPU's preempt count (include/linux/preempt.h): a bit while a softirq is
 * served, the hard-interrupt count and NMI above. x86 keeps the count in the per-CPU
 * __preempt_count, kernels 6.2 to 6.14 in pcpu_hot.preempt_count; where neither is found
 * (another architecture), every wakeup counts as the running task's, as before. Kernels that
 * count interrupt disabling (7.3: their per-CPU local_interrupt_disable_state) put that count
 * where the hard-interrupt count was and move it and NMI up by 8 bits. A PREEMPT_RT kernel
 * serves softirqs in threads, which count as task context here.
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

#define FP_PREEMPT_SOFTIRQ_SERVING 0x00000100U
#define FP_PREEMPT_IRQ_NMI_MASK 0x00ff0000U         /* hard interrupts 16-19, NMI 20-23 */
#define FP_PREEMPT_IRQ_NMI_MASK_COUNTED 0xff000000U /* 24-27 and 28-31 */

extern const int __preempt_count __ksym __weak;
extern const unsigned long local_interrupt_disable_state __ksym __weak;

struct pcpu_hot___fp {
	int preempt_count;
} __attribute__((preserve_access_index));

extern struct pcpu_hot___fp pcpu_hot __ksym __weak;

/* The low 32 bits, which hold every field read here (7.3's count is 64 bits on x86). */
static __always_inline u32 preempt_count_here(void)
{
	if (bpf_ksym_exists(&__preempt_count))
		return *(const u32 *)bpf_this_cpu_ptr(&__preempt_count);
	if (bpf_core_field_exists(pcpu_hot.preempt_count))
		return ((struct pcpu_hot___fp *)bpf_this_cpu_ptr(&pcpu_hot))->preempt_count;
	return 0;
}

/* Whether the code running now runs for the current task: no interrupt, NMI or softirq. */
static __always_inline bool in_task_context(void)
{
	u32 irq_nmi = bpf_ksym_exists(&local_interrupt_disable_state)
	                      ? FP_PREEMPT_IRQ_NMI_MASK_COUNTED
	                      : FP_PREEMPT_IRQ_NMI_MASK;

	return !(preempt_count_here() & (FP_PREEMPT_SOFTIRQ_SERVING | irq_nmi));
}
