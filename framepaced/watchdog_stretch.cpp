#include "framepaced/watchdog_stretch.h"

#include <systemd/sd-daemon.h>

#include "common/log.h"

namespace framepace {

WatchdogStretch::WatchdogStretch(uint64_t usec) {
    uint64_t unit_usec = 0;
    // The environment stays set: sd-event and the restore below read it again.
    if (sd_watchdog_enabled(0, &unit_usec) <= 0 || unit_usec >= usec)
        return;
    if (int r =
            sd_notifyf(0, "WATCHDOG=1\nWATCHDOG_USEC=%llu", static_cast<unsigned long long>(usec));
        r <= 0) {
        log_printf(LOG_WARNING, "cannot lengthen the watchdog timeout for a scheduler load (%d)",
                   r);
        return;
    }
    unit_usec_ = unit_usec;
}

WatchdogStretch::~WatchdogStretch() {
    if (!unit_usec_)
        return;
    if (int r = sd_notifyf(0, "WATCHDOG=1\nWATCHDOG_USEC=%llu",
                           static_cast<unsigned long long>(unit_usec_));
        r <= 0)
        log_printf(LOG_WARNING, "cannot restore the watchdog timeout of %llu us (%d)",
                   static_cast<unsigned long long>(unit_usec_), r);
}

}  // namespace framepace
