// Watches the event rings' drop counters and decides when to raise an overflow alert and
// when to declare recovery. Pure logic with the clock passed in, so it is tested without
// waiting; the daemon feeds it the real counters every 100 ms while events flow or
// awaiting_recovery().
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "bpf/framepace_shared.h"

namespace framepace {

struct OverflowConfig {
    uint64_t threshold = 10;                 // more drops than this within window_usec alert
    uint64_t window_usec = 1'000'000;
    uint64_t rate_limit_usec = 10'000'000;   // at most one alert per ring per this long
    uint64_t quiet_usec = 5'000'000;         // no drops this long after an alert: recovered
};

struct OverflowAlert {
    enum class Kind { Overflow, Recovered };
    Kind kind;
    unsigned ring;
    uint64_t dropped_in_window = 0;
    uint64_t dropped_total = 0;
    uint64_t window_usec = 0;
    uint64_t suppressed = 0;   // alerts swallowed by the rate limit since the previous one
};

class OverflowMonitor {
public:
    explicit OverflowMonitor(OverflowConfig config = {}) : config_(config) {}

    // dropped_totals: each ring's cumulative drop counter now. Returns what to report.
    std::vector<OverflowAlert> sample(uint64_t now_usec, std::span<const uint64_t> dropped_totals);

    // An alert is out and its recovery not yet declared: samples must go on, events or not.
    bool awaiting_recovery() const;

    const OverflowConfig& config() const { return config_; }

private:
    struct RingState {
        std::deque<std::pair<uint64_t, uint64_t>> history;  // (time, total) within the window
        uint64_t last_total = 0;
        uint64_t last_drop_usec = 0;
        uint64_t last_alert_usec = 0;
        uint64_t next_due_usec = 0;     // a sustained overflow counts again after a window
        uint64_t suppressed = 0;
        bool alerted = false;           // an alert is out and no recovery yet
        bool seen = false;
    };

    OverflowConfig config_;
    std::array<RingState, FP_NR_RINGS> rings_{};
};

// The ring size to suggest after an overflow: enough for what was offered in the window
// (kept plus dropped) at twice the headroom, as a power of two within the allowed range.
uint64_t suggested_ring_bytes(uint64_t current_bytes, uint64_t dropped_in_window);

}  // namespace framepace
