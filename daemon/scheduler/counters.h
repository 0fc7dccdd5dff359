// The scheduler's per-CPU counters, named and summed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "bpf/framepace_shared.h"

namespace framepace {

using CounterTotals = std::array<uint64_t, FP_NR_COUNTERS>;

// Stable names, used in logs and on the wire.
std::string_view counter_name(enum fp_counter index);

// How many of `possible` CPUs have a slot in the scheduler's cpu_slots (the first
// FP_MAX_CPUS); the rest count in the counters map.
size_t slotted_cpus(size_t possible);

// Sums the slots' counters, each value read whole as BPF adds to it meanwhile, and the
// counters map's per-CPU values.
CounterTotals sum_counters(std::span<const fp_cpu_slot> slots,
                           std::span<const fp_cpu_counters> map_per_cpu);

// Zeroes the slots' counters, each value written whole. An increment racing it is lost,
// which is what a reset means anyway.
void reset_counters(std::span<fp_cpu_slot> slots);

// "direct_prev=12 direct_llc=3 ..." for log lines.
std::string format_counters(const CounterTotals& totals);

}  // namespace framepace
