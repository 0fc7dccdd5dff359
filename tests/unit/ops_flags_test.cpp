#include "daemon/scheduler/ops_flags.h"

#include <gtest/gtest.h>

using namespace framepace;

namespace {

// enum scx_ops_flags as 6.12 has it (no SCX_OPS_ENQ_MIGRATION_DISABLED, no
// SCX_OPS_ALLOW_QUEUED_WAKEUP yet) and as later ones do.
const KernelOpsFlags kLinux612 = {{"SCX_OPS_KEEP_BUILTIN_IDLE", 1},
                                  {"SCX_OPS_ENQ_LAST", 2},
                                  {"SCX_OPS_ENQ_EXITING", 4},
                                  {"SCX_OPS_SWITCH_PARTIAL", 8}};

KernelOpsFlags with_migration_disabled() {
    KernelOpsFlags flags = kLinux612;
    flags["SCX_OPS_ENQ_MIGRATION_DISABLED"] = 16;
    flags["SCX_OPS_ALLOW_QUEUED_WAKEUP"] = 32;
    return flags;
}

}  // namespace

TEST(OpsFlags, AKernelThatKnowsThemAllGetsThemAll) {
    OpsFlags flags = wanted_ops_flags(with_migration_disabled());
    EXPECT_EQ(flags.value, 4u | 16u | 32u);
    EXPECT_EQ(flags.names,
              "SCX_OPS_ENQ_EXITING SCX_OPS_ENQ_MIGRATION_DISABLED SCX_OPS_ALLOW_QUEUED_WAKEUP");
    EXPECT_EQ(flags.missing, "");
    EXPECT_TRUE(flags.missing_costs.empty());
}

TEST(OpsFlags, AFlagTheKernelLacksIsLeftOutAndNamed) {
    OpsFlags flags = wanted_ops_flags(kLinux612);
    EXPECT_EQ(flags.value, 4u);
    EXPECT_EQ(flags.names, "SCX_OPS_ENQ_EXITING");
    EXPECT_EQ(flags.missing, "SCX_OPS_ENQ_MIGRATION_DISABLED SCX_OPS_ALLOW_QUEUED_WAKEUP");
    // The log names what each missing flag costs: only the first of these bypasses the policy.
    ASSERT_EQ(flags.missing_costs.size(), 2u);
    EXPECT_EQ(flags.missing_costs[0].rfind(
                  "SCX_OPS_ENQ_MIGRATION_DISABLED unavailable: migration-disabled "
                  "tasks bypass framepace's policy",
                  0),
              0u);
    EXPECT_EQ(flags.missing_costs[1].rfind(
                  "SCX_OPS_ALLOW_QUEUED_WAKEUP unavailable: a task woken onto an "
                  "idle CPU is queued there by its waker",
                  0),
              0u);
    EXPECT_EQ(flags.missing_costs[1].find("bypass"), std::string::npos);
}

TEST(OpsFlags, TheValuesAreTheKernelsNotAssumed) {
    KernelOpsFlags flags = with_migration_disabled();
    flags["SCX_OPS_ENQ_EXITING"] = 1u << 10;
    EXPECT_EQ(wanted_ops_flags(flags).value, (1u << 10) | 16u | 32u);
}

TEST(OpsFlags, NoSchedExtNoFlags) {
    OpsFlags flags = wanted_ops_flags({});
    EXPECT_EQ(flags.value, 0u);
    EXPECT_EQ(flags.names, "");
    EXPECT_EQ(flags.missing,
              "SCX_OPS_ENQ_EXITING SCX_OPS_ENQ_MIGRATION_DISABLED SCX_OPS_ALLOW_QUEUED_WAKEUP");
}

// This host's kernel: its BTF reads, and the flags it has (none without sched_ext) come back.
TEST(OpsFlags, TheRunningKernelsBtfReads) {
    auto flags = read_kernel_ops_flags();
    ASSERT_TRUE(flags) << flags.error().message;
    // Newer kernels add internal members (__SCX_OPS_INTERNAL_MASK): only the flags are checked.
    for (const auto& [name, value] : *flags) {
        if (name.rfind("SCX_OPS_", 0) == 0 && name != "SCX_OPS_ALL_FLAGS") {
            EXPECT_NE(value, 0u) << name;
        }
    }
}
