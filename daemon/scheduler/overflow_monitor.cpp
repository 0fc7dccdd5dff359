#include "daemon/scheduler/overflow_monitor.h"

#include <algorithm>

namespace framepace {

std::vector<OverflowAlert> OverflowMonitor::sample(uint64_t now,
                                                   std::span<const uint64_t> dropped_totals) {
    std::vector<OverflowAlert> alerts;
    size_t count = std::min(dropped_totals.size(), rings_.size());
    for (size_t i = 0; i < count; i++) {
        RingState& ring = rings_[i];
        uint64_t total = dropped_totals[i];
        if (!ring.seen) {
            // The first reading is the baseline: drops before we watched are history.
            ring.seen = true;
            ring.last_total = total;
            ring.history.emplace_back(now, total);
            continue;
        }
        if (total > ring.last_total)
            ring.last_drop_usec = now;
        ring.last_total = total;
        ring.history.emplace_back(now, total);
        // Keep the newest sample at or before the window start as the window's baseline.
        while (ring.history.size() > 1 && ring.history[1].first + config_.window_usec <= now)
            ring.history.pop_front();
        uint64_t in_window = total - ring.history.front().second;

        if (in_window > config_.threshold && now >= ring.next_due_usec) {
            ring.next_due_usec = now + config_.window_usec;
            if (!ring.alerted || now - ring.last_alert_usec >= config_.rate_limit_usec) {
                alerts.push_back({OverflowAlert::Kind::Overflow, static_cast<unsigned>(i),
                                  in_window, total, config_.window_usec, ring.suppressed});
                ring.alerted = true;
                ring.last_alert_usec = now;
                ring.suppressed = 0;
            } else {
                ring.suppressed++;
            }
            continue;
        }
        if (ring.alerted && now - ring.last_drop_usec >= config_.quiet_usec) {
            alerts.push_back({OverflowAlert::Kind::Recovered, static_cast<unsigned>(i), 0, total,
                              config_.window_usec, ring.suppressed});
            ring.alerted = false;
            ring.suppressed = 0;
        }
    }
    return alerts;
}

bool OverflowMonitor::awaiting_recovery() const {
    return std::any_of(rings_.begin(), rings_.end(), [](const RingState& r) { return r.alerted; });
}

uint64_t suggested_ring_bytes(uint64_t current, uint64_t dropped_in_window) {
    // Each event takes its size plus the ring's 8-byte record header.
    uint64_t event_bytes = sizeof(fp_event) + 8;
    uint64_t wanted = std::max(current * 2, current + 2 * dropped_in_window * event_bytes);
    uint64_t bytes = FP_RING_BYTES_MIN;
    while (bytes < wanted && bytes < FP_RING_BYTES_MAX)
        bytes *= 2;
    return bytes;
}

}  // namespace framepace
