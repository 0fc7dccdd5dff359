/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The words framepaced shares with the scheduler through the skeleton: the topology it
 * sets before load (.rodata), the live words it reads and writes (.bss), the exit record, and
 * the meta map a restarted daemon checks before it adopts them. An adopting daemon's programs
 * run on the kept sections, so their layout is FP_LAYOUT_VERSION's: these are defined here, in
 * this order, and nowhere else (a new word goes at the end, with a version bump).
 *
 * Part of framepace.bpf.c's one compilation unit; see there.
 */

/* Topology, filled in by framepaced before load: LLC ids are dense, 0 .. nr_llcs-1.
 * nr_cpus counts possible CPUs (ids 0 .. nr_cpus-1), so hotplug never leaves it stale.
 * Globals use __u32/__u64: the skeleton repeats their types for C++, which has no u32. */
const volatile __u32 nr_cpus = 1;
const volatile __u32 nr_llcs = 1;
const volatile __u32 smt_enabled = 0;
const volatile __u32 cpu_llc_id[FP_MAX_CPUS];
/* The next hardware thread of each CPU's core, wrapping round; the CPU itself without SMT.
 * Read at load like the LLC ids: a sibling offline then points at itself until the next load. */
const volatile __u32 cpu_next_sibling[FP_MAX_CPUS];

/*
 * Bumped by framepaced after every change to "classes": a task re-reads its class when its
 * copy is older. One compare on the hot path, no scan.
 */
__u32 classes_seq;

/* Share of busy CPUs, a moving mean of sample_utilisation's samples, in percent. */
__u32 util_pct;

/* Non-zero while utilisation is above shared_util_pct: everything uses its LLC's queue. */
__u32 shared_mode;

/*
 * CPUs an RT or deadline task holds (fp_cpu_state.released): non-zero only while one does, so
 * the paths that serve such a CPU's queue cost one read of this word the rest of the time.
 */
__u32 nr_released;

/*
 * Bumped by framepaced on every (re)start. A task whose context was set up in an older
 * generation is re-classified as its next run ends: one compare on the hot path, no scan.
 */
__u64 generation;

/*
 * CLOCK_MONOTONIC ns of framepaced's last heartbeat. Read only when input opens or extends a
 * boost window: a dead or stuck daemon cannot leave games boosted over everyone else.
 */
__u64 heartbeat_ns;

/* End of the open input-boost window (fp_now's clock); in the past when none is open. */
__u64 boost_until_ns;

/*
 * The thread inside input_event (input_mark; 0 when none): whoever it wakes handles input.
 * A thread id, not a per-CPU flag: the trampoline may be preempted and migrated between
 * input_event and the fexit program (preemption is on there), and a flag set on one CPU and
 * cleared on another stayed set for good: a fifth of all wakeups in a benchmark run counted
 * as input wakeups. Two devices' events at once on two CPUs: the later one's thread wins, the
 * other's wakeups are not credited, and nothing stays set.
 */
__u32 input_tid;

struct fp_exit_info exit_info;

/* Each CPU's state, the LLCs' clocks and each CPU's counters (cpu_slots.bpf.c). framepaced
 * reads the counters here; the rest is the scheduler's. */
struct fp_cpu_slot cpu_slots[FP_MAX_CPUS];

/* Written once by framepaced at load; read by a restarted daemon before it adopts us. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct fp_meta);
} meta SEC(".maps");
