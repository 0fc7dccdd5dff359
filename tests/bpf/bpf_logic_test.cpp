// The scheduler's BPF on the host kernel, which has BPF but no sched_ext: the test object
// (tests/bpf/framepace_test.bpf.c, the scheduler plus test programs) loads with the
// struct_ops map and the scheduler programs switched off, and the scheduler's own helpers
// run through BPF_PROG_TEST_RUN. The shipped object is checked to hold no test program, to
// load the same way, and to take a test program onto its maps as the VM probe does.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>
#include <unistd.h>

#include "bpf/framepace_shared.h"  // before the skeletons, which name its structs
#include "bpf/framepace.skel.h"
#include "daemon/scheduler/event_consumer.h"
#include "daemon/scheduler/overflow_monitor.h"
#include "daemon/scheduler/scheduler_handle.h"
#include "daemon/tunables/tunables.h"
#include "common/unique_fd.h"
#include "kernel_types.h"  // for bpf/policy.h (FP_CLAMP_*)
#include "bpf/policy.h"
#include "tests/bpf/test_object.h"

using framepace::testing::TestObject;

namespace {

class BpfLogic : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "loading BPF needs root";
        auto object = framepace::testing::load_test_object();
        ASSERT_TRUE(object) << object.error().message
                            << " (the object must load on a kernel without sched_ext)";
        skel_ = std::move(*object);
    }

    template <typename T>
    int run(bpf_program* prog, T& ctx) {
        auto ret = framepace::testing::run_test_program(prog, &ctx, sizeof(ctx));
        EXPECT_TRUE(ret) << ret.error().message;
        return ret ? *ret : -1;
    }

    fp_vtime_probe vtime(uint64_t now, uint64_t task, uint64_t budget, uint64_t used,
                         uint32_t weight, bool waking = true, uint64_t lag = 1ULL << 62,
                         uint64_t slept = 0) {
        fp_vtime_probe probe{};
        probe.slept_ns = slept;
        probe.vtime_now = now;
        probe.task_vtime = task;
        probe.budget_ns = budget;
        probe.lag_limit_ns = lag;
        probe.used_ns = used;
        probe.weight = weight;
        probe.waking = waking;
        run(skel_->progs.fp_test_vtime, probe);
        return probe;
    }

    uint32_t role(uint32_t class_id, uint32_t weight, uint64_t avg_run, uint64_t avg_wake,
                  uint64_t game_wakeup_age = UINT64_MAX, uint64_t runnable_pct = 0,
                  uint32_t role_now = FP_ROLE_NORMAL) {
        fp_role_probe probe{};
        probe.class_id = class_id;
        probe.role_now = role_now;
        probe.weight = weight;
        probe.avg_run_ns = avg_run;
        probe.avg_wake_ns = avg_wake;
        probe.runnable_pct = runnable_pct;
        probe.game_wakeup_age_ns = game_wakeup_age;
        run(skel_->progs.fp_test_role, probe);
        return probe.role;
    }

    uint64_t deadline(uint64_t vtime, uint64_t vtime_now, uint32_t role, bool boosted) {
        fp_deadline_probe probe{};
        probe.vtime = vtime;
        probe.vtime_now = vtime_now;
        probe.role = role;
        probe.boosted = boosted;
        run(skel_->progs.fp_test_deadline, probe);
        return probe.deadline;
    }

    TestObject skel_;
};

constexpr uint64_t kMs = 1'000'000;

}  // namespace

// The defaults: critical below 2 ms runs and 50 ms wake intervals; batch when still runnable
// at 90 % of its stops; interactive below 1 ms runs.
TEST_F(BpfLogic, GameThreadsAreCriticalOnlyWhenTheyWakeOftenAndRunBriefly) {
    EXPECT_EQ(role(FP_CLASS_GAME, 100, 1 * kMs, 8 * kMs), FP_ROLE_GAME_CRITICAL);   // render
    EXPECT_EQ(role(FP_CLASS_GAME, 100, 5 * kMs, 8 * kMs), FP_ROLE_GAME);            // long runs
    EXPECT_EQ(role(FP_CLASS_GAME, 100, 1 * kMs, 200 * kMs), FP_ROLE_GAME);          // rare
    // A game that hogs and runs at nice 5 is still the game.
    EXPECT_EQ(role(FP_CLASS_GAME, 50, 3 * kMs, FP_BEHAVIOUR_NS_MAX), FP_ROLE_GAME);
}

TEST_F(BpfLogic, AGameThreadStaysCriticalUpToAQuarterPastTheBound) {
    // A logic tick whose mean run hovers around critical_run_ns (2 ms) keeps its role.
    const uint64_t hover = 2'300'000, wake = 16 * kMs;
    EXPECT_EQ(role(FP_CLASS_GAME, 100, hover, wake, UINT64_MAX, 0, FP_ROLE_GAME_CRITICAL),
              FP_ROLE_GAME_CRITICAL);
    EXPECT_EQ(role(FP_CLASS_GAME, 100, hover, wake, UINT64_MAX, 0, FP_ROLE_GAME), FP_ROLE_GAME);
    // Past a quarter more it is a game thread; under the bound it becomes critical again.
    EXPECT_EQ(role(FP_CLASS_GAME, 100, 2'500'000, wake, UINT64_MAX, 0, FP_ROLE_GAME_CRITICAL),
              FP_ROLE_GAME);
    EXPECT_EQ(role(FP_CLASS_GAME, 100, 1'900'000, wake, UINT64_MAX, 0, FP_ROLE_GAME),
              FP_ROLE_GAME_CRITICAL);
}

TEST_F(BpfLogic, CompositorAndAudioGoByClassWhateverTheyDo) {
    EXPECT_EQ(role(FP_CLASS_COMPOSITOR, 100, 50 * kMs, 1000 * kMs), FP_ROLE_COMPOSITOR);
    EXPECT_EQ(role(FP_CLASS_AUDIO, 10, 0, 0), FP_ROLE_AUDIO);
}

TEST_F(BpfLogic, UnclassifiedTasksGoByBehaviourAndNice) {
    EXPECT_EQ(role(FP_CLASS_NONE, 100, 2'900'000, 100 * kMs, UINT64_MAX, 95), FP_ROLE_BATCH);
    // A hog preempted into short runs is still batch: it never sleeps.
    EXPECT_EQ(role(FP_CLASS_NONE, 100, 300'000, 100 * kMs, UINT64_MAX, 90), FP_ROLE_BATCH);
    EXPECT_EQ(role(FP_CLASS_NONE, 100, 5'300'000, 100 * kMs, UINT64_MAX, 89), FP_ROLE_NORMAL);
    EXPECT_EQ(role(FP_CLASS_NONE, 36, 10'000, 1 * kMs), FP_ROLE_BATCH);        // nice > 0
    EXPECT_EQ(role(FP_CLASS_NONE, 100, 200'000, 10 * kMs), FP_ROLE_INTERACTIVE);
    EXPECT_EQ(role(FP_CLASS_NONE, 100, 1'500'000, 10 * kMs), FP_ROLE_NORMAL);
}

TEST_F(BpfLogic, AHelperTheGameKeepsWakingWorksForTheGame) {
    EXPECT_EQ(role(FP_CLASS_NONE, 100, 1'500'000, 10 * kMs, 5 * kMs), FP_ROLE_GAME);
    EXPECT_EQ(role(FP_CLASS_NONE, 100, 1'500'000, 10 * kMs, 80 * kMs), FP_ROLE_NORMAL);
    // ... unless it is batch work: nice > 0 wins.
    EXPECT_EQ(role(FP_CLASS_NONE, 36, 1'500'000, 10 * kMs, 5 * kMs), FP_ROLE_BATCH);
}

TEST_F(BpfLogic, RoleTunablesChangeTheClassification) {
    fp_tunables t = framepace::default_tunables();
    t.critical_run_ns = 10 * kMs;
    t.batch_runnable_pct = 50;
    uint32_t key = 0;
    ASSERT_EQ(bpf_map__update_elem(skel_->maps.tunables, &key, sizeof(key), &t, sizeof(t), 0), 0);
    EXPECT_EQ(role(FP_CLASS_GAME, 100, 5 * kMs, 8 * kMs), FP_ROLE_GAME_CRITICAL);
    EXPECT_EQ(role(FP_CLASS_NONE, 100, 1'600'000, 100 * kMs, UINT64_MAX, 60), FP_ROLE_BATCH);
}

TEST_F(BpfLogic, DeadlinesOrderRolesWithinABoundAndBoostGoesFirst) {
    const uint64_t vtime = 500 * kMs, now = 500 * kMs;
    EXPECT_EQ(deadline(vtime, now, FP_ROLE_GAME_CRITICAL, false), vtime);
    EXPECT_EQ(deadline(vtime, now, FP_ROLE_NORMAL, false), vtime + 4 * kMs);
    EXPECT_EQ(deadline(vtime, now, FP_ROLE_BATCH, false), vtime + 12 * kMs);
    EXPECT_LT(deadline(vtime, now, FP_ROLE_GAME, false),
              deadline(vtime, now, FP_ROLE_NORMAL, false));
    // Boosted: the earliest time a sleeper may claim (vtime_now - sleep budget), never earlier.
    EXPECT_EQ(deadline(vtime + 50 * kMs, now, FP_ROLE_GAME, true),
              now - FP_SLEEP_BUDGET_NS_DEFAULT);
    // An out-of-range role is treated as normal.
    EXPECT_EQ(deadline(vtime, now, 99, false), vtime + 4 * kMs);
}

TEST_F(BpfLogic, SleeperBudgetIsBounded) {
    auto p = vtime(/*now*/ 100'000'000, /*task*/ 10'000'000, /*budget*/ 3'000'000, 0, 100);
    EXPECT_EQ(p.clamped, unsigned(FP_CLAMP_SLEEP));
    EXPECT_EQ(p.enqueue_vtime, 97'000'000u);
}

TEST_F(BpfLogic, ARunnableHeavyTaskKeepsItsLag) {
    // Not waking: a game or nice -5 task that fell behind keeps its larger share.
    auto p = vtime(100'000'000, 10'000'000, 3'000'000, 0, 100, /*waking*/ false);
    EXPECT_EQ(p.clamped, unsigned(FP_CLAMP_NONE));
    EXPECT_EQ(p.enqueue_vtime, 10'000'000u);
}

TEST_F(BpfLogic, NobodyRunsAheadMoreThanTheLagLimit) {
    // A nice-19 task charged 100x for a 6 ms run is pulled back to 40 ms ahead.
    auto p = vtime(100'000'000, 700'000'000, 3'000'000, 0, 1, false, 40'000'000);
    EXPECT_EQ(p.clamped, unsigned(FP_CLAMP_LAG));
    EXPECT_EQ(p.enqueue_vtime, 140'000'000u);
    auto woken = vtime(100'000'000, 700'000'000, 3'000'000, 0, 1, true, 40'000'000);
    EXPECT_EQ(woken.enqueue_vtime, 140'000'000u);
    auto within = vtime(100'000'000, 130'000'000, 3'000'000, 0, 1, false, 40'000'000);
    EXPECT_EQ(within.clamped, unsigned(FP_CLAMP_NONE));
}

TEST_F(BpfLogic, RecentTaskKeepsItsVtime) {
    auto p = vtime(100'000'000, 98'000'000, 3'000'000, 0, 100);
    EXPECT_EQ(p.clamped, unsigned(FP_CLAMP_NONE));
    EXPECT_EQ(p.enqueue_vtime, 98'000'000u);
    auto ahead = vtime(100'000'000, 150'000'000, 3'000'000, 0, 100);
    EXPECT_EQ(ahead.enqueue_vtime, 150'000'000u);
}

TEST_F(BpfLogic, ASleeperAheadGoesBackByItsSleepToTheBound) {
    // 2 ms ahead of the clock, asleep 1.5 ms: 0.5 ms ahead; asleep 6 ms: the bound.
    auto part = vtime(100'000'000, 102'000'000, 3'000'000, 0, 100, true, 1ULL << 62, 1'500'000);
    EXPECT_EQ(part.clamped, unsigned(FP_CLAMP_NONE));
    EXPECT_EQ(part.enqueue_vtime, 100'500'000u);
    auto all = vtime(100'000'000, 102'000'000, 3'000'000, 0, 100, true, 1ULL << 62, 6'000'000);
    EXPECT_EQ(all.clamped, unsigned(FP_CLAMP_SLEEP));
    EXPECT_EQ(all.enqueue_vtime, 97'000'000u);
    // Not a wakeup: the sleep is nothing to it.
    auto runnable =
        vtime(100'000'000, 102'000'000, 3'000'000, 0, 100, false, 1ULL << 62, 6'000'000);
    EXPECT_EQ(runnable.enqueue_vtime, 102'000'000u);
}

TEST_F(BpfLogic, BoundHoldsAcrossWrapAtStart) {
    // Right after load vtime_now is small; now - budget wraps and must not clamp.
    auto p = vtime(1'000, 0, 3'000'000, 0, 100);
    EXPECT_EQ(p.clamped, unsigned(FP_CLAMP_NONE));
    EXPECT_EQ(p.enqueue_vtime, 0u);
}

TEST_F(BpfLogic, ChargeHonoursWeight) {
    EXPECT_EQ(vtime(0, 1'000, 0, 4'000'000, 100).charged_vtime, 4'001'000u);  // nice 0
    EXPECT_EQ(vtime(0, 0, 0, 4'000'000, 200).charged_vtime, 2'000'000u);  // heavier
    EXPECT_EQ(vtime(0, 0, 0, 4'000'000, 10).charged_vtime, 40'000'000u);  // lighter
    EXPECT_EQ(vtime(0, 0, 0, 4'000'000, 0).charged_vtime, 4'000'000u);  // defensive
}

TEST_F(BpfLogic, TunablesMapIsWhatTheSchedulerReads) {
    fp_tunables seen{};
    run(skel_->progs.fp_test_tunables, seen);
    EXPECT_EQ(seen.role_slice_ns[FP_ROLE_NORMAL], FP_SLICE_NS_DEFAULT)
        << "unwritten map falls back to defaults";

    fp_tunables wanted{};
    wanted.role_slice_ns[FP_ROLE_NORMAL] = 1'234'000;
    wanted.sleep_budget_ns = 567'000;
    uint32_t key = 0;
    ASSERT_EQ(bpf_map__update_elem(skel_->maps.tunables, &key, sizeof(key), &wanted, sizeof(wanted),
                                   BPF_ANY),
              0);
    run(skel_->progs.fp_test_tunables, seen);
    EXPECT_EQ(seen.role_slice_ns[FP_ROLE_NORMAL], 1'234'000u);
    EXPECT_EQ(seen.sleep_budget_ns, 567'000u);
}

TEST_F(BpfLogic, ExitRecordStartsEmpty) { EXPECT_EQ(skel_->bss->exit_info.kind, 0); }

namespace {

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

// A counter summed over CPUs, as framepaced sums it: a scheduler's slots and counters map.
template <typename Skeleton>
uint64_t counter_sum(const Skeleton& skel, fp_counter idx) {
    int nr = libbpf_num_possible_cpus();
    std::vector<fp_cpu_counters> per_cpu(static_cast<size_t>(nr));
    uint32_t key = 0;
    EXPECT_EQ(bpf_map__lookup_elem(skel.maps.counters, &key, sizeof(key), per_cpu.data(),
                                   per_cpu.size() * sizeof(fp_cpu_counters), 0),
              0);
    return framepace::sum_counters(skel.bss->cpu_slots, per_cpu)[idx];
}

}  // namespace

class BoostGate : public BpfLogic {
protected:
    int request_boost() {
        auto ret = framepace::testing::run_test_program(skel_->progs.fp_test_boost);
        EXPECT_TRUE(ret) << ret.error().message;
        return ret ? *ret : -1;
    }
    uint64_t counter(fp_counter idx) { return counter_sum(*skel_, idx); }
    // The scheduler's clock, fp_now(): the runqueue's where scx_bpf_now exists, else
    // bpf_ktime_get_ns. The window's end is on it; the heartbeat is on CLOCK_MONOTONIC.
    uint64_t scheduler_now() {
        fp_clock_probe probe{};
        auto ret =
            framepace::testing::run_test_program(skel_->progs.fp_test_clock, &probe, sizeof(probe));
        EXPECT_TRUE(ret) << ret.error().message;
        return probe.now_ns;
    }
    uint64_t window_ns() {
        fp_tunables t{};
        EXPECT_TRUE(
            framepace::testing::run_test_program(skel_->progs.fp_test_tunables, &t, sizeof(t)));
        return t.boost_window_ns;
    }
};

TEST_F(BoostGate, NoHeartbeatYetRefuses) {
    EXPECT_EQ(request_boost(), 0);
    EXPECT_EQ(counter(FP_CNT_BOOST_REFUSED), 1u);
    EXPECT_EQ(counter(FP_CNT_BOOST_OPENED), 0u);
}

TEST_F(BoostGate, FreshHeartbeatOpensAndStaleRefuses) {
    skel_->bss->heartbeat_ns = monotonic_ns();
    uint64_t before = scheduler_now();
    EXPECT_EQ(request_boost(), 1);
    uint64_t after = scheduler_now();
    // A window of boost_window_ns from the request, on the scheduler's clock.
    EXPECT_GE(skel_->bss->boost_until_ns, before + window_ns());
    EXPECT_LE(skel_->bss->boost_until_ns, after + window_ns());
    EXPECT_EQ(counter(FP_CNT_BOOST_OPENED), 1u);

    skel_->bss->boost_until_ns = 0;  // window over
    skel_->bss->heartbeat_ns = monotonic_ns() - 6'000'000'000ULL;  // older than the 5 s default
    EXPECT_EQ(request_boost(), 0);
    EXPECT_EQ(counter(FP_CNT_BOOST_REFUSED), 1u);
}

TEST_F(BoostGate, AnOpenWindowExtendsWhileTheHeartbeatIsFresh) {
    skel_->bss->heartbeat_ns = monotonic_ns();
    ASSERT_EQ(request_boost(), 1);
    uint64_t first_end = skel_->bss->boost_until_ns;
    EXPECT_EQ(request_boost(), 1);
    EXPECT_GE(skel_->bss->boost_until_ns, first_end);
    EXPECT_EQ(counter(FP_CNT_BOOST_REFUSED), 0u);
}

// Held keys or a stream of mouse events must not keep a window open after the daemon died.
TEST_F(BoostGate, AnOpenWindowIsNotExtendedOnAStaleHeartbeat) {
    skel_->bss->heartbeat_ns = monotonic_ns();
    ASSERT_EQ(request_boost(), 1);
    uint64_t first_end = skel_->bss->boost_until_ns;
    skel_->bss->heartbeat_ns = 1;  // stale now, while the window is still open
    EXPECT_EQ(request_boost(), 0);
    EXPECT_EQ(skel_->bss->boost_until_ns, first_end);
    EXPECT_EQ(counter(FP_CNT_BOOST_REFUSED), 1u);
}

// The real ring path: a 4 KiB ring filled through the scheduler's own reserve code.
class RingFill : public BpfLogic {
protected:
    void install_ring(uint32_t index, uint32_t bytes) {
        ring_.reset(bpf_map_create(BPF_MAP_TYPE_RINGBUF, "test_ring", 0, 0, bytes, nullptr));
        ASSERT_TRUE(ring_.valid());
        int fd = ring_.get();
        ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.rings), &index, &fd, BPF_ANY), 0);
    }
    fp_fill_probe fill(uint32_t ring, uint32_t count) {
        fp_fill_probe probe{};
        probe.ring = ring;
        probe.count = count;
        run(skel_->progs.fp_test_fill_ring, probe);
        return probe;
    }
    std::pair<uint64_t, uint64_t> produced_dropped(uint32_t ring) {
        int nr = libbpf_num_possible_cpus();
        std::vector<fp_ring_counters> per_cpu(static_cast<size_t>(nr));
        uint32_t key = 0;
        EXPECT_EQ(bpf_map__lookup_elem(skel_->maps.ring_counters, &key, sizeof(key), per_cpu.data(),
                                       per_cpu.size() * sizeof(per_cpu[0]), 0),
                  0);
        uint64_t produced = 0, dropped = 0;
        for (const auto& c : per_cpu) {
            produced += c.produced[ring];
            dropped += c.dropped[ring];
        }
        return {produced, dropped};
    }
    framepace::UniqueFd ring_;
};

TEST_F(RingFill, DropCounterEqualsFailedReservesExactly) {
    install_ring(5, 4096);
    auto probe = fill(5, 100);
    auto [produced, dropped] = produced_dropped(5);
    EXPECT_GT(probe.failed, 0u);
    EXPECT_EQ(dropped, probe.failed);
    EXPECT_EQ(produced + dropped, 100u);
    // 4096 bytes hold 4096 / (sizeof(fp_event) + 8-byte header) records.
    EXPECT_EQ(produced, 4096 / (sizeof(fp_event) + 8));
    auto [other_produced, other_dropped] = produced_dropped(4);
    EXPECT_EQ(other_produced + other_dropped, 0u);
}

TEST_F(RingFill, AMissingRingCountsEveryEventAsDropped) {
    auto probe = fill(7, 25);
    EXPECT_EQ(probe.failed, 25u);
    EXPECT_EQ(produced_dropped(7).second, 25u);
}

TEST_F(RingFill, OverflowMonitorAlertsOnTheRealCounters) {
    install_ring(2, 4096);
    framepace::OverflowMonitor monitor;
    std::vector<uint64_t> totals(FP_NR_RINGS, 0);
    uint64_t now = 5'000'000;
    EXPECT_TRUE(monitor.sample(now, totals).empty());
    auto probe = fill(2, 200);
    totals[2] = produced_dropped(2).second;
    auto alerts = monitor.sample(now + 100'000, totals);
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0].ring, 2u);
    EXPECT_EQ(alerts[0].dropped_in_window, probe.failed);
    EXPECT_EQ(alerts[0].dropped_total, probe.failed);
}

TEST_F(RingFill, ConsumerDecodesEveryRecordTheRingHolds) {
    install_ring(0, 4096);
    int fd = ring_.get();
    sd_event* raw = nullptr;
    ASSERT_GE(sd_event_new(&raw), 0);
    framepace::EventLoop loop(raw);
    std::vector<framepace::Event> seen;
    auto consumer = framepace::EventConsumer::create(
        loop.get(), std::span<const int>(&fd, 1), 0,
        [&seen](const framepace::Event& ev) { seen.push_back(ev); });
    ASSERT_TRUE(consumer) << consumer.error().message;
    auto probe = fill(0, 50);
    const size_t held = 50 - probe.failed;
    ASSERT_GT(held, framepace::kRecordsPerRingPerTurn);
    // One turn takes a bounded share; the rest follows in later turns of the loop without
    // new data arriving (level-triggered epoll, and the consumer's own continuation).
    auto turn = (*consumer)->drain();
    EXPECT_EQ(turn.records, framepace::kRecordsPerRingPerTurn);
    EXPECT_TRUE(turn.more);
    for (int i = 0; i < 100 && seen.size() < held; i++)
        ASSERT_GE(sd_event_run(loop.get(), 0), 0);
    EXPECT_EQ(seen.size(), held);
    EXPECT_EQ((*consumer)->counts().by_type[FP_FILL_EVENT], held);
    EXPECT_EQ((*consumer)->counts().unknown, 0u);
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen[0].type, FP_FILL_EVENT);
}

// The shipped object: the scheduler alone.
namespace {

struct ShippedDeleter {
    void operator()(framepace_bpf* skel) const { framepace_bpf__destroy(skel); }
};
using Shipped = std::unique_ptr<framepace_bpf, ShippedDeleter>;

// The size of the data section (".bss", ".rodata") of an opened object.
size_t section_size(bpf_object* obj, const char* section) {
    bpf_map* map;
    bpf_object__for_each_map(map, obj) {
        std::string name = bpf_map__name(map);
        if (bpf_map__is_internal(map) && name.size() >= std::strlen(section) &&
            name.compare(name.size() - std::strlen(section), std::string::npos, section) == 0)
            return bpf_map__value_size(map);
    }
    return 0;
}

}  // namespace

TEST(ShippedObject, HoldsNoTestProgram) {
    Shipped skel(framepace_bpf__open());
    ASSERT_TRUE(skel);
    bpf_program* prog;
    bpf_object__for_each_program(prog, skel->obj) {
        EXPECT_NE(bpf_program__type(prog), BPF_PROG_TYPE_SYSCALL) << bpf_program__name(prog);
        EXPECT_STRNE(bpf_program__section_name(prog), "syscall") << bpf_program__name(prog);
    }
}

// The VM probe loads fp_test_boost onto the running scheduler's .bss and .rodata: the test
// object must lay them out as the shipped one does.
TEST(ShippedObject, DataSectionsAreTheTestObjectsToo) {
    Shipped shipped(framepace_bpf__open());
    TestObject test(framepace_test_bpf__open());
    ASSERT_TRUE(shipped && test);
    for (const char* section : {".bss", ".rodata", ".data"})
        EXPECT_EQ(section_size(shipped->obj, section), section_size(test->obj, section)) << section;
    EXPECT_EQ(sizeof(*shipped->bss), sizeof(*test->bss));
    EXPECT_EQ(sizeof(*shipped->rodata), sizeof(*test->rodata));
}

// The path of the VM probe's boost command: the shipped scheduler is loaded (as far as the
// host allows), and the test object's fp_test_boost, loaded onto its maps, works on its state.
class TestProgramOnShipped : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "loading BPF needs root";
        shipped_.reset(framepace_bpf__open());
        ASSERT_TRUE(shipped_);
        framepace::testing::switch_off_scheduler(shipped_->obj);
        ASSERT_EQ(framepace_bpf__load(shipped_.get()), 0)
            << "the shipped object must load without sched_ext";
    }

    // The shipped object's maps, as the probe finds the running scheduler's; but `leave_out`.
    // (framepace_ops was not created: its fd is libbpf's placeholder.)
    std::vector<framepace::testing::SchedulerMap> maps(const std::string& leave_out = "") {
        std::vector<framepace::testing::SchedulerMap> found;
        bpf_map* map;
        bpf_object__for_each_map(map, shipped_->obj) {
            if (bpf_map__autocreate(map) && bpf_map__name(map) != leave_out)
                found.push_back({bpf_map__name(map), bpf_map__fd(map)});
        }
        return found;
    }

    // The same maps as a daemon keeps them in the fd store (framepace::KeptFds).
    framepace::KeptFds kept() {
        framepace::KeptFds fds;
        for (const auto& map : maps())
            fds.emplace("map." + map.name, framepace::UniqueFd(dup(map.fd)));
        return fds;
    }

    Shipped shipped_;
};

TEST_F(TestProgramOnShipped, BoostOpensTheShippedSchedulersWindow) {
    auto test = framepace::testing::load_onto_scheduler(maps(), "fp_test_boost");
    ASSERT_TRUE(test) << test.error().message;
    auto boost = [&] {
        auto ret = framepace::testing::run_test_program((*test)->progs.fp_test_boost);
        EXPECT_TRUE(ret) << ret.error().message;
        return ret ? *ret : -1;
    };

    EXPECT_EQ(boost(), 0) << "no heartbeat yet";
    EXPECT_EQ(counter_sum(*shipped_, FP_CNT_BOOST_REFUSED), 1u);

    auto clock = framepace::testing::load_onto_scheduler(maps(), "fp_test_clock");
    ASSERT_TRUE(clock) << clock.error().message;
    fp_clock_probe before{};
    ASSERT_TRUE(framepace::testing::run_test_program((*clock)->progs.fp_test_clock, &before,
                                                     sizeof(before)));
    shipped_->bss->heartbeat_ns = monotonic_ns();
    EXPECT_EQ(boost(), 1);
    // The window ends after the request, on the scheduler's clock (not the heartbeat's).
    EXPECT_GT(shipped_->bss->boost_until_ns, before.now_ns);
    EXPECT_EQ(counter_sum(*shipped_, FP_CNT_BOOST_OPENED), 1u);
}

TEST_F(TestProgramOnShipped, AProgramThatWouldUseAMapOfItsOwnIsRefused) {
    auto test = framepace::testing::load_onto_scheduler(maps("counters"), "fp_test_boost");
    ASSERT_FALSE(test);
    EXPECT_NE(test.error().message.find("not the scheduler's"), std::string::npos)
        << test.error().message;
}

TEST_F(TestProgramOnShipped, OnlyTestProgramsLoad) {
    auto test = framepace::testing::load_onto_scheduler(maps(), "framepace_enqueue");
    EXPECT_FALSE(test);
}

// A scheduler the kernel ejected while no daemon ran: the next daemon reads how it ended from
// the scheduler's own record, as ops.exit wrote it, and reports it.
TEST_F(TestProgramOnShipped, AKeptSchedulersExitIsReadFromItsOwnRecord) {
    auto running = framepace::SchedulerHandle::kept_exit_info(kept());
    ASSERT_TRUE(running) << running.error().message;
    EXPECT_FALSE(*running) << "no exit recorded yet";

    const char reason[] = "watchdog failed to check in for 5.004s";
    std::memcpy(shipped_->bss->exit_info.reason, reason, sizeof(reason));
    shipped_->bss->exit_info.exit_code = 0;
    shipped_->bss->exit_info.kind = FP_EXIT_KIND_ERROR_STALL;
    auto ejected = framepace::SchedulerHandle::kept_exit_info(kept());
    ASSERT_TRUE(ejected) << ejected.error().message;
    ASSERT_TRUE(*ejected);
    EXPECT_EQ((*ejected)->kind, FP_EXIT_KIND_ERROR_STALL);
    EXPECT_EQ((*ejected)->reason, reason);
}

TEST_F(TestProgramOnShipped, AKeptSchedulerWithoutItsDataSectionSaysSo) {
    auto fds = kept();
    std::erase_if(fds, [](const auto& entry) { return entry.first.ends_with(".bss"); });
    auto info = framepace::SchedulerHandle::kept_exit_info(fds);
    ASSERT_FALSE(info);
    EXPECT_NE(info.error().message.find(".bss"), std::string::npos) << info.error().message;
}
