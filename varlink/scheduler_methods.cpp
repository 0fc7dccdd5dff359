#include "varlink/scheduler_methods.h"

#include <algorithm>
#include <cstring>
#include <sys/utsname.h>
#include <time.h>

#include "common/clock.h"
#include "daemon/scheduler/counters.h"
#include "varlink/idl_io_framepace_scheduler.h"
#include "common/log.h"
#include "varlink/server/params.h"
#include "daemon/scheduler/role_names.h"
#include "daemon/scheduler/sched_ext_sysfs.h"
#include "daemon/scheduler/scheduler_handle.h"
#include "daemon/tunables/tunables.h"

namespace framepace::varlink {
namespace {

// Any method that takes no parameters still rejects unknown ones.
bool no_parameters(const CallInfo& call, Responder& responder) {
    if (auto bad = ParamTable().decode(call.parameters)) {
        responder.error(kErrorInvalidParameter, {{"parameter", *bad}});
        return false;
    }
    return true;
}

json tunables_json(const SchedulerService& service) {
    fp_tunables tunables = service.tunables();
    json list = json::array();
    for (size_t i = 0; i < std::size(kTunableRanges); i++) {
        const auto& range = kTunableRanges[i];
        list.push_back({{"name", range.name},
                        {"value", tunable_value(tunables, range)},
                        {"default", range.default_value},
                        {"min", range.min},
                        {"max", range.max},
                        {"unit", range.unit},
                        {"description", range.description},
                        {"source", tunable_source_name(service.tunable_source(i))}});
    }
    return list;
}

json preset_json(const TunablePreset& preset) {
    json values = json::array();
    for (size_t i = 0; i < preset.values.size(); i++)
        if (preset.values[i])
            values.push_back({{"name", kTunableRanges[i].name}, {"value", *preset.values[i]}});
    return {{"name", preset.name}, {"tunables", values}};
}

json exit_json(const ExitInfo& info) {
    return {{"kind", info.kind},
            {"kind_name", exit_kind_name(info.kind)},
            {"exit_code", info.exit_code},
            {"reason", info.reason},
            {"message", info.message}};
}

const char* policy_name(uint32_t policy) {
    switch (policy) {
    case 0: return "normal";
    case 3: return "batch";
    case 5: return "idle";
    case 7: return "ext";
    default: return "other";
    }
}

}  // namespace

json task_json(const fp_task_record& task) {
    return {{"pid", task.pid},
            {"tid", task.tid},
            {"comm", std::string(task.comm, strnlen(task.comm, sizeof(task.comm)))},
            {"policy", policy_name(task.policy)},
            {"weight", task.weight},
            {"generation", task.generation},
            {"runs", task.runs},
            {"runtime_ns", task.runtime_ns},
            {"process_class", class_name(static_cast<fp_class>(task.class_id))},
            {"role", role_name(task.role)},
            {"avg_run_ns", task.avg_run_ns},
            {"avg_wake_ns", task.avg_wake_ns},
            {"wake_dev_ns", task.wake_dev_ns},
            {"boosts", task.boosts}};
}

struct SchedulerMethods::MonitorStream {
    SchedulerMethods* owner;
    Responder responder;
    uint64_t interval_usec;
    StreamSlot slot;
    EventSource timer;
};

SchedulerMethods::SchedulerMethods(SchedulerService& service, sd_event* loop,
                                   SchedulerReadings readings)
    : service_(service), loop_(loop), readings_(std::move(readings)) {}

size_t SchedulerMethods::stream_count(uid_t uid) const {
    auto it = stream_counts_->find(uid);
    return it == stream_counts_->end() ? 0 : it->second;
}

SchedulerMethods::StreamSlot SchedulerMethods::take_stream_slot(const CallInfo& call,
                                                                Responder& responder) {
    uid_t uid = call.peer.uid;
    size_t& count = (*stream_counts_)[uid];
    if (uid != 0 && count >= kMaxStreamsPerUid) {
        responder.error(kErrorTooManyStreams, {{"limit", kMaxStreamsPerUid}});
        return nullptr;
    }
    count++;
    // The slot gives its place back when the last copy of it goes, wherever that is. (It
    // points at the counts only so that it tests true; nothing is deleted through it.)
    return StreamSlot(static_cast<void*>(stream_counts_.get()),
                      [counts = stream_counts_, uid](void*) {
                          auto it = counts->find(uid);
                          if (it != counts->end() && --it->second == 0)
                              counts->erase(it);
                      });
}

SchedulerMethods::~SchedulerMethods() = default;

InterfaceSpec SchedulerMethods::interface() {
    auto bind = [this](void (SchedulerMethods::*method)(const CallInfo&, Responder)) {
        return [this, method](const CallInfo& call, Responder responder) {
            (this->*method)(call, std::move(responder));
        };
    };
    InterfaceSpec spec;
    spec.name = kSchedulerInterface;
    spec.description = kSchedulerIdl;
    spec.methods["GetStatus"] = {bind(&SchedulerMethods::get_status), false};
    spec.methods["GetStats"] = {bind(&SchedulerMethods::get_stats), false};
    spec.methods["GetTunables"] = {bind(&SchedulerMethods::get_tunables), false};
    spec.methods["SetTunables"] = {bind(&SchedulerMethods::set_tunables), true};
    spec.methods["ResetStats"] = {bind(&SchedulerMethods::reset_stats), true};
    spec.methods["ResetTunables"] = {bind(&SchedulerMethods::reset_tunables), true};
    spec.methods["GetPowerProfile"] = {bind(&SchedulerMethods::get_power_profile), false};
    spec.methods["Monitor"] = {bind(&SchedulerMethods::monitor), false};
    spec.methods["ListTasks"] = {bind(&SchedulerMethods::list_tasks), false};
    spec.methods["ListGames"] = {bind(&SchedulerMethods::list_games), false};
    spec.methods["MarkGame"] = {bind(&SchedulerMethods::mark_game), true};
    spec.methods["UnmarkGame"] = {bind(&SchedulerMethods::unmark_game), true};
    return spec;
}

SchedulerHandle* SchedulerMethods::attached_or_error(Responder& responder) {
    SchedulerHandle* scheduler = service_.scheduler();
    if (!scheduler) {
        auto exit = service_.last_exit();
        responder.error(kErrorSchedulerNotAttached,
                        {{"reason", exit ? exit->reason : std::string("not loaded")}});
    }
    return scheduler;
}

void SchedulerMethods::get_status(const CallInfo& call, Responder responder) {
    if (!no_parameters(call, responder))
        return;
    utsname uts{};
    uname(&uts);
    auto sysfs = read_sched_ext_state();
    SchedulerHandle* scheduler = service_.scheduler();
    json reply = {
        {"state", scheduler ? "attached" : (service_.last_exit() ? "ejected" : "detached")},
        {"sched_ext_state", sched_ext_state_text(sysfs)},
        {"kernel", uts.release},
        {"version", FRAMEPACE_VERSION},
        {"layout_version", FP_LAYOUT_VERSION},
        {"uptime_usec", monotonic_usec() - service_.started_usec()},
        {"generation", scheduler ? scheduler->generation() : 0},
    };
    if (scheduler) {
        reply["queue_mode"] = scheduler->shared_mode() ? "shared" : "per-cpu";
        reply["util_pct"] = scheduler->util_pct();
        reply["input_boost"] = scheduler->input_hooked();
    }
    if (sysfs && sysfs->ops)
        reply["ops"] = *sysfs->ops;
    if (sysfs && sysfs->enable_seq)
        reply["enable_seq"] = *sysfs->enable_seq;
    if (auto exit = service_.last_exit())
        reply["last_exit"] = exit_json(*exit);
    responder.reply(std::move(reply));
}

std::optional<json> SchedulerMethods::stats_reply(Responder& responder) {
    if (readings_.stats) {
        auto stats = readings_.stats();
        if (!stats) {
            responder.error(kErrorSchedulerNotAttached, {{"reason", stats.error().message}});
            return std::nullopt;
        }
        return std::move(*stats);
    }
    SchedulerHandle* scheduler = attached_or_error(responder);
    if (!scheduler)
        return std::nullopt;
    auto totals = scheduler->read_counters();
    if (!totals) {
        responder.error(kErrorSchedulerNotAttached, {{"reason", totals.error().message}});
        return std::nullopt;
    }
    json counters = json::object();
    for (int i = 0; i < FP_NR_COUNTERS; i++)
        counters[std::string(counter_name(static_cast<fp_counter>(i)))] = (*totals)[i];
    json rings = json::array();
    if (auto ring_totals = scheduler->read_ring_counters()) {
        for (size_t i = 0; i < FP_NR_RINGS; i++)
            rings.push_back({{"index", i},
                             {"produced", ring_totals->produced[i]},
                             {"dropped", ring_totals->dropped[i]},
                             {"size_bytes", scheduler->ring_bytes()}});
    }
    json hooks_missed = json::object();
    if (auto misses = scheduler->read_hook_misses())
        hooks_missed = {{"exec", misses->exec}, {"exit", misses->exit}};
    EventCounts consumed = service_.event_counts();
    json events = json::object();
    for (unsigned type = 1; type < FP_NR_EVENT_TYPES; type++)
        events[event_type_name(type)] = consumed.by_type[type];
    events["unknown"] = consumed.unknown;
    return json{{"timestamp_usec", monotonic_usec()},
                {"counters", std::move(counters)},
                {"ringbufs", std::move(rings)},
                {"hooks_missed", std::move(hooks_missed)},
                {"events", std::move(events)}};
}

void SchedulerMethods::get_stats(const CallInfo& call, Responder responder) {
    if (!no_parameters(call, responder))
        return;
    if (auto reply = stats_reply(responder))
        responder.reply(std::move(*reply));
}

void SchedulerMethods::get_tunables(const CallInfo& call, Responder responder) {
    if (!no_parameters(call, responder))
        return;
    responder.reply({{"tunables", tunables_json(service_)}});
}

void SchedulerMethods::set_tunables(const CallInfo& call, Responder responder) {
    std::optional<uint64_t> values[std::size(kTunableRanges)];
    std::optional<bool> persist;
    ParamTable table;
    for (size_t i = 0; i < std::size(kTunableRanges); i++)
        table.optional_uint(std::string(kTunableRanges[i].name), &values[i], kTunableRanges[i].min,
                            kTunableRanges[i].max);
    table.optional_bool("persist", &persist);
    if (auto bad = table.decode(call.parameters))
        return responder.error(kErrorInvalidParameter, {{"parameter", *bad}});
    if (!attached_or_error(responder))
        return;

    TunableOverrides changes{};
    std::copy(std::begin(values), std::end(values), changes.begin());
    if (auto status = service_.set_tunables(changes, persist.value_or(false)); !status) {
        // Applied but not stored, or not applied at all: the error says which.
        return responder.error(kErrorPersistFailed, {{"reason", status.error().message}});
    }
    responder.reply({{"tunables", tunables_json(service_)}});
}

void SchedulerMethods::reset_tunables(const CallInfo& call, Responder responder) {
    if (!no_parameters(call, responder) || !attached_or_error(responder))
        return;
    if (auto status = service_.reset_tunables(); !status)
        return responder.error(kErrorPersistFailed, {{"reason", status.error().message}});
    responder.reply({{"tunables", tunables_json(service_)}});
}

void SchedulerMethods::get_power_profile(const CallInfo& call, Responder responder) {
    if (!no_parameters(call, responder))
        return;
    PowerProfileView view = service_.power_profile();
    json mapping = json::array();
    for (const auto& [profile, preset] : view.table.profiles)
        mapping.push_back({{"profile", profile}, {"preset", preset}});
    json presets = json::array();
    for (const auto& preset : view.table.presets)
        presets.push_back(preset_json(preset));
    json reply = {{"mapping", mapping}, {"presets", presets}};
    if (view.active) {
        reply["service"] = view.active->service;
        reply["profile"] = view.active->profile;
    }
    if (!view.preset.empty())
        reply["preset"] = view.preset;
    responder.reply(std::move(reply));
}

void SchedulerMethods::reset_stats(const CallInfo& call, Responder responder) {
    if (!no_parameters(call, responder))
        return;
    SchedulerHandle* scheduler = attached_or_error(responder);
    if (!scheduler)
        return;
    if (auto status = scheduler->reset_counters(); !status)
        return responder.error(kErrorSchedulerNotAttached, {{"reason", status.error().message}});
    log_printf(LOG_INFO, "counters reset by uid %u (pid %d)", static_cast<unsigned>(call.peer.uid),
               static_cast<int>(call.peer.pid));
    responder.reply();
}

void SchedulerMethods::monitor(const CallInfo& call, Responder responder) {
    std::optional<uint64_t> interval;
    if (auto bad =
            ParamTable()
                .optional_uint("interval_usec", &interval, kMonitorIntervalMin, kMonitorIntervalMax)
                .decode(call.parameters))
        return responder.error(kErrorInvalidParameter, {{"parameter", *bad}});
    if (!call.more)
        return responder.error(kErrorExpectedMore);
    auto slot = take_stream_slot(call, responder);
    if (!slot)
        return;
    auto first = stats_reply(responder);
    if (!first)
        return;

    auto stream = std::make_shared<MonitorStream>();
    stream->owner = this;
    stream->responder = responder;
    stream->interval_usec = interval.value_or(kMonitorIntervalDefault);
    stream->slot = std::move(slot);
    sd_event_source* source = nullptr;
    if (int r = sd_event_add_time_relative(loop_, &source, CLOCK_MONOTONIC, stream->interval_usec,
                                           0, on_monitor_tick, stream.get());
        r < 0)
        return responder.error(kErrorSchedulerNotAttached,
                               {{"reason", make_error(r, "cannot add a timer").message}});
    stream->timer.reset(source);
    streams_.push_back(stream);
    // The stream (its timer, its slot) ends with the connection, not at its next tick. The
    // hook holds the stream weakly: it may run after we are gone (a test's teardown order).
    responder.on_close([weak = std::weak_ptr<MonitorStream>(stream)] {
        if (auto s = weak.lock())
            s->owner->end_monitor(s.get());
    });
    responder.reply_more(std::move(*first));
}

void SchedulerMethods::end_monitor(MonitorStream* stream) {
    streams_.remove_if([stream](const auto& s) { return s.get() == stream; });
}

int SchedulerMethods::on_monitor_tick(sd_event_source* source, uint64_t, void* userdata) {
    auto* stream = static_cast<MonitorStream*>(userdata);
    SchedulerMethods* self = stream->owner;
    bool keep = stream->responder.connected();
    if (keep) {
        if (auto reply = self->stats_reply(stream->responder)) {
            stream->responder.reply_more(std::move(*reply));
            keep = stream->responder.connected();  // the reply may have failed to send
        } else {
            keep = false;  // the error was the final reply
        }
    }
    if (keep) {
        // A stream whose timer cannot run again ends with an error, as one whose timer could
        // not be added does (monitor()), instead of falling silent.
        auto status = rearm_timer(source, stream->interval_usec, "the Monitor timer");
        if (status)
            return 0;
        stream->responder.error(kErrorSchedulerNotAttached, {{"reason", status.error().message}});
    }
    self->end_monitor(stream);
    return 0;
}

void SchedulerMethods::list_tasks(const CallInfo& call, Responder responder) {
    if (!no_parameters(call, responder))
        return;
    // Thousands of tasks do not fit one bounded reply (the 1 MiB output cap broke near
    // 5.7k): the list is streamed, kTasksPerReply tasks a reply, each made only when the
    // client has read the previous ones. As with systemd's own list methods, a call
    // without "more" gets ExpectedMore.
    if (!call.more)
        return responder.error(kErrorExpectedMore);
    Expected<std::vector<fp_task_record>> tasks = std::vector<fp_task_record>{};
    if (readings_.tasks) {
        tasks = readings_.tasks();
    } else {
        SchedulerHandle* scheduler = attached_or_error(responder);
        if (!scheduler)
            return;
        tasks = scheduler->list_tasks();
    }
    if (!tasks)
        return responder.error(kErrorSchedulerNotAttached, {{"reason", tasks.error().message}});
    auto slot = take_stream_slot(call, responder);
    if (!slot)
        return;
    struct Snapshot {
        std::vector<fp_task_record> tasks;
        size_t next = 0;
        StreamSlot slot;
    };
    auto snapshot = std::make_shared<Snapshot>(Snapshot{std::move(*tasks), 0, std::move(slot)});
    responder.stream([snapshot] {
        json list = json::array();
        size_t end = std::min(snapshot->next + kTasksPerReply, snapshot->tasks.size());
        for (; snapshot->next < end; snapshot->next++)
            list.push_back(task_json(snapshot->tasks[snapshot->next]));
        bool last = snapshot->next == snapshot->tasks.size();
        if (last)
            snapshot->tasks = {};  // free the snapshot with the last reply, not at close
        return StreamItem{{{"tasks", std::move(list)}}, last};
    });
}

void SchedulerMethods::list_games(const CallInfo& call, Responder responder) {
    if (!no_parameters(call, responder))
        return;
    json list = json::array();
    for (const auto& entry : service_.classified_processes()) {
        json item = {{"pid", entry.pid},
                     {"comm", entry.comm},
                     {"class", class_name(entry.class_id)},
                     {"reason", entry.reason},
                     {"manual", entry.manual}};
        if (entry.latency_ns)
            item["classified_after_usec"] = *entry.latency_ns / 1000;
        list.push_back(std::move(item));
    }
    responder.reply({{"processes", std::move(list)}});
}

// MarkGame and UnmarkGame: one pid parameter, an error naming what is wrong with it.
void SchedulerMethods::change_game(const CallInfo& call, Responder responder, bool mark) {
    std::optional<uint64_t> pid;
    if (auto bad = ParamTable().required_uint("pid", &pid, 1, 4194304).decode(call.parameters))
        return responder.error(kErrorInvalidParameter, {{"parameter", *bad}});
    auto status = mark ? service_.mark_game(static_cast<uint32_t>(*pid))
                       : service_.unmark_game(static_cast<uint32_t>(*pid));
    if (!status)
        return responder.error(mark ? kErrorNoSuchProcess : kErrorNotAGame,
                               {{"pid", *pid}, {"reason", status.error().message}});
    log_printf(LOG_INFO, "process %llu %s by uid %u", static_cast<unsigned long long>(*pid),
               mark ? "marked as a game" : "unmarked", static_cast<unsigned>(call.peer.uid));
    responder.reply();
}

void SchedulerMethods::mark_game(const CallInfo& call, Responder responder) {
    change_game(call, std::move(responder), true);
}

void SchedulerMethods::unmark_game(const CallInfo& call, Responder responder) {
    change_game(call, std::move(responder), false);
}

}  // namespace framepace::varlink
