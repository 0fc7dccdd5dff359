// What the kernel publishes about sched_ext in /sys/kernel/sched_ext.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/expected.h"

namespace framepace {

struct SchedExtState {
    std::string state;                 // "enabled", "disabled", "enabling", "disabling"
    std::optional<std::string> ops;    // root/ops: the attached scheduler's name
    std::optional<uint64_t> enable_seq;
};

inline const std::filesystem::path kSchedExtSysfs = "/sys/kernel/sched_ext";

// Fails with a message a user can act on when the kernel lacks CONFIG_SCHED_CLASS_EXT.
Expected<SchedExtState> read_sched_ext_state(const std::filesystem::path& root = kSchedExtSysfs);

// The checks that must pass before loading: sched_ext present, privileges, nobody else attached.
Status check_can_load(const std::filesystem::path& root = kSchedExtSysfs);

}  // namespace framepace
