// Which processes are games, compositors and audio servers, and why: decided from exec
// events (within a ring drain of the exec), from one /proc scan at start, and by hand
// through Varlink; mirrored into the scheduler's "classes" map whenever one is attached.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "event_consumer.h"
#include "expected.h"
#include "process_classifier.h"

namespace framepace {

class SchedulerHandle;

struct ClassifiedProcess {
    uint32_t pid = 0;
    fp_class class_id = FP_CLASS_NONE;
    std::string comm;
    std::string reason;                // classifier reason, "scan:<reason>" or "manual"
    bool manual = false;
    std::optional<uint64_t> latency_ns;  // exec (kernel timestamp) to decision
};

class GameTracker {
public:
    GameTracker(std::filesystem::path proc_root, std::vector<ClassRule> rules);

    // The scheduler to mirror into (null while none is attached); on a new one the map is
    // rewritten to exactly what this tracker knows.
    Status attach(SchedulerHandle* scheduler);
    // Stops mirroring (the scheduler is going away); what is known stays known.
    void detach() { scheduler_ = nullptr; }

    // Every process in /proc, once; what it finds replaces earlier automatic decisions.
    void scan();
    // now_ns is CLOCK_MONOTONIC, the clock of the event's timestamp.
    void on_exec(const Event& event, uint64_t now_ns);
    void on_exit(uint32_t pid);

    // By hand: a marked process stays a game until it exits or is unmarked; an unmarked one
    // is not classified again until it exits.
    Status mark_game(uint32_t pid);
    Status unmark_game(uint32_t pid);

    const std::map<uint32_t, ClassifiedProcess>& processes() const { return processes_; }

private:
    void decide(const ProcessInfo& info, std::string reason_prefix,
                std::optional<uint64_t> latency_ns);
    void set(ClassifiedProcess entry);
    void forget(uint32_t pid);

    std::filesystem::path proc_root_;
    std::vector<ClassRule> rules_;
    SchedulerHandle* scheduler_ = nullptr;
    std::map<uint32_t, ClassifiedProcess> processes_;
    std::set<uint32_t> unmarked_;
};

}  // namespace framepace
