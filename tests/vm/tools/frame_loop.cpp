// framepace-vm-render: a render thread in miniature. Wakes every PERIOD_US on an absolute
// timer (as a 120 Hz game does at 8333), spins WORK_US of CPU, and records how late each
// frame started. Prints one JSON line: frames, missed (started a whole period late), and
// lateness percentiles in µs.
//   framepace-vm-render SECONDS PERIOD_US WORK_US
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "percentile.h"

using framepace::vm::percentile;

namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000;

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * kNsPerSec + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: framepace-vm-render SECONDS PERIOD_US WORK_US\n");
        return 2;
    }
    const uint64_t seconds = std::strtoull(argv[1], nullptr, 10);
    const uint64_t period = std::strtoull(argv[2], nullptr, 10) * 1000;
    const uint64_t work = std::strtoull(argv[3], nullptr, 10) * 1000;
    if (period == 0) {
        std::fprintf(stderr, "framepace-vm-render: PERIOD_US must be positive\n");
        return 2;
    }
    std::vector<uint64_t> late_us;
    uint64_t missed = 0;
    uint64_t next = now_ns() + period;
    const uint64_t end = next + seconds * kNsPerSec;
    while (next < end) {
        timespec at{static_cast<time_t>(next / kNsPerSec), static_cast<long>(next % kNsPerSec)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr);
        uint64_t started = now_ns();
        uint64_t late = started > next ? started - next : 0;
        late_us.push_back(late / 1000);
        if (late >= period)
            missed++;
        while (now_ns() - started < work) {
        }
        // A frame that overran starts the next one on the next period boundary.
        next += period;
        while (next < now_ns())
            next += period;
    }
    std::printf("{\"frames\":%zu,\"missed\":%llu,\"p50_us\":%llu,\"p99_us\":%llu,"
                "\"p999_us\":%llu,\"max_us\":%llu}\n",
                late_us.size(), static_cast<unsigned long long>(missed),
                static_cast<unsigned long long>(percentile(late_us, 0.5)),
                static_cast<unsigned long long>(percentile(late_us, 0.99)),
                static_cast<unsigned long long>(percentile(late_us, 0.999)),
                static_cast<unsigned long long>(percentile(late_us, 1.0)));
    return 0;
}
