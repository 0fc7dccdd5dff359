#include "tunables.h"

#include <string>

namespace framepace {

fp_tunables default_tunables() {
    fp_tunables t{};
    t.slice_ns = FP_SLICE_NS_DEFAULT;
    t.sleep_budget_ns = FP_SLEEP_BUDGET_NS_DEFAULT;
    return t;
}

Status validate_tunables(const fp_tunables& tunables) {
    for (const auto& range : kTunableRanges) {
        uint64_t value = tunables.*range.field;
        if (value < range.min || value > range.max)
            return invalid_input(std::string(range.name) + "=" + std::to_string(value) +
                                 " is out of range [" + std::to_string(range.min) + ", " +
                                 std::to_string(range.max) + "] " + std::string(range.unit));
    }
    return Ok{};
}

}  // namespace framepace
