// What the control plane (Varlink, later D-Bus) may see of and do to the running scheduler.
// Daemon implements it; keeping it abstract lets the method layer be tested on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "daemon/scheduler/event_consumer.h"
#include "daemon/scheduler/exit_info.h"
#include "common/expected.h"
#include "daemon/games/game_tracker.h"
#include "bpf/framepace_shared.h"
#include "daemon/system_bus/active_profile.h"
#include "daemon/tunables/layers.h"
#include "daemon/tunables/presets.h"

namespace framepace {

class SchedulerHandle;

// The power profile being followed and what it does to the tunables.
struct PowerProfileView {
    std::optional<ActiveProfile> active;   // nullopt: no power-profiles service on the bus
    std::string preset;                    // the preset applied now; "" for none
    PresetTable table;
};

class SchedulerService {
public:
    virtual ~SchedulerService() = default;

    // Null while no scheduler is attached (ejected, or between reloads).
    virtual SchedulerHandle* scheduler() = 0;
    virtual std::optional<ExitInfo> last_exit() const = 0;
    virtual uint64_t started_usec() const = 0;   // CLOCK_MONOTONIC
    virtual fp_tunables tunables() const = 0;
    // Where tunable i (kTunableRanges order) takes its value from.
    virtual TunableSource tunable_source(size_t index) const = 0;
    // Events the daemon has consumed from the rings, by type.
    virtual EventCounts event_counts() const = 0;
    // Explicit choices, each within its range (checked by the caller): applied to BPF at
    // once, ahead of any preset, then stored if persist is set.
    virtual Status set_tunables(const TunableOverrides& values, bool persist) = 0;
    // Drops the explicit choices, stored ones included: defaults and the profile's preset.
    virtual Status reset_tunables() = 0;
    virtual PowerProfileView power_profile() const = 0;
    // Games, compositors and audio servers known now, and marking games by hand.
    virtual std::vector<ClassifiedProcess> classified_processes() const = 0;
    virtual Status mark_game(uint32_t pid) = 0;
    virtual Status unmark_game(uint32_t pid) = 0;
};

}  // namespace framepace
