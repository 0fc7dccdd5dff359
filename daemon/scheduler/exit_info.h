// The kernel's account of why the scheduler stopped, as recorded by ops.exit.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bpf/framepace_shared.h"

namespace framepace {

struct ExitInfo {
    int64_t kind = 0;
    int64_t exit_code = 0;
    std::string reason;
    std::string message;

    // Unregistered by us (detach, daemon exit) rather than ejected by the kernel.
    bool is_unregister() const { return kind == FP_EXIT_KIND_UNREG; }
};

// "unregistered", "error: BPF", "error: runnable task stall", ... ; "unknown" otherwise.
std::string_view exit_kind_name(int64_t kind);

ExitInfo exit_info_from(const fp_exit_info& raw);

}  // namespace framepace
