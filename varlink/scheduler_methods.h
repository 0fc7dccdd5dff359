// The io.framepace.Scheduler interface: its methods, bound to the running scheduler.
#pragma once

#include <list>
#include <memory>

#include "event_loop.h"
#include "scheduler_service.h"
#include "varlink_server.h"

namespace framepace::varlink {

inline constexpr const char* kSchedulerInterface = "io.framepace.Scheduler";
inline constexpr const char* kErrorSchedulerNotAttached = "io.framepace.Scheduler.SchedulerNotAttached";
inline constexpr const char* kErrorPersistFailed = "io.framepace.Scheduler.PersistFailed";
inline constexpr const char* kErrorNoSuchProcess = "io.framepace.Scheduler.NoSuchProcess";
inline constexpr const char* kErrorNotAGame = "io.framepace.Scheduler.NotAGame";

// Monitor intervals, microseconds.
inline constexpr uint64_t kMonitorIntervalMin = 10'000;
inline constexpr uint64_t kMonitorIntervalMax = 60'000'000;
inline constexpr uint64_t kMonitorIntervalDefault = 1'000'000;

class SchedulerMethods {
public:
    SchedulerMethods(SchedulerService& service, sd_event* loop);
    ~SchedulerMethods();

    // The interface description (the IDL, verbatim) and method table for Server.
    InterfaceSpec interface();

private:
    struct MonitorStream;

    void get_status(const CallInfo& call, Responder responder);
    void get_stats(const CallInfo& call, Responder responder);
    void get_tunables(const CallInfo& call, Responder responder);
    void set_tunables(const CallInfo& call, Responder responder);
    void reset_tunables(const CallInfo& call, Responder responder);
    void get_power_profile(const CallInfo& call, Responder responder);
    void reset_stats(const CallInfo& call, Responder responder);
    void monitor(const CallInfo& call, Responder responder);
    void list_tasks(const CallInfo& call, Responder responder);
    void list_games(const CallInfo& call, Responder responder);
    void mark_game(const CallInfo& call, Responder responder);
    void unmark_game(const CallInfo& call, Responder responder);
    void change_game(const CallInfo& call, Responder responder, bool mark);

    // Answers SchedulerNotAttached and returns null when there is no scheduler.
    SchedulerHandle* attached_or_error(Responder& responder);
    // Stats as a reply object; nullopt after answering the error.
    std::optional<json> stats_reply(Responder& responder);
    static int on_monitor_tick(sd_event_source* source, uint64_t usec, void* userdata);

    SchedulerService& service_;
    sd_event* loop_;
    std::list<std::unique_ptr<MonitorStream>> streams_;
};

}  // namespace framepace::varlink
