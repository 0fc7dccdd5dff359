#include "daemon/scheduler/counters.h"

#include <string>

namespace framepace {
namespace {

constexpr std::array<std::string_view, FP_NR_COUNTERS> kNames = {
    "direct_prev",     "direct_llc",        "direct_any",    "select_busy",   "enqueue_shared",
    "dispatch_shared", "sleep_clamped",     "runs",          "task_inits",    "stops",
    "run_ns",          "reclassified",      "boost_opened",  "boost_refused", "latency_outliers",
    "direct_core",     "enqueue_cpu",       "dispatch_cpu",  "steals",        "migration_limited",
    "boosted",         "preempted",         "input_wakeups", "role_changes",  "shared_mode",
    "cpu_mode",        "lag_clamped",       "keep_prev",     "cpu_online",    "cpu_offline",
    "wakeup_preempts", "cpu_released",      "reenqueued",    "rescued",       "llc_steals",
    "sync_wakeups",    "periodic_preempts", "idle_kicks",    "rt_lends",      "idle_here",
    "util_samples",    "llc_balances",      "llc_preempts",  "claims_lost",   "protection_preempts",
};
// The array's size is FP_NR_COUNTERS whatever the list holds; a short list leaves the last
// names empty.
static_assert(!kNames.back().empty(), "a counter is missing its name");

}  // namespace

std::string_view counter_name(enum fp_counter index) { return kNames.at(index); }

CounterTotals sum_counters(std::span<const fp_cpu_slot> slots,
                           std::span<const fp_cpu_counters> map_per_cpu) {
    CounterTotals totals{};
    for (const auto& slot : slots)
        for (size_t i = 0; i < totals.size(); i++)
            totals[i] += __atomic_load_n(&slot.counters.value[i], __ATOMIC_RELAXED);
    for (const auto& cpu : map_per_cpu)
        for (size_t i = 0; i < totals.size(); i++)
            totals[i] += cpu.value[i];
    return totals;
}

void reset_counters(std::span<fp_cpu_slot> slots) {
    for (auto& slot : slots)
        for (auto& value : slot.counters.value)
            __atomic_store_n(&value, 0, __ATOMIC_RELAXED);
}

std::string format_counters(const CounterTotals& totals) {
    std::string out;
    for (size_t i = 0; i < totals.size(); i++) {
        if (!out.empty())
            out += ' ';
        out += kNames[i];
        out += '=';
        out += std::to_string(totals[i]);
    }
    return out;
}

}  // namespace framepace
