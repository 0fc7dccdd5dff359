#include "common/event_loop.h"

#include <string>

namespace framepace {

Status rearm_timer(sd_event_source* timer, uint64_t usec, const char* what) {
    int r = sd_event_source_set_time_relative(timer, usec);
    if (r >= 0)
        r = sd_event_source_set_enabled(timer, SD_EVENT_ONESHOT);
    if (r < 0)
        return make_error(r, std::string("failed to re-arm ") + what);
    return Ok{};
}

}  // namespace framepace
