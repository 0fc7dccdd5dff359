// framepace-vm-yield-spin: do threads that spin on sched_yield() let the thread they wait for
// run? Games spin-wait so (job systems; Proton maps Windows' SwitchToThread and Sleep(0) onto
// sched_yield). Two loads, each printing one JSON object:
//   spin WORK_MS SPINNERS CPU
//       a worker does WORK_MS of CPU work in 1 ms units while SPINNERS threads call
//       sched_yield() in a loop until it is done: the worker's wall time against its CPU time
//       (a fair share among the spinners makes it SPINNERS + 1 times as long on one CPU).
//   pingpong ROUNDS WORK_US CPU NICE
//       a requester hands a job to a helper through a shared word and spins on sched_yield()
//       until the helper, spinning the same way, has done WORK_US of CPU work and answered;
//       the requester runs at nice NICE (a game thread, weighted up), the helper at 0. Round
//       trips p50, p99, max and per second.
//   limiter FRAMES PERIOD_US WORK_US CPU [SPIN_US]
//       a frame limiter that waits for each frame's start on sched_yield() (a game's Sleep(0)
//       loop), then works WORK_US: how late each frame started, p50, p99, max. With SPIN_US
//       it sleeps until SPIN_US before the frame's start and spins only for the rest, as
//       limiters that cannot trust a sleep's wakeup to be on time do.
// CPU: every thread pinned to it; -1, none.
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "percentile.h"

namespace {

uint64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

// A thread that could not be pinned would make the pinned load an unpinned one: the run
// fails instead of measuring the wrong thing.
void pin_to(int cpu) {
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set); err != 0) {
        std::fprintf(stderr, "cannot pin to CPU %d: %s\n", cpu, std::strerror(err));
        std::exit(1);
    }
}

// CPU work of the calling thread until it has used ns more of CPU time: the same work under
// every scheduler, however the thread is interrupted.
void burn_cpu_ns(uint64_t ns) {
    uint64_t end = clock_ns(CLOCK_THREAD_CPUTIME_ID) + ns;
    while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < end) {
    }
}

int spin(uint64_t work_ns, int spinners, int cpu) {
    constexpr uint64_t kUnitNs = 1'000'000;
    std::atomic<bool> done{false}, started{false};
    std::atomic<uint64_t> yields{0}, spinner_cpu_ns{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < spinners; i++)
        threads.emplace_back([&] {
            pin_to(cpu);
            while (!started.load(std::memory_order_acquire))
                sched_yield();
            uint64_t n = 0, cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
            while (!done.load(std::memory_order_acquire)) {
                sched_yield();
                n++;
            }
            yields += n;
            spinner_cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        });
    uint64_t wall_ns = 0, worker_cpu_ns = 0;
    std::thread worker([&] {
        pin_to(cpu);
        started.store(true, std::memory_order_release);
        uint64_t wall0 = clock_ns(CLOCK_MONOTONIC), cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        for (uint64_t used = 0; used < work_ns; used += kUnitNs)
            burn_cpu_ns(kUnitNs);
        wall_ns = clock_ns(CLOCK_MONOTONIC) - wall0;
        worker_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        done.store(true, std::memory_order_release);
    });
    worker.join();
    for (auto& t : threads)
        t.join();
    std::printf(
        "{\"worker_wall_ms\": %.1f, \"worker_cpu_ms\": %.1f, \"spinners\": %d, "
        "\"spinner_cpu_ms\": %.1f, \"yields\": %llu, \"cpu\": %d}\n",
        wall_ns / 1e6, worker_cpu_ns / 1e6, spinners, spinner_cpu_ns.load() / 1e6,
        (unsigned long long)yields.load(), cpu);
    return 0;
}

int pingpong(int rounds, uint64_t work_ns, int cpu, int nice) {
    // 0: idle, 1: a job for the helper, 2: the helper's answer; -1: stop.
    std::atomic<int> word{0};
    std::thread helper([&] {
        pin_to(cpu);
        for (;;) {
            int w;
            while ((w = word.load(std::memory_order_acquire)) != 1 && w != -1)
                sched_yield();
            if (w == -1)
                return;
            burn_cpu_ns(work_ns);
            word.store(2, std::memory_order_release);
        }
    });
    std::vector<uint64_t> trips;
    trips.reserve(rounds);
    pin_to(cpu);
    if (nice && setpriority(PRIO_PROCESS, syscall(SYS_gettid), nice) != 0) {
        std::perror("setpriority");
        return 1;
    }
    uint64_t start = clock_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < rounds; i++) {
        uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
        word.store(1, std::memory_order_release);
        while (word.load(std::memory_order_acquire) != 2)
            sched_yield();
        word.store(0, std::memory_order_release);
        trips.push_back(clock_ns(CLOCK_MONOTONIC) - t0);
    }
    uint64_t total = clock_ns(CLOCK_MONOTONIC) - start;
    word.store(-1, std::memory_order_release);
    helper.join();
    using framepace::vm::percentile;
    std::printf(
        "{\"rounds\": %d, \"work_us\": %llu, \"nice\": %d, \"cpu\": %d, "
        "\"trip_p50_us\": %.1f, \"trip_p99_us\": %.1f, \"trip_max_us\": %.1f, "
        "\"rounds_per_s\": %.1f}\n",
        rounds, (unsigned long long)(work_ns / 1000), nice, cpu, percentile(trips, 0.5) / 1e3,
        percentile(trips, 0.99) / 1e3, percentile(trips, 1.0) / 1e3, rounds / (total / 1e9));
    return 0;
}

void sleep_until_ns(uint64_t when) {
    timespec ts{.tv_sec = time_t(when / 1'000'000'000), .tv_nsec = long(when % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

int limiter(int frames, uint64_t period_ns, uint64_t work_ns, int cpu, uint64_t spin_ns) {
    std::vector<uint64_t> late;
    late.reserve(frames);
    pin_to(cpu);
    uint64_t start = clock_ns(CLOCK_MONOTONIC) + period_ns;
    for (int i = 0; i < frames; i++) {
        uint64_t target = start + uint64_t(i) * period_ns, now;
        if (spin_ns && spin_ns < period_ns)
            sleep_until_ns(target - spin_ns);
        while ((now = clock_ns(CLOCK_MONOTONIC)) < target)
            sched_yield();
        late.push_back(now - target);
        burn_cpu_ns(work_ns);
    }
    using framepace::vm::percentile;
    std::printf(
        "{\"frames\": %d, \"late_p50_us\": %.1f, \"late_p99_us\": %.1f, "
        "\"late_max_us\": %.1f}\n",
        frames, percentile(late, 0.5) / 1e3, percentile(late, 0.99) / 1e3,
        percentile(late, 1.0) / 1e3);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 5 && std::strcmp(argv[1], "spin") == 0)
        return spin(std::strtoull(argv[2], nullptr, 10) * 1'000'000, std::atoi(argv[3]),
                    std::atoi(argv[4]));
    if (argc == 6 && std::strcmp(argv[1], "pingpong") == 0)
        return pingpong(std::atoi(argv[2]), std::strtoull(argv[3], nullptr, 10) * 1000,
                        std::atoi(argv[4]), std::atoi(argv[5]));
    if ((argc == 6 || argc == 7) && std::strcmp(argv[1], "limiter") == 0)
        return limiter(std::atoi(argv[2]), std::strtoull(argv[3], nullptr, 10) * 1000,
                       std::strtoull(argv[4], nullptr, 10) * 1000, std::atoi(argv[5]),
                       argc == 7 ? std::strtoull(argv[6], nullptr, 10) * 1000 : 0);
    std::fprintf(stderr,
                 "usage: %s spin WORK_MS SPINNERS CPU | pingpong ROUNDS WORK_US CPU NICE | "
                 "limiter FRAMES PERIOD_US WORK_US CPU [SPIN_US]\n",
                 argv[0]);
    return 2;
}
