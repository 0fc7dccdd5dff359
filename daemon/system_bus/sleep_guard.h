// Suspend and resume as logind announces them (PrepareForSleep). A delay inhibitor is held
// while the system is awake, so that before_sleep runs before the system sleeps; it is let go
// as soon as before_sleep is done and taken again after resume, and whenever logind comes
// back after a restart.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "daemon/system_bus/system_bus.h"
#include "common/unique_fd.h"

namespace framepace {

class SleepGuard {
public:
    struct Hooks {
        std::function<void()> before_sleep;
        std::function<void(uint64_t slept_usec)> after_resume;
    };

    SleepGuard(SystemBus& bus, Hooks hooks) : bus_(bus), hooks_(std::move(hooks)) {}

    Status start();

private:
    void on_prepare_for_sleep(bool going_to_sleep);
    void take_inhibitor();

    SystemBus& bus_;
    Hooks hooks_;
    UniqueFd inhibitor_;
    uint64_t suspend_offset_usec_ = 0;   // CLOCK_BOOTTIME - CLOCK_MONOTONIC before sleep
    bool asleep_ = false;
};

}  // namespace framepace
