// framepace-vm-rt-takeover: an RT task (SCHED_FIFO, as pipewire under rtkit) takes a CPU
// from a running SCHED_OTHER task and holds it; how long is that task kept from running?
//
// The SCHED_OTHER task (the main thread) spins on CPU N, pinned there until just before the
// take-over and free to run anywhere from then on. At T0 an RT thread pinned to CPU N wakes
// and spins for HOG_MS (T0 is put off while the unpinning has not returned yet). The kernel leaves the preempted task at the head of CPU N's local
// queue; unless the scheduler sends it elsewhere (ops.cpu_release), it waits there until the
// RT thread is done. The main thread measures the longest gap between two consecutive clock
// reads from T0 to the end of the hog: the time it was kept off every CPU. It also reports
// when the RT thread really started spinning (a timer in a TCG guest can fire tens of ms late)
// and every change of CPU, so a return onto the RT-held CPU during the hold shows.
// Prints one JSON object.
//   framepace-vm-rt-takeover [HOG_MS] [CPU]
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

constexpr uint64_t kNsPerMs = 1'000'000;

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

timespec to_timespec(uint64_t ns) {
    return timespec{time_t(ns / 1'000'000'000), long(ns % 1'000'000'000)};
}

bool pin(pthread_t thread, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(thread, sizeof(set), &set) == 0;
}

bool unpin(pthread_t thread) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu = 0; cpu < CPU_SETSIZE && cpu < sysconf(_SC_NPROCESSORS_ONLN); cpu++)
        CPU_SET(cpu, &set);
    return pthread_setaffinity_np(thread, sizeof(set), &set) == 0;
}

[[noreturn]] void fail(const char* what) {
    std::printf("{\"error\":\"%s: %s\"}\n", what, std::strerror(errno));
    std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t hog_ns = (argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2000) * kNsPerMs;
    int cpu = argc > 2 ? std::atoi(argv[2]) : 1;
    // T0 moves later while the task is not yet free to move (see the RT thread).
    std::atomic<uint64_t> t0{now_ns() + 500 * kNsPerMs};
    std::atomic<bool> unpinned{false};
    std::atomic<uint64_t> rt_started{0};
    std::atomic<int> postponed{0};
    auto end = [&] { return t0.load() + hog_ns; };

    if (!pin(pthread_self(), cpu))
        fail("pinning the SCHED_OTHER task");
    std::thread rt([&] {
        sched_param param{};
        param.sched_priority = 50;
        if (!pin(pthread_self(), cpu) || pthread_setschedparam(pthread_self(), SCHED_FIFO, &param))
            fail("making the RT thread");
        // A take-over needs a task free to move: one still pinned to cpu (its unpinning
        // delayed; seen under TCG: 4 ms from the call to the next read of the clock) may
        // only wait. Until the unpinning is done, T0 is put off by 2 ms at a time.
        for (;;) {
            timespec at = to_timespec(t0.load());
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) == EINTR) {
            }
            if (unpinned.load())
                break;
            t0 += 2 * kNsPerMs;
            postponed++;
        }
        rt_started = now_ns();
        while (now_ns() < end()) {
        }
    });

    // Spin where the RT thread will wake; free to move 5 ms before it does (a running task
    // stays where it runs until it is put).
    while (now_ns() < t0.load() - 5 * kNsPerMs) {
    }
    if (!unpin(pthread_self()))
        fail("unpinning the SCHED_OTHER task");
    unpinned = true;
    int cpu_before = -1;
    // The last read before T0 starts the gap count: a task kept off every CPU from before T0
    // to past the end still shows its gap.
    uint64_t last = now_ns();
    while (last < t0.load() - kNsPerMs) {
        cpu_before = sched_getcpu();
        last = now_ns();
    }
    // Where the task ran from T0 on: every change of CPU, so a failure shows its path.
    struct Move {
        uint64_t at_us;
        int cpu;
    };
    Move moves[32];
    // Where it ran at T0 itself: it may have moved in the last millisecond before (on a VM
    // with more idle CPUs), and then the RT thread took nothing from it.
    int nr_moves = 0, cpu_now = cpu_before, cpu_at_t0 = cpu_before;
    uint64_t max_gap = 0, gap_at = 0;
    while (last < end()) {
        uint64_t now = now_ns(), start = t0.load();
        if (now - last > max_gap && now > start) {
            max_gap = now - last;
            gap_at = now - start;
        }
        last = now;
        int cpu_seen = sched_getcpu();
        // T0 is when the RT thread was due; a TCG timer may wake it later, and until it has
        // started the task still runs where it did before the take-over.
        if (now <= start || !rt_started.load())
            cpu_at_t0 = cpu_seen;
        if (cpu_seen != cpu_now && nr_moves < 32 && now > start)
            moves[nr_moves++] = Move{(now - start) / 1000, cpu_seen};
        cpu_now = cpu_seen;
    }
    int cpu_after = sched_getcpu();
    rt.join();
    std::printf(
        "{\"t0_ns\":%llu,\"t0_postponed\":%d,\"hog_ms\":%llu,\"cpu\":%d,\"cpu_before\":%d,\"cpu_at_"
        "t0\":%d,\"cpu_"
        "after\":%d,"
        "\"max_gap_us\":%llu,\"gap_ended_ms_after_t0\":%llu,\"rt_started_us_after_t0\":%llu,"
        "\"moves\":[",
        (unsigned long long)t0.load(), postponed.load(), (unsigned long long)(hog_ns / kNsPerMs),
        cpu, cpu_before, cpu_at_t0, cpu_after, (unsigned long long)(max_gap / 1000),
        (unsigned long long)(gap_at / kNsPerMs),
        (unsigned long long)((rt_started.load() - t0.load()) / 1000));
    for (int i = 0; i < nr_moves; i++)
        std::printf("%s[%llu,%d]", i ? "," : "", (unsigned long long)moves[i].at_us, moves[i].cpu);
    std::printf("]}\n");
    return 0;
}
