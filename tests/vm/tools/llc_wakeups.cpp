// framepace-vm-llc-wakeups: where do woken tasks run on a machine with several last-level
// caches? Reads each CPU's L3 from sysfs, optionally pins one CPU hog to the first CPU of
// every LLC, and runs ping-pong pairs of unpinned threads over pipes, each doing a little
// work per wake (more threads than CPUs: a task's previous CPU is often busy, and the
// scheduler chooses where it goes). After every wakeup a
// thread compares the CPU it runs on with the one it ran on before: the same, another in the
// same LLC, or one in another LLC. Prints one JSON object with the totals.
//   framepace-vm-llc-wakeups [SECONDS] [PAIRS] [HOGS: 1 = a hog per LLC]
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

// The L3 sharing list of a CPU as an id: its first CPU ("0-1" -> 0, "2-3" -> 2).
int llc_of(int cpu) {
    std::ifstream in("/sys/devices/system/cpu/cpu" + std::to_string(cpu) +
                     "/cache/index3/shared_cpu_list");
    int first = -1;
    if (!(in >> first))
        return 0;  // no L3 reported: one LLC
    return first;
}

void spin_ns(uint64_t ns) {
    uint64_t end = now_ns() + ns;
    while (now_ns() < end) {
    }
}

struct Tally {
    std::atomic<uint64_t> wakeups{0}, same_cpu{0}, within_llc{0}, across_llc{0};
};

std::vector<int> cpu_llc;
std::atomic<bool> stop{false};
Tally tally;

void note(int& last_cpu) {
    int cpu = sched_getcpu();
    tally.wakeups++;
    if (cpu == last_cpu)
        tally.same_cpu++;
    else if (cpu_llc[size_t(cpu)] == cpu_llc[size_t(last_cpu)])
        tally.within_llc++;
    else
        tally.across_llc++;
    last_cpu = cpu;
}

// One side of a pair: wait for a byte, work 200 us, pass it back.
void player(int in, int out, bool serve) {
    char byte = 0;
    int last_cpu = sched_getcpu();
    if (serve && write(out, &byte, 1) != 1)
        return;
    while (!stop.load(std::memory_order_relaxed)) {
        if (read(in, &byte, 1) != 1)
            return;
        note(last_cpu);
        spin_ns(200'000);
        if (write(out, &byte, 1) != 1)
            return;
    }
}

void hog(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    while (!stop.load(std::memory_order_relaxed)) {
    }
}

}  // namespace

int main(int argc, char** argv) {
    int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
    int pairs = argc > 2 ? std::atoi(argv[2]) : 3;
    bool hogs = argc > 3 && std::atoi(argv[3]) != 0;
    int nr_cpus = int(sysconf(_SC_NPROCESSORS_ONLN));
    std::set<int> llcs;
    for (int cpu = 0; cpu < nr_cpus; cpu++) {
        cpu_llc.push_back(llc_of(cpu));
        llcs.insert(cpu_llc.back());
    }
    std::vector<std::thread> threads;
    if (hogs)
        for (int llc : llcs)
            threads.emplace_back(hog, llc);
    std::vector<int> fds;
    for (int i = 0; i < pairs; i++) {
        int ab[2], ba[2];
        if (pipe(ab) || pipe(ba))
            return 1;
        fds.insert(fds.end(), {ab[0], ab[1], ba[0], ba[1]});
        threads.emplace_back(player, ba[0], ab[1], true);
        threads.emplace_back(player, ab[0], ba[1], false);
    }
    sleep(unsigned(seconds));
    stop = true;
    for (int fd : fds)
        close(fd);
    for (auto& t : threads)
        t.join();
    std::printf(
        "{\"cpus\":%d,\"llcs\":%zu,\"pairs\":%d,\"seconds\":%d,\"wakeups\":%llu,"
        "\"same_cpu\":%llu,\"within_llc\":%llu,\"across_llc\":%llu}\n",
        nr_cpus, llcs.size(), pairs, seconds, (unsigned long long)tally.wakeups.load(),
        (unsigned long long)tally.same_cpu.load(), (unsigned long long)tally.within_llc.load(),
        (unsigned long long)tally.across_llc.load());
    return 0;
}
