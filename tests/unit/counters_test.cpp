#include "daemon/scheduler/counters.h"

#include <gtest/gtest.h>
#include <set>
#include <vector>

using namespace framepace;

TEST(Counters, SumsEveryCpu) {
    std::vector<fp_cpu_counters> per_cpu(3);
    for (size_t cpu = 0; cpu < per_cpu.size(); cpu++)
        for (size_t i = 0; i < FP_NR_COUNTERS; i++)
            per_cpu[cpu].value[i] = (cpu + 1) * 10 + i;
    CounterTotals totals = sum_counters(per_cpu);
    for (size_t i = 0; i < FP_NR_COUNTERS; i++)
        EXPECT_EQ(totals[i], 60 + 3 * i);
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
