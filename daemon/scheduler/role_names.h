// Stable names of the scheduler's task roles, as Varlink and the journal show them.
#pragma once

#include <cstdint>

#include "bpf/framepace_shared.h"

namespace framepace {

inline const char* role_name(uint32_t role) {
    switch (role) {
    case FP_ROLE_NORMAL: return "normal";
    case FP_ROLE_INTERACTIVE: return "interactive";
    case FP_ROLE_BATCH: return "batch";
    case FP_ROLE_GAME: return "game";
    case FP_ROLE_GAME_CRITICAL: return "game_critical";
    case FP_ROLE_COMPOSITOR: return "compositor";
    case FP_ROLE_AUDIO: return "audio";
    default: return "unknown";
    }
}

}  // namespace framepace
