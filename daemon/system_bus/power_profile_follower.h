// Which power profile is active. power-profiles-daemon (and tuned-ppd) own
// org.freedesktop.UPower.PowerProfiles; older power-profiles-daemon only net.hadess.PowerProfiles.
// The first of those names that is on the bus wins; each reports through SystemBus.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "daemon/system_bus/active_profile.h"
#include "daemon/system_bus/system_bus.h"

namespace framepace {

class PowerProfileFollower {
public:
    // In order of preference.
    static inline const std::array<BusProperty, 2> kSources = {{
        {"org.freedesktop.UPower.PowerProfiles", "/org/freedesktop/UPower/PowerProfiles",
         "org.freedesktop.UPower.PowerProfiles", "ActiveProfile"},
        {"net.hadess.PowerProfiles", "/net/hadess/PowerProfiles", "net.hadess.PowerProfiles",
         "ActiveProfile"},
    }};

    // Called when the answer changes; nullopt once every source has reported absence (no
    // power-profiles service on the bus).
    using Callback = std::function<void(const std::optional<ActiveProfile>& active)>;
    explicit PowerProfileFollower(Callback on_change) : on_change_(std::move(on_change)) {}

    // What source (index into kSources) reports: its ActiveProfile, or nullopt when absent.
    void update(size_t source, const std::optional<std::string>& profile);

    const std::optional<ActiveProfile>& active() const { return active_; }

private:
    std::array<bool, kSources.size()> reported_{};
    std::array<std::optional<std::string>, kSources.size()> profiles_;
    std::optional<ActiveProfile> active_;
    bool announced_ = false;
    Callback on_change_;
};

}  // namespace framepace
