#include "daemon/tunables/tunables.h"

#include <string>

namespace framepace {

fp_tunables default_tunables() {
    fp_tunables t{};
    for (const auto& range : kTunableRanges)
        tunable_ref(t, range) = range.default_value;
    return t;
}

fp_tunables apply_overrides(fp_tunables base, const TunableOverrides& overrides) {
    for (size_t i = 0; i < overrides.size(); i++)
        if (overrides[i])
            tunable_ref(base, kTunableRanges[i]) = *overrides[i];
    return base;
}

const TunableRange* find_tunable(std::string_view name) {
    for (const auto& range : kTunableRanges)
        if (range.name == name)
            return &range;
    return nullptr;
}

Status check_tunable(const TunableRange& range, uint64_t value) {
    if (value < range.min || value > range.max)
        return invalid_input(std::string(range.name) + "=" + std::to_string(value) +
                             " is out of range [" + std::to_string(range.min) + ", " +
                             std::to_string(range.max) + "] " + std::string(range.unit));
    return Ok{};
}

Status validate_tunables(const fp_tunables& tunables) {
    for (const auto& range : kTunableRanges)
        if (auto status = check_tunable(range, tunable_value(tunables, range)); !status)
            return status;
    return Ok{};
}

}  // namespace framepace
