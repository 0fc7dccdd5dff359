// Event ring benchmark on the host kernel (real BPF, real rings, real consumer; no
// sched_ext needed):
//  1. cost per produced event: fp_test_fill_ring of the test BPF object (tests/bpf) through
//     the scheduler's own reserve path, into a ring (reserve + fill + submit) and into a slot
//     with no ring (the drop path), timed by BPF_PROG_TEST_RUN;
//  2. consumer throughput: a full default-size ring decoded by EventConsumer, repeated.
// Prints one JSON object. Run as root: build/bench/framepace_bench_events
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <chrono>
#include <cstdio>

#include "daemon/scheduler/event_consumer.h"
#include "bpf/framepace_shared.h"
#include "common/unique_fd.h"
#include "tests/bpf/test_object.h"

using namespace framepace;

namespace {

// Mean ns per attempted event for `count` reserves into `ring`.
double fill_ns_per_event(framepace_test_bpf* skel, uint32_t ring, uint32_t count,
                         uint32_t* failed) {
    fp_fill_probe probe{};
    probe.ring = ring;
    probe.count = count;
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.ctx_in = &probe;
    opts.ctx_size_in = sizeof(probe);
    auto start = std::chrono::steady_clock::now();
    bpf_prog_test_run_opts(bpf_program__fd(skel->progs.fp_test_fill_ring), &opts);
    auto ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    if (failed)
        *failed = probe.failed;
    return ns / count;
}

UniqueFd install_ring(framepace_test_bpf* skel, uint32_t index, uint32_t bytes) {
    UniqueFd ring(bpf_map_create(BPF_MAP_TYPE_RINGBUF, "bench_ring", 0, 0, bytes, nullptr));
    int fd = ring.get();
    bpf_map_update_elem(bpf_map__fd(skel->maps.rings), &index, &fd, BPF_ANY);
    return ring;
}

}  // namespace

int main() {
    auto object = testing::load_test_object();
    if (!object) {
        std::fprintf(stderr, "%s (root needed)\n", object.error().message.c_str());
        return 1;
    }
    framepace_test_bpf* skel = object->get();

    // 1. Cost: a 64 MiB ring takes every event of the run; slot 9 has no ring (drop path).
    UniqueFd big = install_ring(skel, 0, 64u << 20);
    uint32_t failed = 0;
    const uint32_t n = 200000;
    fill_ns_per_event(skel, 0, 1000, nullptr);  // warm up
    double with_ring = fill_ns_per_event(skel, 0, n, &failed);
    double dropped_path = fill_ns_per_event(skel, 9, n, nullptr);

    // 2. Consumer throughput: fill the default-size ring, time how long EventConsumer takes to
    // decode all of it, repeat. The producer side is far faster (part 1), so this is the
    // rate the daemon sustains before drops start.
    UniqueFd ring = install_ring(skel, 1, FP_RING_BYTES_DEFAULT);
    sd_event* raw = nullptr;
    sd_event_new(&raw);
    EventLoop loop(raw);
    int fd = ring.get();
    auto consumer = EventConsumer::create(loop.get(), std::span<const int>(&fd, 1), 0);
    if (!consumer)
        return 1;
    double drain_seconds = 0;
    uint64_t drained = 0;
    for (int round = 0; round < 200; round++) {
        uint32_t f = 0;
        fill_ns_per_event(skel, 1, FP_RING_BYTES_DEFAULT / sizeof(fp_event), &f);
        auto t0 = std::chrono::steady_clock::now();
        // drain() is one bounded turn of the event loop: as many turns as the full ring needs.
        DrainTurn turn;
        do {
            turn = (*consumer)->drain();
            drained += turn.records;
        } while (turn.more && turn.error == 0);
        drain_seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }

    std::printf(
        "{\"ns_per_event_into_ring\": %.1f, \"ns_per_event_dropped\": %.1f, "
        "\"ring_vs_drop_ratio\": %.2f, \"failed_in_cost_run\": %u, "
        "\"consumer_events_per_sec\": %.0f, \"events_drained\": %llu}\n",
        with_ring, dropped_path, with_ring / dropped_path, failed, drained / drain_seconds,
        static_cast<unsigned long long>(drained));
    return 0;
}
