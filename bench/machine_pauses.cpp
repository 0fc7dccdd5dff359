// framepace-bench-pauses: tells the benchmark when the machine itself stopped, so that a run
// it spoiled can be repeated. One thread per CPU, pinned there at SCHED_FIFO 99, wakes on an
// absolute 20 ms grid; a wakeup that comes late by PAUSE_MS or more means, as a rule, that no
// CPU time was given to that vCPU for that long. No scheduler under test holds it off by
// scheduling: the thread is a real-time task, which sched_ext never schedules and every fair
// or sched_ext task yields to. What stops it (seen under TCG on this project's machine): the emulator, or
// the host it runs on, stopping for ~100 ms while a host SCHED_FIFO sleeper is stopped too.
// Whether what the guest does makes the host stop more often is open: the pauses were not
// spread evenly over the runs of one benchmark (docs/benchmarks.md).
// Prints one JSON line per pause as it ends, {"cpu", "at_ns" (CLOCK_MONOTONIC when the
// wakeup fell due), "late_ns"}; runs until SIGTERM or SIGINT.
//   framepace-bench-pauses [PAUSE_MS]
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr int64_t kGridNs = 20'000'000;

int64_t to_ns(const timespec& ts) { return ts.tv_sec * kNsPerSec + ts.tv_nsec; }

timespec to_timespec(int64_t ns) {
    return {static_cast<time_t>(ns / kNsPerSec), static_cast<long>(ns % kNsPerSec)};
}

int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return to_ns(ts);
}

// Pins the calling thread to cpu at the top real-time priority; false (with errno) otherwise.
bool pin_at_top_priority(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
        errno = err;
        return false;
    }
    sched_param param{};
    param.sched_priority = sched_get_priority_max(SCHED_FIFO);
    if (int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param)) {
        errno = err;
        return false;
    }
    return true;
}

void watch(int cpu, int64_t pause_ns) {
    if (!pin_at_top_priority(cpu)) {
        std::fprintf(stderr, "framepace-bench-pauses: cpu %d: %s\n", cpu, std::strerror(errno));
        std::exit(1);
    }
    int64_t due = now_ns() + kGridNs;
    for (;;) {
        timespec ts = to_timespec(due);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
        }
        int64_t late = now_ns() - due;
        if (late >= pause_ns) {
            // One write per line: the lines of two CPUs never interleave.
            std::printf("{\"cpu\": %d, \"at_ns\": %lld, \"late_ns\": %lld}\n", cpu,
                        static_cast<long long>(due), static_cast<long long>(late));
            std::fflush(stdout);
        }
        // The next wakeup on the grid after now: a pause is reported once, not once per
        // grid point it covered.
        due += ((late / kGridNs) + 1) * kGridNs;
    }
}

}  // namespace

int main(int argc, char** argv) {
    int64_t pause_ms = argc > 1 ? std::atoll(argv[1]) : 30;
    if (pause_ms <= 0) {
        std::fprintf(stderr, "usage: framepace-bench-pauses [PAUSE_MS > 0]\n");
        return 2;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // inherited by the watchers; main waits below
    std::vector<std::thread> watchers;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    for (int cpu = 0; cpu < cpus; cpu++)
        watchers.emplace_back(watch, cpu, pause_ms * 1'000'000);
    std::printf("{\"ready\": %ld}\n", cpus);
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    std::_Exit(0);  // the watchers never return; nothing to flush but stdout, done per line
}
