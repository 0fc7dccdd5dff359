// The live tunables: defaults, ranges and validation, shared by the command line and (later)
// every other way of changing them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

#include "common/expected.h"
#include "bpf/framepace_shared.h"

namespace framepace {

struct TunableRange {
    std::string_view name;
    std::string_view unit;
    uint64_t min;
    uint64_t max;
    size_t offset;             // of the uint64_t in fp_tunables (arrays have one per element)
    uint64_t default_value;
    std::string_view description;
};

inline constexpr uint64_t kRoleSliceDefaults[] = FP_ROLE_SLICE_NS_DEFAULTS;
inline constexpr uint64_t kRoleDeadlineDefaults[] = FP_ROLE_DEADLINE_NS_DEFAULTS;

inline constexpr TunableRange kTunableRanges[] = {
    {"slice_normal_ns", "ns", FP_SLICE_NS_MIN, FP_SLICE_NS_MAX,
     offsetof(fp_tunables, role_slice_ns[FP_ROLE_NORMAL]), kRoleSliceDefaults[FP_ROLE_NORMAL],
     "time slice of tasks with no other role"},
    {"slice_interactive_ns", "ns", FP_SLICE_NS_MIN, FP_SLICE_NS_MAX,
     offsetof(fp_tunables, role_slice_ns[FP_ROLE_INTERACTIVE]),
     kRoleSliceDefaults[FP_ROLE_INTERACTIVE], "time slice of interactive tasks (short runs)"},
    {"slice_batch_ns", "ns", FP_SLICE_NS_MIN, FP_SLICE_NS_MAX,
     offsetof(fp_tunables, role_slice_ns[FP_ROLE_BATCH]), kRoleSliceDefaults[FP_ROLE_BATCH],
     "time slice of batch tasks (use up their slices, or nice > 0)"},
    {"slice_game_ns", "ns", FP_SLICE_NS_MIN, FP_SLICE_NS_MAX,
     offsetof(fp_tunables, role_slice_ns[FP_ROLE_GAME]), kRoleSliceDefaults[FP_ROLE_GAME],
     "time slice of game threads and helpers the game keeps waking"},
    {"slice_game_critical_ns", "ns", FP_SLICE_NS_MIN, FP_SLICE_NS_MAX,
     offsetof(fp_tunables, role_slice_ns[FP_ROLE_GAME_CRITICAL]),
     kRoleSliceDefaults[FP_ROLE_GAME_CRITICAL],
     "time slice of critical game threads (wake often, run briefly)"},
    {"slice_compositor_ns", "ns", FP_SLICE_NS_MIN, FP_SLICE_NS_MAX,
     offsetof(fp_tunables, role_slice_ns[FP_ROLE_COMPOSITOR]),
     kRoleSliceDefaults[FP_ROLE_COMPOSITOR], "time slice of compositors"},
    {"slice_audio_ns", "ns", FP_SLICE_NS_MIN, FP_SLICE_NS_MAX,
     offsetof(fp_tunables, role_slice_ns[FP_ROLE_AUDIO]), kRoleSliceDefaults[FP_ROLE_AUDIO],
     "time slice of audio servers"},
    {"deadline_normal_ns", "ns", 0, FP_DEADLINE_NS_MAX,
     offsetof(fp_tunables, role_deadline_ns[FP_ROLE_NORMAL]), kRoleDeadlineDefaults[FP_ROLE_NORMAL],
     "deadline of tasks with no other role, after their virtual time (smaller runs sooner)"},
    {"deadline_interactive_ns", "ns", 0, FP_DEADLINE_NS_MAX,
     offsetof(fp_tunables, role_deadline_ns[FP_ROLE_INTERACTIVE]),
     kRoleDeadlineDefaults[FP_ROLE_INTERACTIVE],
     "deadline of interactive tasks (short runs), after their virtual time (smaller runs sooner)"},
    {"deadline_batch_ns", "ns", 0, FP_DEADLINE_NS_MAX,
     offsetof(fp_tunables, role_deadline_ns[FP_ROLE_BATCH]), kRoleDeadlineDefaults[FP_ROLE_BATCH],
     "deadline of batch tasks (use up their slices, or nice > 0), after their virtual time "
     "(smaller runs sooner)"},
    {"deadline_game_ns", "ns", 0, FP_DEADLINE_NS_MAX,
     offsetof(fp_tunables, role_deadline_ns[FP_ROLE_GAME]), kRoleDeadlineDefaults[FP_ROLE_GAME],
     "deadline of game threads and helpers the game keeps waking, after their virtual time "
     "(smaller runs sooner)"},
    {"deadline_game_critical_ns", "ns", 0, FP_DEADLINE_NS_MAX,
     offsetof(fp_tunables, role_deadline_ns[FP_ROLE_GAME_CRITICAL]),
     kRoleDeadlineDefaults[FP_ROLE_GAME_CRITICAL],
     "deadline of critical game threads (wake often, run briefly), after their virtual time "
     "(smaller runs sooner)"},
    {"deadline_compositor_ns", "ns", 0, FP_DEADLINE_NS_MAX,
     offsetof(fp_tunables, role_deadline_ns[FP_ROLE_COMPOSITOR]),
     kRoleDeadlineDefaults[FP_ROLE_COMPOSITOR],
     "deadline of compositors, after their virtual time (smaller runs sooner)"},
    {"deadline_audio_ns", "ns", 0, FP_DEADLINE_NS_MAX,
     offsetof(fp_tunables, role_deadline_ns[FP_ROLE_AUDIO]), kRoleDeadlineDefaults[FP_ROLE_AUDIO],
     "deadline of audio servers, after their virtual time (smaller runs sooner)"},
    {"sleep_budget_ns", "ns", 0, FP_SLEEP_BUDGET_NS_MAX, offsetof(fp_tunables, sleep_budget_ns),
     FP_SLEEP_BUDGET_NS_DEFAULT, "most virtual time a sleeping task may bank (bounds lag)"},
    {"boost_window_ns", "ns", FP_BOOST_WINDOW_NS_MIN, FP_BOOST_WINDOW_NS_MAX,
     offsetof(fp_tunables, boost_window_ns), FP_BOOST_WINDOW_NS_DEFAULT,
     "length of an input-boost window; input during a window extends it"},
    {"heartbeat_limit_ns", "ns", FP_HEARTBEAT_LIMIT_NS_MIN, FP_HEARTBEAT_LIMIT_NS_MAX,
     offsetof(fp_tunables, heartbeat_limit_ns), FP_HEARTBEAT_LIMIT_NS_DEFAULT,
     "boosts are refused while framepaced's heartbeat is older than this"},
    {"latency_outlier_ns", "ns", FP_LATENCY_OUTLIER_NS_MIN, FP_LATENCY_OUTLIER_NS_MAX,
     offsetof(fp_tunables, latency_outlier_ns), FP_LATENCY_OUTLIER_NS_DEFAULT,
     "a task that waits longer than this from queueing to running is reported as an event"},
    {"critical_run_ns", "ns", 0, FP_BEHAVIOUR_NS_MAX, offsetof(fp_tunables, critical_run_ns),
     FP_CRITICAL_RUN_NS_DEFAULT, "game threads whose mean run is below this ..."},
    {"critical_wake_ns", "ns", 0, FP_BEHAVIOUR_NS_MAX, offsetof(fp_tunables, critical_wake_ns),
     FP_CRITICAL_WAKE_NS_DEFAULT,
     "... and whose mean interval between wakeups is below this are game-critical"},
    {"interactive_run_ns", "ns", 0, FP_BEHAVIOUR_NS_MAX, offsetof(fp_tunables, interactive_run_ns),
     FP_INTERACTIVE_RUN_NS_DEFAULT, "other tasks whose mean run is below this are interactive"},
    {"batch_runnable_pct", "%", 1, 100, offsetof(fp_tunables, batch_runnable_pct),
     FP_BATCH_RUNNABLE_PCT_DEFAULT,
     "tasks still runnable at this share of the times they stop (they rarely sleep) are batch"},
    {"game_weight_pct", "%", 100, FP_GAME_WEIGHT_PCT_MAX, offsetof(fp_tunables, game_weight_pct),
     FP_GAME_WEIGHT_PCT_DEFAULT, "CPU share of game threads relative to their nice level's weight"},
    {"shared_util_pct", "%", 0, FP_SHARED_UTIL_PCT_MAX, offsetof(fp_tunables, shared_util_pct),
     FP_SHARED_UTIL_PCT_DEFAULT,
     "CPU utilisation above which tasks queue on one shared deadline queue, not per CPU"},
    {"migration_interval_ns", "ns", 0, FP_BEHAVIOUR_NS_MAX,
     offsetof(fp_tunables, migration_interval_ns), FP_MIGRATION_INTERVAL_NS_DEFAULT,
     "a task that is not latency-critical moves to another LLC, and an LLC takes from a busier "
     "one, at most once per this (0: always)"},
    {"lag_limit_ns", "ns", FP_LAG_LIMIT_NS_MIN, FP_DEADLINE_NS_MAX,
     offsetof(fp_tunables, lag_limit_ns), FP_LAG_LIMIT_NS_DEFAULT,
     "most virtual time a task may run ahead of the others: bounds how long low-weight tasks wait"},
};

inline uint64_t& tunable_ref(fp_tunables& tunables, const TunableRange& range) {
    return *reinterpret_cast<uint64_t*>(reinterpret_cast<char*>(&tunables) + range.offset);
}

inline uint64_t tunable_value(const fp_tunables& tunables, const TunableRange& range) {
    return *reinterpret_cast<const uint64_t*>(reinterpret_cast<const char*>(&tunables) +
                                              range.offset);
}

// The range named so, or null.
const TunableRange* find_tunable(std::string_view name);

// Where range sits in kTunableRanges (and in TunableOverrides, user_set_mask).
inline size_t tunable_index(const TunableRange& range) {
    return static_cast<size_t>(&range - kTunableRanges);
}

using TunableOverrides = std::array<std::optional<uint64_t>, std::size(kTunableRanges)>;

fp_tunables default_tunables();

fp_tunables apply_overrides(fp_tunables base, const TunableOverrides& overrides);

// value within range's bounds, or an error naming the tunable, the value and the range.
Status check_tunable(const TunableRange& range, uint64_t value);

// Every field within its range, or an error naming the first one that is not.
Status validate_tunables(const fp_tunables& tunables);

}  // namespace framepace
