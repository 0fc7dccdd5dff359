/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where each CPU's state and each LLC's virtual clock live: one global array of slots, slot i
 * holding CPU i's state and LLC i's clock (framepaced numbers LLCs in order of their first
 * CPU, so LLC i's first CPU is CPU i or later, and there are never more LLCs than CPUs). A
 * context switch reads and writes its CPU's state and its LLC's clock; with the clocks in an
 * array of their own behind the CPUs' (32 KiB further on) they were always a page apart, and
 * under TCG, where a context switch empties QEMU's TLB, a callback seems to pay for each page
 * it touches first: in one boot, ops.stopping without the clock's update cost about a tenth
 * less. Slots side by side put the first 15 CPUs' states and LLC 0's clock on the globals'
 * page (a one-LLC machine of up to 15 CPUs: all of it).
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/*
 * What each CPU is doing, for wakers and for boosted tasks looking for batch work to preempt.
 * A global array, not a per-CPU map: any CPU's state is an address computation, where
 * bpf_map_lookup_percpu_elem is a helper call per CPU a waker looks at. One cache line for
 * what wakers read: every CPU writes its own at each ops.running and ops.stopping, and a
 * waker that takes a CPU (claim_cpu) writes that CPU's.
 */
struct cpu_state {
	u32 role;             /* role of the running task; FP_NR_ROLES while none runs */
	u32 released;         /* an RT or deadline task holds the CPU (ops.cpu_release) */
	u64 deadline;         /* deadline of the running task, for wakeup preemption */
	u64 preemptible_at;   /* no waker preempts it before (its start + wakeup_protection_ns) */
	u32 own_inserts;      /* tasks ever put in the CPU's own queue (wraps) */
	u32 own_stolen_at;    /* own_inserts when a steal last took nothing from that queue */
	u32 balance_turn;     /* which other LLC balance_llcs looks at next */
	u32 yielder_waits;    /* the task that stopped last gave way on a yield and waits */
	u64 yielder_deadline; /* its deadline then, charged for the yield */
	u64 run_started;      /* fp_now_at_switch() as the running task started, for ops.stopping */
	u32 moved_from_llc;   /* 1 + the LLC whose clock the deadline of the task dispatch moved
	                       * here from another LLC is on; 0 when none was */
	/* Runs that ended here and are not in the counters map yet (count_run_on), on a second
	 * line (the first has 4 bytes left): only ops.stopping under this CPU's runqueue lock
	 * writes them and nothing else reads them, so the line stays with this CPU. */
	u32 runs_uncounted __attribute__((aligned(64)));
	u64 run_ns_uncounted;
} __attribute__((aligned(64)));

/*
 * Each LLC's virtual clock: where the tasks that run there are in virtual time
 * (advanced_clock). Per LLC because each LLC has its own queue: with one clock for all, an
 * LLC running fewer tasks per CPU drove it ahead, every task waking in a busier LLC entered
 * behind that LLC's CPU hogs, and waited until they caught up, which they never did (a
 * kworker 5 s, the watchdog's; khugepaged 21 s inside an RCU read section: both ejections, on
 * a two-LLC VM). Updated without atomics from the LLC's CPUs: a lost update only lets a task
 * start a little ahead or behind, and the next ops.stopping corrects it. A cache line of its
 * own: every ops.stopping may write its LLC's (and every dispatch and shared insert the head
 * next to it), and the CPU state beside it is written by its own CPU.
 */
struct llc_clock {
	u64 vtime_now;
	u64 head_deadline; /* the first deadline waiting in the LLC's shared queue, as last seen */
	u32 head_waits;    /* whether a task waited there then */
} __attribute__((aligned(64)));

struct cpu_slot {
	struct cpu_state cpu;
	struct llc_clock llc;
};

/*
 * CPUs from FP_MAX_CPUS on have no state (cpu_state_of returns NULL): they are never
 * preemption victims, never take a synchronous wakeup, do not credit the game as a waker,
 * and are served by their LLC's shared queue.
 */
static struct cpu_slot cpu_slots[FP_MAX_CPUS];

/* A CPU's state by id: ops.running and ops.stopping may be called from another CPU than the
 * task's (a remote sched_setaffinity or renice puts the running task and sets it again). */
static __always_inline struct cpu_state *cpu_state_of(s32 cpu)
{
	if ((u32)cpu >= FP_MAX_CPUS)
		return NULL;
	return &cpu_slots[bounded_index(cpu)].cpu;
}

static __always_inline struct cpu_state *this_cpu_state(void)
{
	return cpu_state_of(bpf_get_smp_processor_id());
}

static __always_inline struct llc_clock *llc_clock_of(u32 llc)
{
	return &cpu_slots[bounded_index(llc)].llc;
}
