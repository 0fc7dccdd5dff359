// framepaced's lifecycle: find a kept scheduler and adopt it, or load one; keep it across
// restarts; heartbeat, watch and report on it; reload it with back-off if the kernel ejects
// it; detach on request. One sd-event loop drives everything.
#pragma once

#include <memory>

#include "daemon/scheduler/event_consumer.h"
#include "common/event_loop.h"
#include "common/expected.h"
#include "daemon/games/game_tracker.h"
#include "framepaced/options.h"
#include "daemon/scheduler/overflow_monitor.h"
#include "daemon/games/rescan_schedule.h"
#include "daemon/scheduler/scheduler_handle.h"
#include "daemon/scheduler/scheduler_keeper.h"
#include "daemon/service/scheduler_service.h"
#include "daemon/system_bus/power_profile_follower.h"
#include "daemon/system_bus/sleep_guard.h"
#include "daemon/system_bus/system_bus.h"
#include "daemon/scheduler/topology.h"
#include "daemon/tunables/store.h"

namespace framepace::varlink {
class Server;
class SchedulerMethods;
}  // namespace framepace::varlink

namespace framepace {

enum ExitStatus : int {
    kExitStopped = 0,      // SIGTERM/SIGINT: scheduler detached cleanly
    kExitLoadFailed = 1,
    kExitEjected = 2,      // the kernel disabled the scheduler and --no-reload was given
};

class Daemon final : public SchedulerService {
public:
    static Expected<std::unique_ptr<Daemon>> start(const Options& options);
    ~Daemon() override;

    // Runs until stopped; returns the process exit status.
    int run();

    // SchedulerService
    SchedulerHandle* scheduler() override;
    std::optional<ExitInfo> last_exit() const override { return last_exit_; }
    uint64_t started_usec() const override { return started_usec_; }
    fp_tunables tunables() const override { return tunables_; }
    EventCounts event_counts() const override;
    TunableSource tunable_source(size_t index) const override { return layers_.source(index); }
    Status set_tunables(const TunableOverrides& values, bool persist) override;
    Status reset_tunables() override;
    PowerProfileView power_profile() const override;
    std::vector<ClassifiedProcess> classified_processes() const override;
    Status mark_game(uint32_t pid) override { return tracker_.mark_game(pid); }
    Status unmark_game(uint32_t pid) override { return tracker_.unmark_game(pid); }

private:
    explicit Daemon(const Options& options);

    // Defaults, stored choices and the command line, in layers_.
    fp_tunables initial_tunables();
    // Writes layers_' result to the scheduler (if attached) and logs the change.
    Status apply_layers(const std::string& why);
    void apply_layers_or_log(const std::string& why);
    // Power profiles and suspend/resume (daemon_system_bus.cpp); the daemon runs on without.
    void connect_system_bus();
    void on_power_profile(const std::optional<ActiveProfile>& active);
    void before_sleep();
    void after_resume(uint64_t slept_usec);
    // Adopts the kept scheduler if it is a compatible framepace; detaches it otherwise.
    bool try_adopt(const KeptFds& kept);
    void report_unseen_exit(const KeptFds& kept);
    Status load_fresh(uint64_t generation);
    Status add_event_sources();
    Status serve_varlink(PassedFds& passed);
    void log_counters();
    void stop(int status);
    // True when the kernel has disabled the scheduler (ops.exit ran without our detach).
    bool check_ejected();
    void schedule_reload();
    // Events and overflow watching for the scheduler now in scheduler_.
    Status watch_scheduler();
    // Whether the rings were written to (or dropped) since the last call.
    bool report_overflows();
    void arm_overflow_tick();
    uint64_t events_lost(const SchedulerHandle::RingTotals& rings) const;
    void start_rescan(uint64_t lost_total);
    void report_rescan(const GameTracker::Reconciled& counts);
    uint64_t heartbeat_period_usec() const;
    void rearm_heartbeat();
    void on_event(const Event& event);

    static int on_signal(sd_event_source* source, const struct signalfd_siginfo* info,
                         void* userdata);
    static int on_link_event(sd_event_source* source, int fd, uint32_t revents, void* userdata);
    static int on_heartbeat(sd_event_source* source, uint64_t usec, void* userdata);
    static int on_stats_timer(sd_event_source* source, uint64_t usec, void* userdata);
    static int on_reload_timer(sd_event_source* source, uint64_t usec, void* userdata);
    static int on_overflow_tick(sd_event_source* source, uint64_t usec, void* userdata);
    static int on_rescan_step(sd_event_source* source, void* userdata);

    Options options_;
    TunablesStore store_;
    SchedulerKeeper keeper_;
    Topology topology_;
    fp_tunables tunables_{};
    TunableLayers layers_;
    PresetTable presets_;
    uint64_t started_usec_ = 0;
    uint64_t attached_usec_ = 0;       // when the current scheduler attached (back-off reset)
    uint64_t reload_delay_usec_ = 0;   // next back-off step
    std::optional<ExitInfo> last_exit_;
    EventLoop loop_;
    std::unique_ptr<SchedulerHandle> scheduler_;
    std::unique_ptr<EventConsumer> consumer_;
    EventCounts consumed_before_;      // by consumers of earlier schedulers
    uint64_t offered_at_tick_ = 0;     // events written and dropped, at the last overflow tick
    OverflowMonitor overflow_;
    GameTracker tracker_;
    RescanSchedule rescan_;            // makes up for lost exec and exit events
    struct RescanRun {                 // the rescan under way, or the last one
        uint64_t started_usec = 0;
        uint64_t lost_total = 0;
        uint64_t steps = 0;
        uint64_t longest_step_usec = 0;
    } rescan_run_;
    std::optional<uint64_t> rescan_next_lost_;  // a rescan is due once the one under way ends
    // After loop_: they detach from it when destroyed. The guard and the follower call into
    // the bus, so they go first.
    std::unique_ptr<SystemBus> bus_;
    std::unique_ptr<PowerProfileFollower> profiles_;
    std::unique_ptr<SleepGuard> sleep_guard_;
    std::unique_ptr<varlink::SchedulerMethods> methods_;
    std::unique_ptr<varlink::Server> varlink_;
    EventSource sigterm_, sigint_, link_watch_, heartbeat_timer_, stats_timer_, reload_timer_,
        overflow_timer_, rescan_step_;
    int exit_status_ = kExitStopped;
};

}  // namespace framepace
