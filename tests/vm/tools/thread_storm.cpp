// framepace-vm-threads: TOTAL short-lived threads, 64 alive at a time, each doing a few µs of
// work. Prints one JSON line with how many were created and how many creations failed (a
// scheduler that cannot set up task state fails the fork).
//   framepace-vm-threads TOTAL
#include <pthread.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>

namespace {

void* work(void* arg) {
    unsigned sum = 0;
    for (unsigned i = 0; i < 2000; i++)
        sum = sum + i;
    // Keeps the loop: the result leaves through an asm barrier the compiler cannot see past.
    asm volatile("" : : "r"(sum));
    return arg;
}

double now_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: framepace-vm-threads TOTAL\n");
        return 2;
    }
    long total = std::atol(argv[1]);
    long created = 0, failed = 0;
    double start = now_s();
    while (created + failed < total) {
        pthread_t batch[64];
        int n = 0;
        for (; n < 64 && created + failed < total; n++) {
            if (pthread_create(&batch[n], nullptr, work, nullptr) != 0) {
                failed++;
                n--;
                continue;
            }
            created++;
        }
        for (int i = 0; i < n; i++)
            pthread_join(batch[i], nullptr);
    }
    std::printf("{\"created\":%ld,\"failed\":%ld,\"seconds\":%.2f}\n", created, failed,
                now_s() - start);
    return failed == 0 ? 0 : 1;
}
