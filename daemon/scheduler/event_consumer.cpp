#include "daemon/scheduler/event_consumer.h"

#include <bpf/libbpf.h>
#include <cstring>
#include <optional>
#include <sys/epoll.h>

#include "common/log.h"

namespace framepace {

const char* event_type_name(unsigned type) {
    switch (type) {
    case FP_EV_EXEC: return "exec";
    case FP_EV_EXIT: return "exit";
    case FP_EV_BOOST_OPENED: return "boost_opened";
    case FP_EV_ROLE_CHANGE: return "role_change";
    case FP_EV_LATENCY: return "latency_outlier";
    default: return "unknown";
    }
}

std::optional<Event> decode_event(std::span<const uint8_t> record) {
    fp_event raw;
    if (record.size() < sizeof(raw))
        return std::nullopt;
    std::memcpy(&raw, record.data(), sizeof(raw));
    if (raw.version != FP_EVENT_VERSION || raw.type == 0 || raw.type >= FP_NR_EVENT_TYPES)
        return std::nullopt;
    Event ev;
    ev.type = static_cast<fp_event_type>(raw.type);
    ev.cpu = raw.cpu;
    ev.timestamp_ns = raw.timestamp_ns;
    ev.pid = raw.pid;
    ev.tid = raw.tid;
    ev.comm.assign(raw.comm, strnlen(raw.comm, sizeof(raw.comm)));
    switch (ev.type) {
    case FP_EV_EXEC:
        ev.filename.assign(raw.exec.filename,
                           strnlen(raw.exec.filename, sizeof(raw.exec.filename)));
        break;
    case FP_EV_BOOST_OPENED: ev.value = raw.boost.window_ns; break;
    case FP_EV_LATENCY: ev.value = raw.latency.wait_ns; break;
    case FP_EV_ROLE_CHANGE:
        ev.value = (static_cast<uint64_t>(raw.role.old_role) << 32) | raw.role.new_role;
        break;
    default: break;
    }
    return ev;
}

DrainTurn drain_rings_fairly(size_t nr_rings, size_t per_ring,
                             const std::function<int(size_t ring, size_t max)>& consume) {
    DrainTurn turn;
    for (size_t ring = 0; ring < nr_rings; ring++) {
        int n = consume(ring, per_ring);
        if (n < 0) {
            if (!turn.error)
                turn.error = n;
            continue;
        }
        turn.records += static_cast<size_t>(n);
        if (static_cast<size_t>(n) >= per_ring)
            turn.more = true;
    }
    return turn;
}

void EventConsumer::RingBufferDeleter::operator()(ring_buffer* rb) const { ring_buffer__free(rb); }

EventConsumer::~EventConsumer() = default;

Expected<std::unique_ptr<EventConsumer>> EventConsumer::create(sd_event* loop,
                                                               std::span<const int> ring_fds,
                                                               uint64_t consume_interval_ms,
                                                               Sink sink) {
    std::unique_ptr<EventConsumer> consumer(new EventConsumer());
    consumer->sink_ = std::move(sink);
    for (int fd : ring_fds) {
        consumer->nr_rings_++;
        if (!consumer->rb_) {
            consumer->rb_.reset(ring_buffer__new(fd, on_record, consumer.get(), nullptr));
            if (!consumer->rb_)
                return make_error(-errno, "failed to open the event rings");
        } else if (int err = ring_buffer__add(consumer->rb_.get(), fd, on_record, consumer.get());
                   err) {
            return make_error(err, "failed to add an event ring");
        }
    }
    if (!consumer->rb_)
        return Error{-ENOENT, "no event rings"};

    sd_event_source* source = nullptr;
    if (consume_interval_ms == 0) {
        int r = sd_event_add_io(loop, &source, ring_buffer__epoll_fd(consumer->rb_.get()), EPOLLIN,
                                on_ready, consumer.get());
        if (r < 0)
            return make_error(r, "failed to watch the event rings");
    } else {
        consumer->interval_usec_ = consume_interval_ms * 1000;
        int r = sd_event_add_time_relative(loop, &source, CLOCK_MONOTONIC, consumer->interval_usec_,
                                           0, on_timer, consumer.get());
        if (r < 0)
            return make_error(r, "failed to add the event drain timer");
        log_printf(LOG_WARNING, "debug: draining events only every %llu ms",
                   static_cast<unsigned long long>(consume_interval_ms));
    }
    consumer->source_.reset(source);

    if (int r = sd_event_add_defer(loop, &source, on_more, consumer.get()); r < 0)
        return make_error(r, "failed to add the event drain continuation");
    consumer->more_.reset(source);
    sd_event_source_set_enabled(source, SD_EVENT_OFF);
    return consumer;
}

DrainTurn EventConsumer::drain() {
    DrainTurn turn =
        drain_rings_fairly(nr_rings_, kRecordsPerRingPerTurn, [this](size_t index, size_t max) {
            struct ring* r = ring_buffer__ring(rb_.get(), static_cast<unsigned>(index));
            return r ? ring__consume_n(r, max) : -ENOENT;
        });
    if (turn.error)
        log_printf(LOG_WARNING, "failed to drain an event ring: %s", strerror(-turn.error));
    // The rings' epoll fd is level-triggered and would wake us again; the defer source makes
    // the next turn not depend on that, and also serves the timer mode.
    if (turn.more && more_)
        sd_event_source_set_enabled(more_.get(), SD_EVENT_ONESHOT);
    return turn;
}

int EventConsumer::on_record(void* self_ptr, void* data, size_t size) {
    auto* self = static_cast<EventConsumer*>(self_ptr);
    auto event = decode_event({static_cast<const uint8_t*>(data), size});
    if (!event) {
        self->counts_.unknown++;
        return 0;
    }
    self->counts_.by_type[event->type]++;
    if (self->sink_)
        self->sink_(*event);
    return 0;
}

int EventConsumer::on_ready(sd_event_source*, int, uint32_t, void* userdata) {
    static_cast<EventConsumer*>(userdata)->drain();
    return 0;
}

int EventConsumer::on_more(sd_event_source*, void* userdata) {
    static_cast<EventConsumer*>(userdata)->drain();
    return 0;
}

int EventConsumer::on_timer(sd_event_source* source, uint64_t, void* userdata) {
    auto* self = static_cast<EventConsumer*>(userdata);
    self->drain();
    // Without the timer nothing drains the rings any more (this mode has no I/O source):
    // events are lost from here on, which the error says.
    if (auto status = rearm_timer(source, self->interval_usec_, "the event drain timer"); !status)
        log_printf(LOG_ERR, "%s: events are no longer consumed", status.error().message.c_str());
    return 0;
}

}  // namespace framepace
