// Percentiles of measured samples, shared by the guest tools that report latencies.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace framepace::vm {

// The nearest-rank p-quantile (p in 0..1) of values; 0 for none.
inline uint64_t percentile(std::vector<uint64_t> values, double p) {
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

}  // namespace framepace::vm
