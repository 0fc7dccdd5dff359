/* SPDX-License-Identifier: GPL-2.0 */
/*
 * framepace - a sched_ext scheduler for games.
 *
 * Policy:
 *  - framepaced tells us which thread groups are games, compositors and audio servers (the
 *    "classes" map, by tgid); behaviour does the rest. Each task gets a role (policy.h) from
 *    its class, its mean run length, how often it wakes and who wakes it; the role picks its
 *    slice and its deadline offset, both tunables.
 *  - Placement is locality first: the previous CPU if idle, else a wholly idle SMT core in
 *    its LLC, else any idle CPU in its LLC, else any idle CPU; the task goes straight to that
 *    CPU's local queue. Tasks that are not latency-critical move to another LLC at most once
 *    per migration_interval_ns.
 *  - Otherwise the task is queued by deadline (weighted virtual time plus its role's offset):
 *    under light load on its CPU's own queue (cache-warm, no shared lock; idle CPUs steal),
 *    and on its LLC's shared queue once CPU utilisation passes shared_util_pct, where the
 *    earliest deadline in that cache runs next (a CPU with nothing left takes another LLC's
 *    work before idling). A waking task whose deadline is well before that of the
 *    task running where it queued preempts it, as in EEVDF: sleepers (a game's frame and
 *    audio threads, whether or not a rule names the game) do not wait out batch slices.
 *  - Runtime is charged as used_ns * 100 / weight: nice levels are honoured, and games run
 *    with game_weight_pct of their weight. A sleeper banks at most sleep_budget_ns, so lag is
 *    bounded and batch work always progresses.
 *  - input_event opens a short boost window (only while framepaced's heartbeat is fresh):
 *    game, compositor and input-handling tasks queue at the front and preempt batch work on
 *    their CPU. Tasks woken from inside input_event are the input handlers.
 *  - ops.timeout_ms makes the kernel eject us (and fall back to the fair class) if any
 *    runnable task waits longer than that: the last line of defence against a policy bug.
 *
 * RT tasks are above sched_ext and never reach us; the audio role is for the SCHED_OTHER
 * audio servers (pipewire without rtkit). When an RT task takes a CPU, the tasks in that
 * CPU's local queue are sent elsewhere (ops.cpu_release), and the other CPUs serve its own
 * queue until framepace runs there again.
 */
#define BPF_NO_KFUNC_PROTOTYPES
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kfuncs.h"
#include "scx_helpers.h"
#include "framepace_shared.h"
#include "policy.h"

char _license[] SEC("license") = "GPL";

#define ENOENT 2
#define EBUSY 16
#define ENOMEM 12
#define CLOCK_MONOTONIC 1

/*
 * The scheduler, one concern per file, compiled as this one unit (as the kernel builds
 * kernel/sched/build_policy.c): every helper stays static and inlined where it is used, the
 * verifier sees one object, and the order below is the order of dependence. globals.bpf.c
 * comes first: its words' order is the layout framepaced adopts a running scheduler by.
 */
#include "framepace/globals.bpf.c"
#include "framepace/tunables.bpf.c"
#include "framepace/topology.bpf.c"
#include "framepace/cpu_slots.bpf.c"
#include "framepace/events.bpf.c"
#include "framepace/queues.bpf.c"
#include "framepace/tasks.bpf.c"
#include "framepace/cpu_state.bpf.c"
#include "framepace/wake_context.bpf.c"
#include "framepace/classify.bpf.c"
#include "framepace/vclock.bpf.c"
#include "framepace/boost.bpf.c"
#include "framepace/kick.bpf.c"
#include "framepace/held_cpus.bpf.c"
#include "framepace/utilisation.bpf.c"
#include "framepace/protection_end.bpf.c"
#include "framepace/preempt.bpf.c"
#include "framepace/run_accounting.bpf.c"
#include "framepace/select_cpu.bpf.c"
#include "framepace/enqueue.bpf.c"
#include "framepace/switch.bpf.c"
#include "framepace/dispatch.bpf.c"
#include "framepace/lifecycle.bpf.c"
#include "framepace/processes.bpf.c"

SEC(".struct_ops.link")
struct sched_ext_ops framepace_ops = {
        .select_cpu = (void *)framepace_select_cpu,
        .enqueue = (void *)framepace_enqueue,
        .dispatch = (void *)framepace_dispatch,
        .running = (void *)framepace_running,
        .stopping = (void *)framepace_stopping,
        .yield = (void *)framepace_yield,
        .enable = (void *)framepace_enable,
        .disable = (void *)framepace_disable,
        .cpu_online = (void *)framepace_cpu_online,
        .cpu_offline = (void *)framepace_cpu_offline,
        .cpu_release = (void *)framepace_cpu_release,
        .init_task = (void *)framepace_init_task,
        .init = (void *)framepace_init,
        .exit = (void *)framepace_exit,
        /* Well under the kernel's 30 s: a stall ejects us long before a user notices a hang. */
        .timeout_ms = 5000,
        /* .flags: set by framepaced to those of its wanted flags the kernel knows
         * (daemon/scheduler/ops_flags.h). */
        .name = "framepace",
};
