// RAII owners for sd-event objects.
#pragma once

#include <memory>
#include <systemd/sd-event.h>

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

}  // namespace framepace
