// Clock readings in nanoseconds (CLOCK_MONOTONIC is BPF's bpf_ktime_get_ns) and microseconds.
#pragma once

#include <cstdint>
#include <time.h>

namespace framepace {

inline uint64_t clock_nsec(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t clock_usec(clockid_t clock) { return clock_nsec(clock) / 1000; }

inline uint64_t monotonic_usec() { return clock_usec(CLOCK_MONOTONIC); }

inline uint64_t monotonic_nsec() { return clock_nsec(CLOCK_MONOTONIC); }

}  // namespace framepace
