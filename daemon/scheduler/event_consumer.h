// Drains the event rings inside the sd-event loop: every ring on one epoll fd (libbpf's
// ring_buffer), events decoded into typed structs and counted; unknown types and versions
// are counted, never fatal. One turn of the loop drains a bounded number of records (an exec
// storm must not keep the loop from pinging the watchdog or answering Varlink); what is left
// waits for the next turn, and what the rings cannot hold meanwhile is dropped and counted
// by BPF, as always.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/event_loop.h"
#include "common/expected.h"
#include "bpf/framepace_shared.h"

struct ring_buffer;

namespace framepace {

struct Event {
    fp_event_type type;
    uint32_t cpu = 0;
    uint64_t timestamp_ns = 0;
    uint32_t pid = 0, tid = 0;
    std::string comm;
    std::string filename;     // exec
    uint64_t value = 0;       // boost window_ns, latency wait_ns
};

struct EventCounts {
    std::array<uint64_t, FP_NR_EVENT_TYPES> by_type{};
    uint64_t unknown = 0;        // unknown type or version, or a short record
};

// Stable names, as in GetStats.
const char* event_type_name(unsigned type);

// Decodes one ring record; nullopt for records this daemon does not understand.
std::optional<Event> decode_event(std::span<const uint8_t> record);

// Records drained from each ring per turn of the event loop. With FP_NR_RINGS rings a turn
// handles at most 64 records; the costliest, an exec, reads /proc with the environment
// bounded by kEnvironmentReadLimit, so a turn stays within tens of milliseconds even in a
// slow VM, while 64 records per wakeup outpace any ring that is not already in a storm.
constexpr size_t kRecordsPerRingPerTurn = 4;

struct DrainTurn {
    size_t records = 0;
    bool more = false;     // some ring gave its whole quota: it may hold more
    int error = 0;         // the first negative return of consume, if any
};

// One bounded turn: every ring gets the same quota (libbpf's ring_buffer__consume_n always
// starts at ring 0, so a busy ring 0 would starve the others). consume(ring, max) consumes up
// to max records of one ring and returns how many, or a negative errno.
DrainTurn drain_rings_fairly(size_t nr_rings, size_t per_ring,
                             const std::function<int(size_t ring, size_t max)>& consume);

class EventConsumer {
public:
    using Sink = std::function<void(const Event&)>;

    // consume_interval_ms 0: drain as soon as a ring signals data (normal operation).
    // Otherwise drain only every that many ms: a debug knob to provoke overflows.
    static Expected<std::unique_ptr<EventConsumer>> create(sd_event* loop,
                                                           std::span<const int> ring_fds,
                                                           uint64_t consume_interval_ms,
                                                           Sink sink = {});
    ~EventConsumer();

    const EventCounts& counts() const { return counts_; }
    // One bounded turn (drain_rings_fairly); when rings may hold more, another turn is
    // queued on the loop (a defer source), so the rest is not left until new data arrives.
    DrainTurn drain();

private:
    EventConsumer() = default;
    static int on_record(void* self, void* data, size_t size);
    static int on_ready(sd_event_source* source, int fd, uint32_t revents, void* userdata);
    static int on_timer(sd_event_source* source, uint64_t usec, void* userdata);
    static int on_more(sd_event_source* source, void* userdata);

    struct RingBufferDeleter {
        void operator()(ring_buffer* rb) const;
    };
    std::unique_ptr<ring_buffer, RingBufferDeleter> rb_;
    EventSource source_;
    EventSource more_;           // a defer source, enabled once while rings hold more
    size_t nr_rings_ = 0;
    uint64_t interval_usec_ = 0;
    EventCounts counts_;
    Sink sink_;
};

}  // namespace framepace
