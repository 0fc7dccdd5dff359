// Which processes are games, compositors and audio servers, and why: decided from exec
// events (within a ring drain of the exec), from a /proc scan at start and after events
// were lost, and by hand through Varlink; mirrored into the scheduler's "classes" map
// whenever one is attached. When there are more decisions than the map holds,
// ClassMapAdmission decides which are in it. Manual marks are kept on disk
// (ManualMarkStore) and restored after a restart.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/scheduler/class_map.h"
#include "daemon/games/class_map_admission.h"
#include "daemon/scheduler/event_consumer.h"
#include "common/clock.h"
#include "common/expected.h"
#include "daemon/games/manual_marks.h"
#include "daemon/games/process_classifier.h"

namespace framepace {

// The scheduler's classes map holds this many tgids (bpf/framepace/classify.bpf.c); the
// attached map says what it really holds.
constexpr size_t kDefaultClassCapacity = 4096;

struct ClassifiedProcess {
    uint32_t pid = 0;
    fp_class class_id = FP_CLASS_NONE;
    std::string comm;
    std::string reason;  // classifier reason, "scan:<reason>" or "manual"
    bool manual = false;
    std::optional<uint64_t> latency_ns;  // exec (kernel timestamp) to decision
    uint32_t uid = kUnknownUid;
    Evidence evidence = Evidence::Weak;
    uint64_t start_time = 0;
    bool in_scheduler = false;  // has a place in the classes map (ClassMapAdmission)
    // CLOCK_MONOTONIC ns at or before which this process was known to be alive (its exec
    // event's timestamp, or the time of the /proc read that found it): an exit event from
    // before it is another process's that had the pid.
    uint64_t seen_ns = 0;
};

class GameTracker {
public:
    // clock_ns reads CLOCK_MONOTONIC in ns, the clock of the events' timestamps.
    using Clock = std::function<uint64_t()>;
    GameTracker(std::filesystem::path proc_root, std::vector<ClassRule> rules,
                std::optional<ManualMarkStore> marks = std::nullopt,
                Clock clock_ns = monotonic_nsec);

    // The map to mirror into (null while no scheduler is attached); on a new one the places
    // are given out again for its capacity and the map is rewritten to exactly them.
    Status attach(ClassMap* map);
    // Stops mirroring (the scheduler is going away); what is known stays known.
    void detach() { map_ = nullptr; }

    // Applies the marks an earlier daemon stored to the processes that still live (the same
    // pid and start time); the others are dropped from the store. Before the first scan().
    void restore_marks();
    // Every process in /proc, once; what it finds replaces earlier automatic decisions.
    void scan();
    // After lost events (a full ring, a hook run the kernel skipped): the execs and exits not
    // seen are made up for.
    // Entries whose process is gone, or whose pid now names another process, go as their
    // exit would have taken them; then /proc is scanned as at start.
    struct Reconciled {
        size_t gone = 0;  // decisions (and unmarks) whose process had exited
        size_t found = 0;  // processes the rescan classified that were not before
    };
    // In steps, so that the event loop serves events and calls between them (a rescan reads
    // every process: 2.6 s in one go with 4,300 of them, in the TCG test VM).
    // begin_reconcile() notes the decisions to check (again from the start if a rescan is
    // under way: its counts carry over); each reconcile_step() reads /proc for at most
    // max_processes of them, then of the processes listed there once the decisions are
    // checked, and returns the counts once it has read the last. Events taken between steps
    // count as ever: a process an exec event classified meanwhile is not "found".
    void begin_reconcile();
    std::optional<Reconciled> reconcile_step(size_t max_processes);
    bool reconciling() const { return rescan_.has_value(); }
    // The whole of it at once.
    Reconciled reconcile();
    // now_ns is CLOCK_MONOTONIC, the clock of the event's timestamp.
    void on_exec(const Event& event, uint64_t now_ns);
    // The rings are drained one after another, so the exit of a process can come after the
    // exec of the next one given its pid: an exit from before that one was seen is ignored.
    void on_exit(uint32_t pid, uint64_t exited_ns);

    // By hand: a marked process stays a game until it exits or is unmarked; an unmarked one
    // is not classified again until it exits. Both are stored; a failure to store is an
    // error, though the mark applies.
    Status mark_game(uint32_t pid);
    Status unmark_game(uint32_t pid);

    const std::map<uint32_t, ClassifiedProcess>& processes() const { return processes_; }
    const ClassMapAdmission& admission() const { return admission_; }

private:
    // The pids /proc lists now.
    std::vector<uint32_t> list_pids() const;
    // Reads pid as scan() does; true if it was classified and was not before.
    bool scan_pid(uint32_t pid);
    // Takes the entry of pid (a decision, or an unmark) as its exit would if the process is
    // gone or pid names another process now; true if so.
    bool drop_if_gone(uint32_t pid);
    void decide(const ProcessInfo& info, std::string reason_prefix,
                std::optional<uint64_t> latency_ns, uint64_t seen_ns);
    void set(ClassifiedProcess entry);
    void forget(uint32_t pid);
    void write_class(uint32_t pid, fp_class class_id);
    void note_full();
    bool is_marked(uint32_t pid) const;
    Status store_marks();

    std::filesystem::path proc_root_;
    std::vector<ClassRule> rules_;
    EnvironmentNeeds needs_;
    std::optional<ManualMarkStore> marks_;
    ClassMap* map_ = nullptr;
    std::map<uint32_t, ClassifiedProcess> processes_;
    struct Unmarked {
        uint64_t start_time = 0;
        uint64_t seen_ns = 0;  // as in ClassifiedProcess
    };
    std::map<uint32_t, Unmarked> unmarked_;
    Clock clock_ns_;
    ClassMapAdmission admission_{kDefaultClassCapacity};
    bool full_reported_ = false;
    struct Rescan {
        std::vector<uint32_t> known;  // decisions and unmarks to check, by pid
        size_t next_known = 0;
        std::optional<std::vector<uint32_t>> listed;  // /proc's pids, once the known are done
        size_t next_listed = 0;
        Reconciled counts;
    };
    std::optional<Rescan> rescan_;
};

}  // namespace framepace
