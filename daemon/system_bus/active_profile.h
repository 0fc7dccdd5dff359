// The power profile a power-profiles service reports: a value, apart from the D-Bus side that
// learns it, so that the control plane can show it without depending on the bus.
#pragma once

#include <string>

namespace framepace {

struct ActiveProfile {
    std::string service;   // the well-known name that reported it
    std::string profile;   // "performance", "balanced", "power-saver", or what the service has

    bool operator==(const ActiveProfile&) const = default;
};

}  // namespace framepace
