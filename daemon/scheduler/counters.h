// The scheduler's per-CPU counters, named and summed.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "bpf/framepace_shared.h"

namespace framepace {

using CounterTotals = std::array<uint64_t, FP_NR_COUNTERS>;

// Stable names, used in logs and on the wire.
std::string_view counter_name(enum fp_counter index);

// Sums one value per possible CPU.
CounterTotals sum_counters(std::span<const fp_cpu_counters> per_cpu);

// "direct_prev=12 direct_llc=3 ..." for log lines.
std::string format_counters(const CounterTotals& totals);

}  // namespace framepace
