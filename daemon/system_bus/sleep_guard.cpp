#include "daemon/system_bus/sleep_guard.h"

#include "common/clock.h"
#include "common/log.h"

namespace framepace {
namespace {

// CLOCK_MONOTONIC stops while the system sleeps, CLOCK_BOOTTIME does not.
uint64_t suspend_offset_usec() { return clock_usec(CLOCK_BOOTTIME) - clock_usec(CLOCK_MONOTONIC); }

}  // namespace

Status SleepGuard::start() {
    auto status = bus_.watch_bool_signal("org.freedesktop.login1", "/org/freedesktop/login1",
                                         "org.freedesktop.login1.Manager", "PrepareForSleep",
                                         [this](bool going) { on_prepare_for_sleep(going); });
    if (!status)
        return status;
    // The lock is logind's: taken whenever logind (re)appears, e.g. after an upgrade.
    return bus_.watch_name("org.freedesktop.login1", [this](bool present) {
        if (!present)
            inhibitor_.reset();
        else if (!asleep_)
            take_inhibitor();
    });
}

void SleepGuard::take_inhibitor() {
    bus_.inhibit("sleep", "framepaced", "quiet the scheduler before sleep", "delay",
                 [this](Expected<UniqueFd> fd) {
                     if (!fd) {
                         log_printf(LOG_WARNING,
                                    "no sleep inhibitor (sleep is still handled, "
                                    "without the delay): %s",
                                    fd.error().message.c_str());
                         return;
                     }
                     // Suspend may have begun while logind answered: then the lock must go.
                     if (!asleep_)
                         inhibitor_ = std::move(*fd);
                 });
}

void SleepGuard::on_prepare_for_sleep(bool going_to_sleep) {
    if (going_to_sleep) {
        if (asleep_)
            return;
        asleep_ = true;
        suspend_offset_usec_ = suspend_offset_usec();
        hooks_.before_sleep();
        inhibitor_.reset();
        return;
    }
    if (!asleep_)
        return;
    asleep_ = false;
    uint64_t slept = suspend_offset_usec() - suspend_offset_usec_;
    take_inhibitor();
    hooks_.after_resume(slept);
}

}  // namespace framepace
