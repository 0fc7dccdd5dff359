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

// Sums the slots' counters (the scheduler's cpu_slots, indexed by CPU id; those of CPUs that
// do not exist stay zero), each value read whole as BPF adds to it meanwhile, and the
// counters map's per-CPU values (CPUs past FP_MAX_CPUS).
CounterTotals sum_counters(std::span<const fp_cpu_slot> slots,
                           std::span<const fp_cpu_counters> map_per_cpu);

// Zeroes the slots' counters, each value written whole. BPF adds to them meanwhile without
// locks: an increment whose read came before the reset and whose write after puts that
// value's count back (the map's reset had the same race).
void reset_counters(std::span<fp_cpu_slot> slots);

// "direct_prev=12 direct_llc=3 ..." for log lines.
std::string format_counters(const CounterTotals& totals);

}  // namespace framepace
