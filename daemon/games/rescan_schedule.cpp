#include "daemon/games/rescan_schedule.h"

namespace framepace {

bool RescanSchedule::sample(uint64_t now_usec, uint64_t lost_total) {
    if (lost_total > last_total_) {
        if (!pending_)
            first_loss_usec_ = now_usec;
        pending_ = true;
        last_loss_usec_ = now_usec;
    }
    last_total_ = lost_total;
    if (!pending_)
        return false;
    if (now_usec - last_loss_usec_ < config_.settle_usec &&
        now_usec - first_loss_usec_ < config_.max_delay_usec)
        return false;
    pending_ = false;
    return true;
}

}  // namespace framepace
