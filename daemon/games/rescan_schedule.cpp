#include "daemon/games/rescan_schedule.h"

namespace framepace {

bool RescanSchedule::sample(uint64_t now_usec, uint64_t dropped_total) {
    if (dropped_total > last_total_) {
        if (!pending_)
            first_drop_usec_ = now_usec;
        pending_ = true;
        last_drop_usec_ = now_usec;
    }
    last_total_ = dropped_total;
    if (!pending_)
        return false;
    if (now_usec - last_drop_usec_ < config_.settle_usec &&
        now_usec - first_drop_usec_ < config_.max_delay_usec)
        return false;
    pending_ = false;
    return true;
}

}  // namespace framepace
