// framepace-bench-game: a synthetic game for the benchmarks. Three threads, each woken on
// an absolute periodic timer and doing a fixed amount of CPU work, measured in the thread's
// own CPU time (so a preemption in the middle of a frame makes the frame longer, as it would
// a real one):
//   render  every 8.33 ms (120 Hz), RENDER_WORK_US of work: the frame
//   logic   every 16.67 ms (60 Hz simulation tick), 1.5x the render work
//   audio   every 2.67 ms (128 frames at 48 kHz), 100 µs of work
// Per thread it records, for every period that fell due (not only the ones that ran):
//   lateness   how late the period's work started; a period that was skipped because the
//              previous one overran counts with the lateness it had when it was given up
//   missed     periods that started a whole period late, plus every skipped period
//   frame time from the start of a period's work to its end (wall clock)
//   jitter     the standard deviation of the interval between starts
// Prints one JSON object; "render"."late_us" holds every render lateness sample so the report
// can draw a CDF.
//   framepace-bench-game SECONDS [RENDER_WORK_US]
#include <pthread.h>
#include <time.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
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

uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * kNsPerSec + static_cast<uint64_t>(ts.tv_nsec);
}

struct PeriodicThread {
    const char* name;
    uint64_t period_ns;
    uint64_t work_ns;
    std::vector<uint64_t> late_us;   // one per period due, skipped ones included
    std::vector<uint64_t> frame_us;  // one per period that ran: start of work to its end
    std::vector<uint64_t> start_ns;
    uint64_t missed = 0;
    uint64_t skipped = 0;

    void run(uint64_t first, uint64_t end) {
        pthread_setname_np(pthread_self(), name);
        uint64_t next = first;
        while (next < end) {
            timespec at{static_cast<time_t>(next / kNsPerSec), static_cast<long>(next % kNsPerSec)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr);
            const uint64_t started = now_ns();
            const uint64_t late = started > next ? started - next : 0;
            late_us.push_back(late / 1000);
            start_ns.push_back(started);
            if (late >= period_ns)
                missed++;
            const uint64_t cpu_start = thread_cpu_ns();
            while (thread_cpu_ns() - cpu_start < work_ns) {
            }
            const uint64_t done = now_ns();
            frame_us.push_back((done - started) / 1000);
            // Periods whose time has passed were never started: each is a missed frame, with
            // the lateness it had reached when it was given up.
            next += period_ns;
            while (next < done && next < end) {
                late_us.push_back((done - next) / 1000);
                missed++;
                skipped++;
                next += period_ns;
            }
        }
    }

    std::string json(bool with_samples) const {
        std::vector<uint64_t> intervals_us;
        double sum = 0, sum_sq = 0;
        for (size_t i = 1; i < start_ns.size(); i++) {
            double us = static_cast<double>(start_ns[i] - start_ns[i - 1]) / 1000.0;
            sum += us;
            sum_sq += us * us;
        }
        size_t n = start_ns.size() > 1 ? start_ns.size() - 1 : 1;
        double mean = sum / static_cast<double>(n);
        double jitter = std::sqrt(std::max(0.0, sum_sq / static_cast<double>(n) - mean * mean));
        auto ull = [](uint64_t v) { return static_cast<unsigned long long>(v); };
        char head[768];
        std::snprintf(head, sizeof(head),
                      "{\"period_us\":%llu,\"work_us\":%llu,\"periods\":%zu,\"wakeups\":%zu,"
                      "\"skipped\":%llu,\"missed\":%llu,"
                      "\"late_p50_us\":%llu,\"late_p99_us\":%llu,\"late_p999_us\":%llu,"
                      "\"late_max_us\":%llu,\"frame_p50_us\":%llu,\"frame_p99_us\":%llu,"
                      "\"frame_max_us\":%llu,\"interval_mean_us\":%.1f,\"jitter_us\":%.1f",
                      ull(period_ns / 1000), ull(work_ns / 1000), late_us.size(), start_ns.size(),
                      ull(skipped), ull(missed), ull(percentile(late_us, 0.5)),
                      ull(percentile(late_us, 0.99)), ull(percentile(late_us, 0.999)),
                      ull(percentile(late_us, 1.0)), ull(percentile(frame_us, 0.5)),
                      ull(percentile(frame_us, 0.99)), ull(percentile(frame_us, 1.0)), mean,
                      jitter);
        std::string out = head;
        if (with_samples) {
            out += ",\"late_us\":[";
            for (size_t i = 0; i < late_us.size(); i++)
                out += (i ? "," : "") + std::to_string(late_us[i]);
            out += "]";
        }
        return out + "}";
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: framepace-bench-game SECONDS [RENDER_WORK_US]\n");
        return 2;
    }
    const uint64_t seconds = std::strtoull(argv[1], nullptr, 10);
    const uint64_t render_work = (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000) * 1000;
    PeriodicThread threads[] = {
        {"render", 8'333'333, render_work, {}, {}, {}, 0, 0},
        {"logic", 16'666'667, render_work * 3 / 2, {}, {}, {}, 0, 0},
        {"audio", 2'666'667, 100'000, {}, {}, {}, 0, 0},
    };
    const uint64_t first = now_ns() + 20'000'000;
    const uint64_t end = first + seconds * kNsPerSec;
    std::vector<std::thread> running;
    for (auto& t : threads)
        running.emplace_back([&t, first, end] { t.run(first, end); });
    for (auto& r : running)
        r.join();
    std::printf("{\"render\":%s,\"logic\":%s,\"audio\":%s}\n", threads[0].json(true).c_str(),
                threads[1].json(false).c_str(), threads[2].json(false).c_str());
    return 0;
}
