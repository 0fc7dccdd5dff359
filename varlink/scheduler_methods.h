// The io.framepace.Scheduler interface: its methods, bound to the running scheduler.
#pragma once

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <vector>

#include "common/event_loop.h"
#include "daemon/service/scheduler_service.h"
#include "varlink/server/varlink_server.h"

namespace framepace::varlink {

inline constexpr const char* kSchedulerInterface = "io.framepace.Scheduler";
inline constexpr const char* kErrorSchedulerNotAttached =
    "io.framepace.Scheduler.SchedulerNotAttached";
inline constexpr const char* kErrorPersistFailed = "io.framepace.Scheduler.PersistFailed";
inline constexpr const char* kErrorNoSuchProcess = "io.framepace.Scheduler.NoSuchProcess";
inline constexpr const char* kErrorNotAGame = "io.framepace.Scheduler.NotAGame";
inline constexpr const char* kErrorTooManyStreams = "io.framepace.Scheduler.TooManyStreams";

// Streaming calls (Monitor, ListTasks) one non-root user may have running at once: each
// holds a timer or a snapshot of the task list (96 bytes a task) until its client has read
// it, so without a cap one user could make the daemon hold any number of them.
inline constexpr size_t kMaxStreamsPerUid = 4;
// Tasks per ListTasks reply: about 300 bytes of JSON each, so a reply stays near 64 KiB.
inline constexpr size_t kTasksPerReply = 200;

// Monitor intervals, microseconds.
inline constexpr uint64_t kMonitorIntervalMin = 10'000;
inline constexpr uint64_t kMonitorIntervalMax = 60'000'000;
inline constexpr uint64_t kMonitorIntervalDefault = 1'000'000;

// What GetStats, Monitor and ListTasks read. Unset members read the attached scheduler;
// tests and the fuzzer set their own, since a SchedulerHandle needs a sched_ext kernel.
struct SchedulerReadings {
    // The GetStats reply; an error becomes SchedulerNotAttached with its message as reason.
    std::function<Expected<json>()> stats;
    std::function<Expected<std::vector<fp_task_record>>()> tasks;
};

class SchedulerMethods {
public:
    SchedulerMethods(SchedulerService& service, sd_event* loop, SchedulerReadings readings = {});
    ~SchedulerMethods();

    // The interface description (the IDL, verbatim) and method table for Server.
    InterfaceSpec interface();

    size_t monitor_count() const { return streams_.size(); }
    size_t stream_count(uid_t uid) const;

private:
    struct MonitorStream;
    // Per-uid counts of running streams, shared with the slots that the streams hold (a
    // ListTasks stream lives in its connection and may outlive us).
    using StreamCounts = std::map<uid_t, size_t>;
    using StreamSlot = std::shared_ptr<void>;

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
    // A slot for a new stream of the caller; null after answering TooManyStreams.
    StreamSlot take_stream_slot(const CallInfo& call, Responder& responder);
    void end_monitor(MonitorStream* stream);
    static int on_monitor_tick(sd_event_source* source, uint64_t usec, void* userdata);

    SchedulerService& service_;
    sd_event* loop_;
    SchedulerReadings readings_;
    std::shared_ptr<StreamCounts> stream_counts_ = std::make_shared<StreamCounts>();
    std::list<std::shared_ptr<MonitorStream>> streams_;
};

}  // namespace framepace::varlink
