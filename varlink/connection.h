// One client of the Varlink server: framing, one call in flight, bounded buffers.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "event_loop.h"
#include "expected.h"
#include "unique_fd.h"
#include "varlink_server.h"

namespace framepace::varlink {

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(Server& server, UniqueFd fd, Peer peer);
    ~Connection();

    Status start();
    const Peer& peer() const { return peer_; }

    // A reply to the call in flight; final ends the call (a "more" call's last reply). An
    // empty message (oneway calls) only ends the call.
    void deliver(std::optional<json> message, bool final);
    bool open() const { return !closing_; }

private:
    static int on_io(sd_event_source* source, int fd, uint32_t revents, void* userdata);
    static int on_idle(sd_event_source* source, uint64_t usec, void* userdata);

    void read_input();
    void process_input();
    void handle_message(std::string_view text);
    void flush();
    void update_io_events();
    void arm_idle_timer();
    void close(const char* why);

    Server& server_;
    UniqueFd fd_;
    Peer peer_;
    EventSource io_, idle_;
    std::string in_, out_;
    bool busy_ = false;          // a call is in flight
    bool oneway_ = false;        // ... and it wants no reply
    bool processing_ = false;    // process_input() is on the stack
    bool closing_ = false;
};

}  // namespace framepace::varlink
