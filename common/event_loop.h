// RAII owners for sd-event objects, and the one way this project re-arms a one-shot timer.
#pragma once

#include <cstdint>
#include <memory>
#include <systemd/sd-event.h>

#include "common/expected.h"

namespace framepace {

struct EventLoopDeleter {
    void operator()(sd_event* event) const { sd_event_unref(event); }
};
using EventLoop = std::unique_ptr<sd_event, EventLoopDeleter>;

// Disabling before the unref matters: a source still referenced by a pending dispatch must
// not fire into an object that is being destroyed.
struct EventSourceDeleter {
    void operator()(sd_event_source* source) const { sd_event_source_disable_unref(source); }
};
using EventSource = std::unique_ptr<sd_event_source, EventSourceDeleter>;

// Sets a timer source to fire once more, usec from now. sd-event disables a one-shot timer
// when it fires, so a failure here means it never fires again: the error (naming `what`, e.g.
// "the heartbeat timer") is for the caller to log or to end what the timer drives.
Status rearm_timer(sd_event_source* timer, uint64_t usec, const char* what);

}  // namespace framepace
