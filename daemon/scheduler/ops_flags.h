// The sched_ext ops flags framepace loads with: every task goes through its policy, exiting
// ones and ones preempted inside a migrate_disable() section included. Without the flags the
// kernel puts those on their CPU's local queue itself, ahead of everything framepace queued
// and with the default 20 ms slice (SCX_SLICE_DFL): in the VM, under a game with CPU hogs
// and an exec loop, 160-190 such tasks in 8 s (the kernel's SCX_EV_ENQ_SKIP_EXITING and
// SCX_EV_ENQ_SKIP_MIGRATION_DISABLED).
// SCX_OPS_ALLOW_QUEUED_WAKEUP: a task woken onto an idle CPU is put on that CPU's wake list
// and activated there, as under EEVDF, instead of by the waker under the idle CPU's runqueue
// lock. Traced on the idle system (the synthetic game, perf sched, 7.3.4 under TCG): without
// it, a game thread woken onto the other, idle vCPU started 1.34 ms after its wakeup at the
// median (EEVDF 0.14), often only once the thread on the waker's CPU had run; with it 0.16 ms.
// framepace needs no ops.select_cpu before ops.enqueue (a wakeup without it is queued as
// any other, its last run accounted there), which the flag asks of a scheduler.
// A kernel refuses ops that carry a flag it does not know (6.12 lacks the last two), so each
// flag is looked up by name in the running kernel's BTF and only those it has are asked for.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/expected.h"

namespace framepace {

// The values of the kernel's enum scx_ops_flags, by name; empty on a kernel without sched_ext.
using KernelOpsFlags = std::map<std::string, uint64_t, std::less<>>;

// Read from /sys/kernel/btf/vmlinux.
Expected<KernelOpsFlags> read_kernel_ops_flags();

struct OpsFlags {
    uint64_t value = 0;
    std::string names;  // for the log: "SCX_OPS_ENQ_EXITING SCX_OPS_ENQ_MIGRATION_DISABLED"
    std::string missing;  // those framepace wants and the kernel lacks
    std::vector<std::string> missing_costs;  // "NAME unavailable: what the kernel does instead"
};

// framepace's flags among those the kernel knows.
OpsFlags wanted_ops_flags(const KernelOpsFlags& kernel);

}  // namespace framepace
