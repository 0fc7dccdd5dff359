#include "framepaced/daemon.h"

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <sys/epoll.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/message_ids.h"
#include "daemon/scheduler/libbpf_log.h"
#include "daemon/scheduler/sched_ext_sysfs.h"
#include "framepaced/watchdog_stretch.h"
#include "varlink/scheduler_methods.h"
#include "varlink/server/varlink_server.h"

namespace framepace {
namespace {

// Reload back-off after an ejection: 1 s, doubling, at most a minute; back to 1 s once a
// scheduler has stayed attached for a minute.
constexpr uint64_t kReloadDelayMinUsec = 1'000'000;
constexpr uint64_t kReloadDelayMaxUsec = 60'000'000;
constexpr uint64_t kStableAfterUsec = 60'000'000;

// How long systemd's watchdog waits while a reload blocks the loop (WatchdogStretch): the
// verifier took up to 5.1 s per load on 6.12 under TCG, well under a second on hardware.
constexpr uint64_t kLoadWatchdogUsec = 60'000'000;

// How often the rings' drop counters are read while events flow (or an alert awaits its
// recovery). Not at all on an idle system: there each wakeup of the daemon delays whatever
// shares its CPU. Traced in the VM, an idle framepaced woke 4-5 times a second for this tick
// and the heartbeat, 1-3 ms each under TCG.
constexpr uint64_t kOverflowTickUsec = 100'000;

// Processes a rescan step reads (GameTracker::reconcile_step): 32 reads of /proc took about
// 20 ms under TCG (a whole rescan of 4,300 processes in one go held the loop 2.6 s).
constexpr size_t kRescanStepProcesses = 32;

// "error: runnable task stall (reason): message", as the ejection entries say it.
std::string exit_text(const ExitInfo& info) {
    return std::string(exit_kind_name(info.kind)) + " (" + info.reason + ")" +
           (info.message.empty() ? "" : ": " + info.message);
}

LogFields exit_fields(const ExitInfo& info) {
    return {
        {"FRAMEPACE_EXIT_KIND", std::to_string(info.kind)},
        {"FRAMEPACE_EXIT_KIND_NAME", std::string(exit_kind_name(info.kind))},
        {"FRAMEPACE_EXIT_CODE", std::to_string(info.exit_code)},
        {"FRAMEPACE_EXIT_REASON", info.reason},
        {"FRAMEPACE_EXIT_MESSAGE", info.message},
    };
}

// Bad rules are an error in the log, not a daemon that will not start: the built-in rules
// still find Steam and Proton games.
std::vector<ClassRule> load_rules(const std::string& path) {
    auto rules = load_class_rules(path);
    if (!rules) {
        log_printf(LOG_ERR, "ignoring the classification rules: %s", rules.error().message.c_str());
        return {};
    }
    return std::move(*rules);
}

// Like bad rules: a bad presets file is an error in the log, and the built-in presets stay.
PresetTable load_presets_or_builtin(const std::string& path) {
    auto table = load_presets(path);
    if (!table) {
        log_printf(LOG_ERR, "ignoring the presets file: %s", table.error().message.c_str());
        return builtin_presets();
    }
    return std::move(*table);
}

}  // namespace

Daemon::Daemon(const Options& options)
    : options_(options),
      store_(std::filesystem::path(options.state_dir) / "tunables.json"),
      keeper_(SchedulerKeeper::for_environment()),
      presets_(load_presets_or_builtin(options.presets_file)),
      started_usec_(monotonic_usec()),
      reload_delay_usec_(kReloadDelayMinUsec),
      overflow_(OverflowConfig{options.overflow_threshold, options.overflow_window_ms * 1000}),
      tracker_("/proc", load_rules(options.classes_file),
               ManualMarkStore(std::filesystem::path(options.state_dir) / "marks.json",
                               read_boot_id())) {}

std::vector<ClassifiedProcess> Daemon::classified_processes() const {
    std::vector<ClassifiedProcess> list;
    for (const auto& [pid, entry] : tracker_.processes())
        list.push_back(entry);
    return list;
}

void Daemon::on_event(const Event& event) {
    arm_overflow_tick();
    switch (event.type) {
    case FP_EV_EXEC: tracker_.on_exec(event, monotonic_usec() * 1000); break;
    case FP_EV_EXIT: tracker_.on_exit(event.pid, event.timestamp_ns); break;
    default: break;
    }
}

EventCounts Daemon::event_counts() const {
    EventCounts total = consumed_before_;
    if (consumer_) {
        for (size_t i = 0; i < total.by_type.size(); i++)
            total.by_type[i] += consumer_->counts().by_type[i];
        total.unknown += consumer_->counts().unknown;
    }
    return total;
}

Status Daemon::watch_scheduler() {
    consumed_before_ = event_counts();
    consumer_.reset();
    auto fds = scheduler_->ring_fds();
    auto consumer = EventConsumer::create(loop_.get(), fds, options_.debug_consume_interval_ms,
                                          [this](const Event& event) { on_event(event); });
    if (!consumer)
        return consumer.error();
    consumer_ = std::move(*consumer);
    if (auto status = tracker_.attach(scheduler_.get()); !status)
        log_printf(LOG_WARNING, "%s", status.error().message.c_str());
    // A new scheduler has new rings whose counters start at zero. The tracker has just
    // scanned /proc: what was lost so far is made up for.
    overflow_ = OverflowMonitor(overflow_.config());
    auto rings = scheduler_->read_ring_counters();
    rescan_ = RescanSchedule(rings ? events_lost(*rings) : 0);
    sd_event_source* source = nullptr;
    if (sd_event_add_io(loop_.get(), &source, scheduler_->link_fd(), EPOLLHUP, on_link_event,
                        this) >= 0)
        link_watch_.reset(source);
    return Ok{};
}

// Exec and exit events framepaced will never see: dropped by a full ring, or never written
// because the kernel skipped the hook.
uint64_t Daemon::events_lost(const SchedulerHandle::RingTotals& rings) const {
    auto misses = scheduler_->read_hook_misses();
    return rings.dropped_total() + (misses ? misses->total() : 0);
}

bool Daemon::report_overflows() {
    if (!scheduler())
        return false;
    auto totals = scheduler_->read_ring_counters();
    if (!totals)
        return false;
    uint64_t offered = 0;
    for (size_t i = 0; i < FP_NR_RINGS; i++)
        offered += totals->produced[i] + totals->dropped[i];
    bool moved = offered != offered_at_tick_;
    offered_at_tick_ = offered;
    uint64_t now_usec = monotonic_usec();
    if (uint64_t lost = events_lost(*totals); rescan_.sample(now_usec, lost))
        start_rescan(lost);
    for (const auto& alert : overflow_.sample(now_usec, totals->dropped)) {
        std::string ring = std::to_string(alert.ring);
        if (alert.kind == OverflowAlert::Kind::Recovered) {
            log_structured(LOG_INFO, message_id::kRingbufRecovered,
                           "event ring " + ring + " stopped dropping events (" +
                               std::to_string(alert.dropped_total) + " dropped in all)",
                           {{"FRAMEPACE_RINGBUF", ring},
                            {"FRAMEPACE_DROPPED_TOTAL", std::to_string(alert.dropped_total)},
                            {"FRAMEPACE_SUPPRESSED", std::to_string(alert.suppressed)}});
            continue;
        }
        uint64_t bytes = scheduler_->ring_bytes();
        uint64_t suggested = suggested_ring_bytes(bytes, alert.dropped_in_window);
        log_structured(
            LOG_WARNING, message_id::kRingbufOverflow,
            "event ring " + ring + " dropped " + std::to_string(alert.dropped_in_window) +
                " events in " + std::to_string(alert.window_usec / 1000) + " ms (" +
                std::to_string(alert.dropped_total) + " in all" +
                (alert.suppressed ? ", " + std::to_string(alert.suppressed) + " alerts suppressed"
                                  : std::string()) +
                "); the daemon is not keeping up: consider --ringbuf-bytes=" +
                std::to_string(suggested),
            {{"FRAMEPACE_RINGBUF", ring},
             {"FRAMEPACE_DROPPED", std::to_string(alert.dropped_in_window)},
             {"FRAMEPACE_DROPPED_TOTAL", std::to_string(alert.dropped_total)},
             {"FRAMEPACE_WINDOW_USEC", std::to_string(alert.window_usec)},
             {"FRAMEPACE_RINGBUF_BYTES", std::to_string(bytes)},
             {"FRAMEPACE_SUGGESTED_BYTES", std::to_string(suggested)},
             {"FRAMEPACE_SUPPRESSED", std::to_string(alert.suppressed)}});
    }
    return moved;
}

// Lost exec events are games never classified; lost exits hold places in the classes map for
// processes that are gone. The rescan runs in steps at idle priority (on_rescan_step): events
// and Varlink calls are served between them. One due while another runs follows it: the one
// running always ends (begun again at each loss, a rescan could run through a whole storm).
void Daemon::start_rescan(uint64_t lost_total) {
    if (tracker_.reconciling()) {
        rescan_next_lost_ = lost_total;
        return;
    }
    rescan_run_ = RescanRun{monotonic_usec(), lost_total};
    tracker_.begin_reconcile();
    if (int r = sd_event_source_set_enabled(rescan_step_.get(), SD_EVENT_ON); r < 0) {
        log_printf(LOG_WARNING, "rescanning /proc in one go: cannot enable its steps: %s",
                   std::strerror(-r));
        report_rescan(*tracker_.reconcile_step(SIZE_MAX));
    }
}

int Daemon::on_rescan_step(sd_event_source* source, void* userdata) {
    auto* self = static_cast<Daemon*>(userdata);
    uint64_t started = monotonic_usec();
    auto counts = self->tracker_.reconcile_step(kRescanStepProcesses);
    uint64_t took_usec = monotonic_usec() - started;
    self->rescan_run_.steps++;
    self->rescan_run_.longest_step_usec = std::max(self->rescan_run_.longest_step_usec, took_usec);
    if (!counts)
        return 0;
    sd_event_source_set_enabled(source, SD_EVENT_OFF);
    self->report_rescan(*counts);
    if (auto next = std::exchange(self->rescan_next_lost_, std::nullopt))
        self->start_rescan(*next);
    return 0;
}

void Daemon::report_rescan(const GameTracker::Reconciled& counts) {
    const RescanRun& run = rescan_run_;
    uint64_t took_usec = monotonic_usec() - run.started_usec;
    log_structured(LOG_INFO, message_id::kProcessesRescanned,
                   std::to_string(run.lost_total) +
                       " events lost in all (ring drops and skipped hook runs): rescanned /proc "
                       "in " +
                       std::to_string(took_usec / 1000) + " ms (" + std::to_string(run.steps) +
                       " steps, the longest " + std::to_string(run.longest_step_usec / 1000) +
                       " ms), " + std::to_string(counts.found) + " processes classified, " +
                       std::to_string(counts.gone) + " decisions for exited processes dropped",
                   {{"FRAMEPACE_LOST_TOTAL", std::to_string(run.lost_total)},
                    {"FRAMEPACE_FOUND", std::to_string(counts.found)},
                    {"FRAMEPACE_GONE", std::to_string(counts.gone)},
                    {"FRAMEPACE_RESCAN_USEC", std::to_string(took_usec)},
                    {"FRAMEPACE_RESCAN_STEPS", std::to_string(run.steps)},
                    {"FRAMEPACE_LONGEST_STEP_USEC", std::to_string(run.longest_step_usec)}});
}

int Daemon::on_overflow_tick(sd_event_source* source, uint64_t, void* userdata) {
    auto* self = static_cast<Daemon*>(userdata);
    // Drops come only with events: while none are written the tick rests, and the next one
    // the daemon consumes arms it again (on_event). Not when the rings are drained on a timer
    // (--debug-consume-interval-ms): then no event wakes the daemon.
    bool moved = self->report_overflows();
    if (!moved && !self->overflow_.awaiting_recovery() && !self->rescan_.pending() &&
        self->options_.debug_consume_interval_ms == 0)
        return 0;
    if (auto status = rearm_timer(source, kOverflowTickUsec, "the overflow timer"); !status)
        log_printf(LOG_ERR, "%s", status.error().message.c_str());
    return 0;
}

void Daemon::arm_overflow_tick() {
    int enabled = SD_EVENT_OFF;
    if (!overflow_timer_ || sd_event_source_get_enabled(overflow_timer_.get(), &enabled) < 0 ||
        enabled != SD_EVENT_OFF)
        return;
    if (auto status = rearm_timer(overflow_timer_.get(), kOverflowTickUsec, "the overflow timer");
        !status)
        log_printf(LOG_ERR, "%s", status.error().message.c_str());
}

Daemon::~Daemon() {
    // The server's connections and streams refer to the methods, which refer to us.
    varlink_.reset();
    methods_.reset();
}

fp_tunables Daemon::initial_tunables() {
    auto stored = store_.load();
    if (!stored)
        log_printf(LOG_WARNING, "ignoring stored tunables: %s", stored.error().message.c_str());
    else
        for (const auto& problem : stored->rejected)
            log_printf(LOG_WARNING, "ignoring a stored tunable: %s", problem.c_str());
    layers_.set_stored(stored ? stored->values : TunableOverrides{});
    layers_.set_command_line(options_.tunable_overrides);
    return layers_.effective();
}

SchedulerHandle* Daemon::scheduler() {
    return scheduler_ && scheduler_->attached() ? scheduler_.get() : nullptr;
}

Status Daemon::apply_layers(const std::string& why) {
    fp_tunables tunables = layers_.effective();
    if (auto status = validate_tunables(tunables); !status)
        return status;
    if (scheduler()) {
        if (auto status = scheduler_->write_tunables(tunables); !status)
            return status;
    }
    // Without a scheduler the values wait for the next load.
    bool limit_changed = tunables.heartbeat_limit_ns != tunables_.heartbeat_limit_ns;
    tunables_ = tunables;
    // A shorter limit must not find the last heartbeat already too old for it (unless the
    // heartbeat is stopped on purpose: the system is going to sleep).
    int heartbeat_on = SD_EVENT_OFF;
    if (heartbeat_timer_)
        sd_event_source_get_enabled(heartbeat_timer_.get(), &heartbeat_on);
    if (limit_changed && scheduler() && heartbeat_on != SD_EVENT_OFF) {
        scheduler_->heartbeat(monotonic_usec() * 1000);
        rearm_heartbeat();
    }
    LogFields fields;
    std::string explicit_names;
    for (size_t i = 0; i < std::size(kTunableRanges); i++) {
        std::string key = "FRAMEPACE_" + std::string(kTunableRanges[i].name);
        std::transform(key.begin(), key.end(), key.begin(), ::toupper);
        fields.emplace_back(std::move(key),
                            std::to_string(tunable_value(tunables, kTunableRanges[i])));
        TunableSource source = layers_.source(i);
        if (source != TunableSource::Default && source != TunableSource::Preset)
            explicit_names +=
                (explicit_names.empty() ? "" : " ") + std::string(kTunableRanges[i].name);
    }
    fields.emplace_back("FRAMEPACE_PRESET", layers_.preset_name());
    fields.emplace_back("FRAMEPACE_EXPLICIT_TUNABLES", explicit_names);
    log_structured(LOG_INFO, message_id::kTunablesChanged, why, fields);
    return Ok{};
}

Status Daemon::set_tunables(const TunableOverrides& values, bool persist) {
    if (!scheduler())
        return Error{-ENODEV, "the scheduler is not attached"};
    TunableLayers before = layers_;
    layers_.set_explicit(values);
    if (auto status = apply_layers(persist ? "tunables changed and stored" : "tunables changed");
        !status) {
        layers_ = before;
        return status;
    }
    if (persist) {
        if (auto status = store_.save(layers_.persistent()); !status)
            return Error{status.error().code,
                         "tunables applied but not stored: " + status.error().message};
    }
    return Ok{};
}

Status Daemon::reset_tunables() {
    if (!scheduler())
        return Error{-ENODEV, "the scheduler is not attached"};
    TunableLayers before = layers_;
    layers_.reset_explicit();
    std::string why =
        "tunables reset to " + (layers_.preset_name().empty() ? std::string("their defaults")
                                                              : "preset " + layers_.preset_name());
    if (auto status = apply_layers(why); !status) {
        layers_ = before;
        return status;
    }
    if (auto status = store_.save({}); !status)
        return Error{status.error().code,
                     "tunables reset but the stored ones remain: " + status.error().message};
    return Ok{};
}

PowerProfileView Daemon::power_profile() const {
    return {profiles_ ? profiles_->active() : std::nullopt, layers_.preset_name(), presets_};
}

// The kernel ended the kept scheduler while no daemon ran (the one before died first, or was
// killed as a watchdog timeout while RT tasks starved it along with every sched_ext task):
// the ejection is reported now, as if it had been seen, rather than lost.
void Daemon::report_unseen_exit(const KeptFds& kept) {
    auto info = SchedulerHandle::kept_exit_info(kept);
    if (!info) {
        log_printf(LOG_WARNING, "cannot read how the kept scheduler ended: %s",
                   info.error().message.c_str());
        return;
    }
    if (!*info)
        return;
    // A daemon that died between its own detach and forgetting the kept fds left its detach
    // on record: that is not an ejection.
    if ((*info)->is_unregister()) {
        log_printf(LOG_INFO, "the kept scheduler was detached by the framepaced before this one");
        return;
    }
    last_exit_ = **info;
    log_structured(
        LOG_ERR, message_id::kSchedulerEjected,
        "the kernel ejected the framepace scheduler while no framepaced ran: " + exit_text(**info),
        exit_fields(**info));
}

bool Daemon::try_adopt(const KeptFds& kept) {
    auto version = SchedulerHandle::kept_layout_version(kept);
    auto state = read_sched_ext_state();
    std::string why;
    if (!version)
        why = version.error().message;
    else if (*version != FP_LAYOUT_VERSION)
        why = "it has layout version " + std::to_string(*version) + ", this daemon " +
              std::to_string(FP_LAYOUT_VERSION);
    else if (!framepace_running(state)) {
        why = "sched_ext is " + sched_ext_state_text(state) + " with ops '" +
              (state && state->ops ? *state->ops : std::string()) + "'";
        report_unseen_exit(kept);
    }

    if (why.empty()) {
        auto adopted = SchedulerHandle::adopt(kept);
        if (adopted) {
            scheduler_ = std::move(*adopted);
            // The values stay as adopted until the power profile is known (or known absent):
            // then the layers, with the run-time choices of the daemon before, are applied.
            fp_tunables layered = initial_tunables();
            auto tunables = scheduler_->read_tunables();
            if (tunables)
                for (const auto& problem : layers_.adopt_explicit(*tunables))
                    log_printf(LOG_WARNING, "not adopting a tunable choice: %s", problem.c_str());
            tunables_ = tunables ? *tunables : layered;
            uint64_t took_ms = (monotonic_usec() - started_usec_) / 1000;
            log_structured(LOG_INFO, message_id::kSchedulerAdopted,
                           "adopted the running framepace scheduler from the " +
                               std::string(keeper_.store_name()) + " (generation " +
                               std::to_string(scheduler_->generation()) + ", " +
                               std::to_string(took_ms) + " ms after start)",
                           {{"FRAMEPACE_GENERATION", std::to_string(scheduler_->generation())},
                            {"FRAMEPACE_KEPT_IN", keeper_.store_name()},
                            {"FRAMEPACE_ENABLE_SEQ", enable_seq_text(state)},
                            {"FRAMEPACE_ADOPT_MS", std::to_string(took_ms)}});
            return true;
        }
        why = adopted.error().message;
    }
    // Not adoptable (an upgrade, or something broken): replace it, and say so.
    auto detached = SchedulerHandle::detach_kept(kept);
    log_structured(LOG_WARNING, message_id::kSchedulerReplaced,
                   "replacing the kept scheduler: " + why +
                       (detached ? "" : " (" + detached.error().message + ")"),
                   {{"FRAMEPACE_REPLACE_REASON", why},
                    {"FRAMEPACE_KEPT_LAYOUT_VERSION", version ? std::to_string(*version) : ""},
                    {"FRAMEPACE_LAYOUT_VERSION", std::to_string(FP_LAYOUT_VERSION)}});
    keeper_.forget();
    return false;
}

Status Daemon::load_fresh(uint64_t generation) {
    auto scheduler =
        SchedulerHandle::load_and_attach(topology_, tunables_, generation, options_.ring_bytes);
    if (!scheduler)
        return scheduler.error();
    scheduler_ = std::move(*scheduler);
    attached_usec_ = monotonic_usec();
    auto state = read_sched_ext_state();
    log_structured(
        LOG_INFO, message_id::kSchedulerAttached,
        "framepace scheduler attached (" + std::to_string(topology_.nr_cpus) + " CPUs, " +
            std::to_string(topology_.nr_llcs) + (topology_.nr_llcs == 1 ? " LLC" : " LLCs") +
            (topology_.smt ? ", SMT" : "") + ")",
        {{"FRAMEPACE_NR_CPUS", std::to_string(topology_.nr_cpus)},
         {"FRAMEPACE_NR_LLCS", std::to_string(topology_.nr_llcs)},
         {"FRAMEPACE_SMT", topology_.smt ? "1" : "0"},
         {"FRAMEPACE_SCHED_EXT_STATE", sched_ext_state_text(state)},
         {"FRAMEPACE_ENABLE_SEQ", enable_seq_text(state)},
         {"FRAMEPACE_GENERATION", std::to_string(generation)},
         {"FRAMEPACE_SLICE_NORMAL_NS", std::to_string(tunables_.role_slice_ns[FP_ROLE_NORMAL])}});
    return Ok{};
}

Expected<std::unique_ptr<Daemon>> Daemon::start(const Options& options) {
    std::unique_ptr<Daemon> daemon(new Daemon(options));
    sd_notify(0, "STATUS=Starting");

    if (auto status = check_can_load(); !status)
        return status.error();
    auto topology = read_topology("/sys/devices/system/cpu");
    if (!topology)
        return topology.error();
    daemon->topology_ = std::move(*topology);
    route_libbpf_logs(options.verbose);

    auto passed = take_passed_fds();
    if (!passed)
        return passed.error();
    KeptFds kept = daemon->keeper_.take_kept(*passed);
    bool adopted = !kept.empty() && daemon->try_adopt(kept);
    kept.clear();
    if (!adopted) {
        sd_notify(0, "STATUS=Loading the scheduler");
        daemon->tunables_ = daemon->initial_tunables();
        if (auto status = daemon->load_fresh(1); !status)
            return status.error();
    }
    daemon->attached_usec_ = monotonic_usec();
    // An adopted scheduler is in the store already; storing it again could only lose it.
    if (adopted)
        daemon->keeper_.keep_adopted();
    else if (auto status = daemon->keeper_.keep(*daemon->scheduler_); !status)
        log_printf(LOG_WARNING, "the scheduler will not survive a daemon crash: %s",
                   status.error().message.c_str());

    // A daemon that cannot serve must not leave a scheduler behind that nobody watches:
    // detach it and drop what was kept.
    auto abandon = [&daemon](const Error& error) {
        daemon->scheduler_->detach();
        daemon->keeper_.forget();
        return error;
    };
    if (auto status = daemon->add_event_sources(); !status)
        return abandon(status.error());
    if (auto status = daemon->serve_varlink(*passed); !status)
        return abandon(status.error());
    daemon->connect_system_bus();
    return daemon;
}

Status Daemon::serve_varlink(PassedFds& passed) {
    varlink_ = std::make_unique<varlink::Server>(
        loop_.get(), varlink::ServiceInfo{"framepace", "framepaced", FRAMEPACE_VERSION,
                                          "https://github.com/framepace/framepace"});
    methods_ = std::make_unique<varlink::SchedulerMethods>(*this, loop_.get());
    varlink_->add_interface(methods_->interface());

    size_t served = 0;
    for (auto& [name, fd] : passed) {
        if (name != "varlink") {
            log_printf(LOG_WARNING, "ignoring a passed descriptor named '%s'", name.c_str());
            continue;
        }
        if (auto status = varlink_->listen(std::move(fd)); !status)
            return status;
        served++;
    }
    if (!options_.listen_path.empty()) {
        auto fd = varlink::bind_unix_socket(options_.listen_path, 0666);
        if (!fd)
            return fd.error();
        if (auto status = varlink_->listen(std::move(*fd)); !status)
            return status;
        served++;
    }
    if (served == 0)
        log_printf(LOG_INFO, "no Varlink socket (not socket-activated, no --listen)");
    return Ok{};
}

Status Daemon::add_event_sources() {
    sd_event* raw = nullptr;
    if (int r = sd_event_default(&raw); r < 0)
        return make_error(r, "failed to create the event loop");
    loop_.reset(raw);

    // sd-event needs the signals blocked to receive them through its signalfd.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, nullptr) < 0)
        return make_error(-errno, "failed to block SIGTERM/SIGINT");

    sd_event_source* source = nullptr;
    if (int r = sd_event_add_signal(raw, &source, SIGTERM, on_signal, this); r < 0)
        return make_error(r, "failed to watch SIGTERM");
    sigterm_.reset(source);
    if (int r = sd_event_add_signal(raw, &source, SIGINT, on_signal, this); r < 0)
        return make_error(r, "failed to watch SIGINT");
    sigint_.reset(source);

    if (int r = sd_event_add_time_relative(raw, &source, CLOCK_MONOTONIC, heartbeat_period_usec(),
                                           0, on_heartbeat, this);
        r < 0)
        return make_error(r, "failed to add the heartbeat timer");
    heartbeat_timer_.reset(source);
    scheduler_->heartbeat(monotonic_usec() * 1000);

    if (options_.stats_interval_ms > 0) {
        if (int r = sd_event_add_time_relative(raw, &source, CLOCK_MONOTONIC,
                                               options_.stats_interval_ms * 1000, 0, on_stats_timer,
                                               this);
            r < 0)
            return make_error(r, "failed to add the stats timer");
        stats_timer_.reset(source);
    }

    // Pings the systemd watchdog from the loop itself, so a stuck loop stops pinging.
    if (int r = sd_event_set_watchdog(raw, true); r < 0)
        return make_error(r, "failed to enable the watchdog");
    if (int r = sd_event_add_time_relative(raw, &source, CLOCK_MONOTONIC, kOverflowTickUsec, 0,
                                           on_overflow_tick, this);
        r < 0)
        return make_error(r, "failed to add the overflow timer");
    overflow_timer_.reset(source);
    // Off until a rescan is due; at idle priority, so that every other source goes first.
    if (int r = sd_event_add_defer(raw, &source, on_rescan_step, this); r < 0)
        return make_error(r, "failed to add the rescan source");
    rescan_step_.reset(source);
    if (int r = sd_event_source_set_priority(source, SD_EVENT_PRIORITY_IDLE); r < 0)
        return make_error(r, "failed to set the rescan source's priority");
    if (int r = sd_event_source_set_enabled(source, SD_EVENT_OFF); r < 0)
        return make_error(r, "failed to turn the rescan source off");
    // Marks made by hand before a crash or restart first, then games already running when we
    // start (or restart) are found once; exec events do the rest.
    tracker_.restore_marks();
    tracker_.scan();
    // Kernels from 6.9 signal EPOLLHUP on a struct_ops link the kernel has detached.
    return watch_scheduler();
}

int Daemon::run() {
    sd_notify(0, "READY=1\nSTATUS=Scheduling with framepace");
    int r = sd_event_loop(loop_.get());
    if (r < 0) {
        log_printf(LOG_ERR, "event loop failed: %s", strerror(-r));
        return kExitLoadFailed;
    }
    return exit_status_;
}

void Daemon::stop(int status) {
    exit_status_ = status;
    sd_event_exit(loop_.get(), status);
}

bool Daemon::check_ejected() {
    if (!scheduler_ || !scheduler_->attached())
        return false;
    auto info = scheduler_->exit_info();
    if (!info)
        return false;
    last_exit_ = info;
    log_structured(LOG_ERR, message_id::kSchedulerEjected,
                   "the kernel ejected the framepace scheduler: " + exit_text(*info),
                   exit_fields(*info));
    sd_notifyf(0, "STATUS=Scheduler ejected by the kernel: %s", info->reason.c_str());
    link_watch_.reset();
    scheduler_->detach();
    keeper_.forget();
    if (!options_.reload) {
        stop(kExitEjected);
        return true;
    }
    schedule_reload();
    return true;
}

void Daemon::schedule_reload() {
    // A scheduler that ran for a while earns a fresh start of the back-off.
    if (monotonic_usec() - attached_usec_ > kStableAfterUsec)
        reload_delay_usec_ = kReloadDelayMinUsec;
    uint64_t delay = reload_delay_usec_;
    reload_delay_usec_ = std::min(reload_delay_usec_ * 2, kReloadDelayMaxUsec);
    log_printf(LOG_INFO, "reloading the scheduler in %.1f s", delay / 1e6);
    sd_event_source* source = nullptr;
    if (int r = sd_event_add_time_relative(loop_.get(), &source, CLOCK_MONOTONIC, delay, 0,
                                           on_reload_timer, this);
        r < 0) {
        log_printf(LOG_ERR, "cannot schedule a reload: %s", strerror(-r));
        stop(kExitEjected);
        return;
    }
    reload_timer_.reset(source);
}

int Daemon::on_reload_timer(sd_event_source*, uint64_t, void* userdata) {
    auto* self = static_cast<Daemon*>(userdata);
    uint64_t generation = self->scheduler_ ? self->scheduler_->generation() + 1 : 1;
    self->tracker_.detach();
    self->scheduler_.reset();
    Status loaded = [&] {
        WatchdogStretch stretch(kLoadWatchdogUsec);
        return self->load_fresh(generation);
    }();
    if (!loaded) {
        log_printf(LOG_ERR, "reload failed: %s", loaded.error().message.c_str());
        self->schedule_reload();
        return 0;
    }
    if (auto status = self->keeper_.keep(*self->scheduler_); !status)
        log_printf(LOG_WARNING, "%s", status.error().message.c_str());
    // Games started while no scheduler was loaded sent no exec event, and the old rings went
    // with their last events: they are found as at start.
    self->tracker_.scan();
    if (auto status = self->watch_scheduler(); !status)
        log_printf(LOG_ERR, "%s", status.error().message.c_str());
    sd_notify(0, "STATUS=Scheduling with framepace (reloaded after an ejection)");
    return 0;
}

void Daemon::log_counters() {
    if (!scheduler())
        return;
    auto totals = scheduler_->read_counters();
    if (!totals) {
        log_printf(LOG_WARNING, "%s", totals.error().message.c_str());
        return;
    }
    LogFields fields;
    for (int i = 0; i < FP_NR_COUNTERS; i++) {
        std::string key = "FRAMEPACE_" + std::string(counter_name(static_cast<fp_counter>(i)));
        std::transform(key.begin(), key.end(), key.begin(), ::toupper);
        fields.emplace_back(std::move(key), std::to_string((*totals)[i]));
    }
    log_structured(LOG_INFO, message_id::kSchedulerCounters, "scheduler counters", fields);
}

int Daemon::on_signal(sd_event_source*, const struct signalfd_siginfo* info, void* userdata) {
    auto* self = static_cast<Daemon*>(userdata);
    sd_notify(0, "STOPPING=1\nSTATUS=Detaching the scheduler");
    self->reload_timer_.reset();
    if (!self->scheduler() || self->check_ejected()) {
        self->keeper_.forget();
        self->stop(self->options_.reload ? kExitStopped : self->exit_status_);
        return 0;
    }
    self->log_counters();
    self->link_watch_.reset();
    self->scheduler_->detach();
    // A requested stop leaves nothing behind for a next daemon to adopt.
    self->keeper_.forget();
    auto exit = self->scheduler_->exit_info();
    std::string state_text = sched_ext_state_text(read_sched_ext_state());
    if (exit) {
        auto fields = exit_fields(*exit);
        fields.emplace_back("FRAMEPACE_SCHED_EXT_STATE", state_text);
        log_structured(LOG_INFO, message_id::kSchedulerDetached,
                       "framepace scheduler detached on " +
                           std::string(strsignal(static_cast<int>(info->ssi_signo))) +
                           ": exit kind " + std::to_string(exit->kind) + " (" +
                           std::string(exit_kind_name(exit->kind)) + "), sched_ext " + state_text,
                       fields);
    } else {
        log_printf(LOG_WARNING, "scheduler detached but ops.exit left no record (sched_ext %s)",
                   state_text.c_str());
    }
    self->stop(kExitStopped);
    return 0;
}

int Daemon::on_link_event(sd_event_source* source, int, uint32_t, void* userdata) {
    auto* self = static_cast<Daemon*>(userdata);
    // A HUP stays pending; stop polling and let the exit record decide.
    sd_event_source_set_enabled(source, SD_EVENT_OFF);
    self->check_ejected();
    return 0;
}

int Daemon::on_heartbeat(sd_event_source*, uint64_t, void* userdata) {
    auto* self = static_cast<Daemon*>(userdata);
    if (!self->check_ejected() && self->scheduler())
        self->scheduler_->heartbeat(monotonic_usec() * 1000);
    self->rearm_heartbeat();
    return 0;
}

// At most every --heartbeat-interval, and four times within the heartbeat limit at least
// (sd-event may fire a timer up to a quarter of a second late, to batch wakeups).
uint64_t Daemon::heartbeat_period_usec() const {
    uint64_t quarter = tunables_.heartbeat_limit_ns / 4000;
    uint64_t interval = options_.heartbeat_interval_ms * 1000;
    return quarter ? std::min(interval, quarter) : interval;
}

void Daemon::rearm_heartbeat() {
    if (!heartbeat_timer_)
        return;
    if (auto status =
            rearm_timer(heartbeat_timer_.get(), heartbeat_period_usec(), "the heartbeat timer");
        !status)
        log_printf(LOG_ERR, "%s", status.error().message.c_str());
}

int Daemon::on_stats_timer(sd_event_source* source, uint64_t, void* userdata) {
    auto* self = static_cast<Daemon*>(userdata);
    self->log_counters();
    if (auto status =
            rearm_timer(source, self->options_.stats_interval_ms * 1000, "the stats timer");
        !status)
        log_printf(LOG_ERR, "%s", status.error().message.c_str());
    return 0;
}

}  // namespace framepace
