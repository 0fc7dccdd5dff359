#pragma once
// Lets systemd's watchdog wait longer while the daemon's event loop is blocked on purpose.
//
// The loop pings the watchdog (sd_event_set_watchdog), and a scheduler load blocks it: the BPF
// verifier ran 3.8-5.1 s per load on the 6.12 kernel under QEMU TCG, so a reload after an
// ejection outlasted a 5 s WatchdogSec, the watchdog killed the daemon mid-reload, and the
// restarts that followed hit systemd's start limit (CI, 2026-12-05). While a WatchdogStretch
// lives, systemd waits up to `usec` for the next ping (sd_notify's WATCHDOG_USEC=); it pings
// as it starts and as it ends, and restores the unit's own timeout. A load that hangs for
// longer than `usec` is still caught. Without a watchdog (not under systemd, WatchdogSec
// unset) it does nothing.
#include <cstdint>

namespace framepace {

class WatchdogStretch {
public:
    explicit WatchdogStretch(uint64_t usec);
    ~WatchdogStretch();
    WatchdogStretch(const WatchdogStretch&) = delete;
    WatchdogStretch& operator=(const WatchdogStretch&) = delete;

private:
    uint64_t unit_usec_ = 0;  // the unit's own timeout; 0: no watchdog, nothing to restore
};

}  // namespace framepace
