// What the kernel publishes about sched_ext in /sys/kernel/sched_ext, and the few things the
// daemon concludes from it (is framepace the running scheduler, may we load one), said the
// same way in the logs and over Varlink.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/expected.h"

namespace framepace {

struct SchedExtState {
    std::string state;                 // "enabled", "disabled", "enabling", "disabling"
    std::optional<std::string> ops;    // root/ops: the attached scheduler's name
    std::optional<uint64_t> enable_seq;
};

inline const std::filesystem::path kSchedExtSysfs = "/sys/kernel/sched_ext";
// root/ops while framepace runs: the .name of its SCX_OPS_DEFINE in bpf/framepace.bpf.c.
inline constexpr std::string_view kFramepaceOps = "framepace";

// Fails with a message a user can act on when the kernel lacks CONFIG_SCHED_CLASS_EXT.
Expected<SchedExtState> read_sched_ext_state(const std::filesystem::path& root = kSchedExtSysfs);

// sched_ext is enabled with framepace as its scheduler. Holding the struct_ops link is not
// enough to know that: the kernel may have ejected the scheduler, or lost it over a suspend.
bool framepace_running(const Expected<SchedExtState>& state);
// The state for logs and GetStatus: "unsupported" on a kernel without sched_ext.
std::string sched_ext_state_text(const Expected<SchedExtState>& state);
// enable_seq for logs: "" when the kernel does not publish it.
std::string enable_seq_text(const Expected<SchedExtState>& state);

// The checks that must pass before loading: sched_ext present, privileges, nobody else attached.
Status check_can_load(const std::filesystem::path& root = kSchedExtSysfs);

}  // namespace framepace
