// When to make up for lost events (dropped by a full ring, or never written because the
// kernel skipped a hook) with a /proc rescan (GameTracker::reconcile): a lost exec is a game
// never classified, a lost exit a place in the classes map held by a process that is gone.
// A rescan while events are still being lost would miss those, and in a storm it mostly finds
// processes whose events still wait in the rings; so it waits until no event has been lost
// for settle_usec, or until losses have gone on for max_delay_usec. A rescan reads all of
// /proc (in the TCG test VM: 2.6 s with 4,300 processes, 26 ms with about 100; in steps, with
// events served between them), hence the long longest delay. Pure logic with the clock
// passed in.
#pragma once

#include <cstdint>

namespace framepace {

struct RescanConfig {
    uint64_t settle_usec = 1'000'000;
    uint64_t max_delay_usec = 60'000'000;
};

class RescanSchedule {
public:
    // lost_baseline: the events lost (ring drops and skipped hook runs) when the tracker last
    // scanned /proc (a scan makes up for every loss before it).
    explicit RescanSchedule(uint64_t lost_baseline = 0, RescanConfig config = {})
        : config_(config), last_total_(lost_baseline) {}

    // lost_total: the events lost so far. True when a rescan is due now (the caller does it:
    // the losses seen so far are then made up for).
    bool sample(uint64_t now_usec, uint64_t lost_total);

    // Losses were seen and not yet made up for: samples must go on, events or not.
    bool pending() const { return pending_; }

private:
    RescanConfig config_;
    uint64_t last_total_;
    bool pending_ = false;
    uint64_t first_loss_usec_ = 0;   // of the losses not yet made up for
    uint64_t last_loss_usec_ = 0;
};

}  // namespace framepace
