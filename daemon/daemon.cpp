#include "daemon.h"

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstring>
#include <string>
#include <sys/epoll.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"
#include "message_ids.h"
#include "sched_ext_sysfs.h"
#include "scheduler_methods.h"
#include "topology.h"
#include "varlink_server.h"

namespace framepace {
namespace {

// How often the exit record is checked: the link's HUP is the fast path on kernels that
// report it; this bounds detection everywhere else.
constexpr uint64_t kHealthIntervalUsec = 100'000;

LogFields exit_fields(const ExitInfo& info) {
    return {
        {"FRAMEPACE_EXIT_KIND", std::to_string(info.kind)},
        {"FRAMEPACE_EXIT_KIND_NAME", std::string(exit_kind_name(info.kind))},
        {"FRAMEPACE_EXIT_CODE", std::to_string(info.exit_code)},
        {"FRAMEPACE_EXIT_REASON", info.reason},
        {"FRAMEPACE_EXIT_MESSAGE", info.message},
    };
}

Status rearm(sd_event_source* source, uint64_t usec) {
    int r = sd_event_source_set_time_relative(source, usec);
    if (r >= 0)
        r = sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
    if (r < 0)
        return make_error(r, "failed to re-arm a timer");
    return Ok{};
}

uint64_t monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace

Daemon::Daemon(const Options& options)
    : options_(options),
      store_(std::filesystem::path(options.state_dir) / "tunables.json"),
      started_usec_(monotonic_usec()) {}

// Defaults, then what was stored with persist, then the command line.
fp_tunables Daemon::initial_tunables() const {
    fp_tunables tunables = default_tunables();
    auto stored = store_.load(tunables);
    if (!stored)
        log_printf(LOG_WARNING, "ignoring stored tunables: %s", stored.error().message.c_str());
    else if (*stored)
        tunables = **stored;
    return apply_overrides(tunables, options_.tunable_overrides);
}

SchedulerHandle* Daemon::scheduler() {
    return scheduler_ && scheduler_->attached() ? scheduler_.get() : nullptr;
}

Status Daemon::set_tunables(const fp_tunables& tunables, bool persist) {
    if (auto status = validate_tunables(tunables); !status)
        return status;
    if (!scheduler())
        return Error{-ENODEV, "the scheduler is not attached"};
    if (auto status = scheduler_->write_tunables(tunables); !status)
        return status;
    tunables_ = tunables;
    LogFields fields;
    for (const auto& range : kTunableRanges)
        fields.emplace_back("FRAMEPACE_" + std::string(range.name),
                            std::to_string(tunables.*range.field));
    log_structured(LOG_INFO, message_id::kTunablesChanged,
                   persist ? "tunables changed and stored" : "tunables changed", fields);
    if (persist) {
        if (auto status = store_.save(tunables); !status)
            return Error{status.error().code, "tunables applied but not stored: " +
                                                  status.error().message};
    }
    return Ok{};
}

Expected<std::unique_ptr<Daemon>> Daemon::start(const Options& options) {
    std::unique_ptr<Daemon> daemon(new Daemon(options));
    daemon->tunables_ = daemon->initial_tunables();

    if (auto status = check_can_load(); !status)
        return status.error();
    auto topology = read_topology("/sys/devices/system/cpu");
    if (!topology)
        return topology.error();

    route_libbpf_logs(options.verbose);
    auto scheduler = SchedulerHandle::load_and_attach(*topology, daemon->tunables_, 1);
    if (!scheduler)
        return scheduler.error();
    daemon->scheduler_ = std::move(scheduler.value());

    auto state = read_sched_ext_state();
    log_structured(LOG_INFO, message_id::kSchedulerAttached,
                   "framepace scheduler attached (" + std::to_string(topology->nr_cpus) +
                       " CPUs, " + std::to_string(topology->nr_llcs) + " LLCs)",
                   {{"FRAMEPACE_NR_CPUS", std::to_string(topology->nr_cpus)},
                    {"FRAMEPACE_NR_LLCS", std::to_string(topology->nr_llcs)},
                    {"FRAMEPACE_SCHED_EXT_STATE", state ? state->state : "unknown"},
                    {"FRAMEPACE_ENABLE_SEQ",
                     state && state->enable_seq ? std::to_string(*state->enable_seq) : ""},
                    {"FRAMEPACE_SLICE_NS", std::to_string(daemon->tunables_.slice_ns)}});

    if (auto status = daemon->add_event_sources(); !status)
        return status.error();
    if (auto status = daemon->serve_varlink(); !status)
        return status.error();
    return daemon;
}

Daemon::~Daemon() {
    // The server's connections and streams refer to the methods, which refer to us.
    varlink_.reset();
    methods_.reset();
}

Status Daemon::serve_varlink() {
    varlink_ = std::make_unique<varlink::Server>(
        loop_.get(), varlink::ServiceInfo{"framepace", "framepaced", FRAMEPACE_VERSION,
                                          "https://github.com/framepace/framepace"});
    methods_ = std::make_unique<varlink::SchedulerMethods>(*this, loop_.get());
    varlink_->add_interface(methods_->interface());

    size_t served = 0;
    char** names = nullptr;
    int n = sd_listen_fds_with_names(1, &names);
    if (n < 0)
        return make_error(n, "failed to take the sockets passed by systemd");
    for (int i = 0; i < n; i++) {
        UniqueFd fd(SD_LISTEN_FDS_START + i);
        std::string name = names && names[i] ? names[i] : "";
        free(names ? names[i] : nullptr);
        if (name != "varlink") {
            log_printf(LOG_WARNING, "ignoring a passed socket named '%s'", name.c_str());
            continue;
        }
        if (auto status = varlink_->listen(std::move(fd)); !status)
            return status;
        served++;
    }
    free(names);
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

    // Kernels from 6.9 signal EPOLLHUP on a struct_ops link the kernel has detached.
    if (int r = sd_event_add_io(raw, &source, scheduler_->link_fd(), EPOLLHUP, on_link_event,
                                this);
        r >= 0)
        link_watch_.reset(source);
    else
        log_printf(LOG_DEBUG, "link fd cannot be polled (%d); relying on the health timer", r);

    if (int r = sd_event_add_time_relative(raw, &source, CLOCK_MONOTONIC, kHealthIntervalUsec, 0,
                                           on_health_timer, this);
        r < 0)
        return make_error(r, "failed to add the health timer");
    health_timer_.reset(source);

    if (options_.stats_interval_ms > 0) {
        if (int r = sd_event_add_time_relative(raw, &source, CLOCK_MONOTONIC,
                                               options_.stats_interval_ms * 1000, 0,
                                               on_stats_timer, this);
            r < 0)
            return make_error(r, "failed to add the stats timer");
        stats_timer_.reset(source);
    }

    // Pings the systemd watchdog from the loop itself, so a stuck loop stops pinging.
    if (int r = sd_event_set_watchdog(raw, true); r < 0)
        return make_error(r, "failed to enable the watchdog");
    return Ok{};
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
    if (!scheduler_->attached())
        return false;
    auto info = scheduler_->exit_info();
    if (!info)
        return false;
    last_exit_ = info;
    auto fields = exit_fields(*info);
    log_structured(LOG_ERR, message_id::kSchedulerEjected,
                   "the kernel ejected the framepace scheduler: " +
                       std::string(exit_kind_name(info->kind)) + " (" + info->reason + ")" +
                       (info->message.empty() ? "" : ": " + info->message),
                   fields);
    sd_notifyf(0, "STATUS=Scheduler ejected by the kernel: %s", info->reason.c_str());
    scheduler_->detach();
    stop(kExitEjected);
    return true;
}

void Daemon::log_counters() {
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
    if (self->check_ejected())
        return 0;
    self->log_counters();
    self->scheduler_->detach();
    auto exit = self->scheduler_->exit_info();
    auto state = read_sched_ext_state();
    std::string state_text = state ? state->state : "unknown";
    if (exit) {
        auto fields = exit_fields(*exit);
        fields.emplace_back("FRAMEPACE_SCHED_EXT_STATE", state_text);
        log_structured(LOG_INFO, message_id::kSchedulerDetached,
                       "framepace scheduler detached on " +
                           std::string(strsignal(static_cast<int>(info->ssi_signo))) +
                           ": exit kind " + std::to_string(exit->kind) + " (" +
                           std::string(exit_kind_name(exit->kind)) + "), sched_ext " +
                           state_text,
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

int Daemon::on_health_timer(sd_event_source* source, uint64_t, void* userdata) {
    auto* self = static_cast<Daemon*>(userdata);
    if (self->check_ejected())
        return 0;
    if (auto status = rearm(source, kHealthIntervalUsec); !status)
        log_printf(LOG_ERR, "%s", status.error().message.c_str());
    return 0;
}

int Daemon::on_stats_timer(sd_event_source* source, uint64_t, void* userdata) {
    auto* self = static_cast<Daemon*>(userdata);
    self->log_counters();
    if (auto status = rearm(source, self->options_.stats_interval_ms * 1000); !status)
        log_printf(LOG_ERR, "%s", status.error().message.c_str());
    return 0;
}

}  // namespace framepace
