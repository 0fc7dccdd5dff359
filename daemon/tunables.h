// The live tunables: defaults, ranges and validation, shared by the command line and (later)
// every other way of changing them.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <optional>
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
    uint64_t default_value;
    std::string_view description;
};

inline constexpr TunableRange kTunableRanges[] = {
    {"slice_ns", "ns", FP_SLICE_NS_MIN, FP_SLICE_NS_MAX, &fp_tunables::slice_ns,
     FP_SLICE_NS_DEFAULT, "time slice given to a task each time it is dispatched"},
    {"sleep_budget_ns", "ns", 0, FP_SLEEP_BUDGET_NS_MAX, &fp_tunables::sleep_budget_ns,
     FP_SLEEP_BUDGET_NS_DEFAULT, "most virtual time a sleeping task may bank (bounds lag)"},
    {"boost_window_ns", "ns", FP_BOOST_WINDOW_NS_MIN, FP_BOOST_WINDOW_NS_MAX,
     &fp_tunables::boost_window_ns, FP_BOOST_WINDOW_NS_DEFAULT,
     "length of an input-boost window; input during a window extends it"},
    {"heartbeat_limit_ns", "ns", FP_HEARTBEAT_LIMIT_NS_MIN, FP_HEARTBEAT_LIMIT_NS_MAX,
     &fp_tunables::heartbeat_limit_ns, FP_HEARTBEAT_LIMIT_NS_DEFAULT,
     "boosts are refused while framepaced's heartbeat is older than this"},
    {"latency_outlier_ns", "ns", FP_LATENCY_OUTLIER_NS_MIN, FP_LATENCY_OUTLIER_NS_MAX,
     &fp_tunables::latency_outlier_ns, FP_LATENCY_OUTLIER_NS_DEFAULT,
     "a task that waits longer than this from queueing to running is reported as an event"},
};

using TunableOverrides = std::array<std::optional<uint64_t>, std::size(kTunableRanges)>;

fp_tunables default_tunables();

fp_tunables apply_overrides(fp_tunables base, const TunableOverrides& overrides);

// Every field within its range, or an error naming the first one that is not.
Status validate_tunables(const fp_tunables& tunables);

}  // namespace framepace
