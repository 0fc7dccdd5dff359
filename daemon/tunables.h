// The live tunables: defaults, ranges and validation, shared by the command line and (later)
// every other way of changing them.
#pragma once

#include <cstdint>
#include <string_view>

#include "expected.h"
#include "framepace_shared.h"

namespace framepace {

struct TunableRange {
    std::string_view name;
    std::string_view unit;
    uint64_t min;
    uint64_t max;
    uint64_t fp_tunables::*field;
};

inline constexpr TunableRange kTunableRanges[] = {
    {"slice_ns", "ns", FP_SLICE_NS_MIN, FP_SLICE_NS_MAX, &fp_tunables::slice_ns},
    {"sleep_budget_ns", "ns", 0, FP_SLEEP_BUDGET_NS_MAX, &fp_tunables::sleep_budget_ns},
};

fp_tunables default_tunables();

// Every field within its range, or an error naming the first one that is not.
Status validate_tunables(const fp_tunables& tunables);

}  // namespace framepace
