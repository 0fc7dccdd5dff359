#include "daemon/scheduler/counters.h"

#include <gtest/gtest.h>
#include <set>
#include <vector>

using namespace framepace;

TEST(Counters, SumsEverySlotAndTheMapsCpus) {
    std::vector<fp_cpu_slot> slots(2);
    std::vector<fp_cpu_counters> map_per_cpu(3);
    for (size_t i = 0; i < FP_NR_COUNTERS; i++) {
        slots[0].counters.value[i] = i;
        slots[1].counters.value[i] = 100;
        for (size_t cpu = 0; cpu < map_per_cpu.size(); cpu++)
            map_per_cpu[cpu].value[i] = (cpu + 1) * 10;
    }
    CounterTotals totals = sum_counters(slots, map_per_cpu);
    for (size_t i = 0; i < FP_NR_COUNTERS; i++)
        EXPECT_EQ(totals[i], i + 100 + 60);
}

TEST(Counters, AResetZeroesTheCountersAndNothingElseInTheSlots) {
    std::vector<fp_cpu_slot> slots(2);
    for (auto& slot : slots) {
        slot.cpu.role = 3;
        slot.llc.vtime_now = 77;
        for (auto& value : slot.counters.value)
            value = 5;
    }
    reset_counters(slots);
    EXPECT_EQ(sum_counters(slots, {}), CounterTotals{});
    for (const auto& slot : slots) {
        EXPECT_EQ(slot.cpu.role, 3u);
        EXPECT_EQ(slot.llc.vtime_now, 77u);
    }
}

TEST(Counters, NamesAreUniqueAndFormatted) {
    std::set<std::string_view> names;
    for (int i = 0; i < FP_NR_COUNTERS; i++)
        names.insert(counter_name(static_cast<fp_counter>(i)));
    EXPECT_EQ(names.size(), static_cast<size_t>(FP_NR_COUNTERS));
    CounterTotals totals{};
    totals[FP_CNT_RUNS] = 42;
    EXPECT_NE(format_counters(totals).find("runs=42"), std::string::npos);
}
