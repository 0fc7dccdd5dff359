#include "daemon/scheduler/exit_info.h"

#include <cstring>

namespace framepace {

std::string_view exit_kind_name(int64_t kind) {
    switch (kind) {
    case 0: return "none";
    case 1: return "done";
    case FP_EXIT_KIND_UNREG: return "unregistered";
    case FP_EXIT_KIND_UNREG_BPF: return "unregistered by BPF";
    case FP_EXIT_KIND_UNREG_KERN: return "unregistered by the kernel";
    case FP_EXIT_KIND_SYSRQ: return "sysrq";
    case FP_EXIT_KIND_ERROR: return "error";
    case FP_EXIT_KIND_ERROR_BPF: return "error: BPF";
    case FP_EXIT_KIND_ERROR_STALL: return "error: runnable task stall";
    default: return "unknown";
    }
}

ExitInfo exit_info_from(const fp_exit_info& raw) {
    ExitInfo info;
    info.kind = raw.kind;
    info.exit_code = raw.exit_code;
    info.reason.assign(raw.reason, strnlen(raw.reason, sizeof(raw.reason)));
    info.message.assign(raw.msg, strnlen(raw.msg, sizeof(raw.msg)));
    return info;
}

}  // namespace framepace
