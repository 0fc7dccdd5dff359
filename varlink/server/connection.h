// One client of the Varlink server: framing, one call in flight, bounded buffers.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/event_loop.h"
#include "common/expected.h"
#include "common/unique_fd.h"
#include "varlink/server/varlink_server.h"

namespace framepace::varlink {

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(Server& server, UniqueFd fd, Peer peer);
    // Runs the close hook of a call still in flight (the connection went away under it).
    ~Connection();

    Status start();
    const Peer& peer() const { return peer_; }

    // A reply to call call_id; final ends the call (a "more" call's last reply). An empty
    // message (oneway calls) only ends the call. Replies to a call that is not the one in
    // flight (it had its final reply already) are dropped and logged.
    void deliver(uint64_t call_id, std::string_view method, std::optional<json> message,
                 bool final);
    void set_stream(uint64_t call_id, std::string_view method, StreamSource source);
    void set_close_hook(uint64_t call_id, std::function<void()> hook);
    // The call can still be answered: the connection is open and call_id is in flight.
    bool live(uint64_t call_id) const { return !closing_ && call_id == call_id_; }

private:
    static int on_io(sd_event_source* source, int fd, uint32_t revents, void* userdata);
    static int on_idle(sd_event_source* source, uint64_t usec, void* userdata);
    static int on_continue(sd_event_source* source, void* userdata);
    // Work left over from a turn that used its budget runs on a later turn of the loop.
    void continue_later();

    void read_input();
    void process_input();
    void handle_message(std::string_view text);
    void end_call();
    void pull_stream();
    void flush();
    void finish_if_done();
    void update_io_events();
    void arm_idle_timer();
    void close(const char* why);
    bool busy() const { return call_id_ != 0; }

    Server& server_;
    UniqueFd fd_;
    Peer peer_;
    EventSource io_, idle_, continue_;
    std::string in_, out_;
    uint64_t next_call_id_ = 0;
    uint64_t call_id_ = 0;       // the call in flight; 0 for none
    bool more_ = false;          // ... was made with "more"
    bool oneway_ = false;        // ... wants no reply
    StreamSource stream_;        // ... is answered by pulling replies from here
    std::function<void()> close_hook_;  // ... and this runs if the client leaves first
    bool processing_ = false;    // process_input() is on the stack
    bool pulling_ = false;       // pull_stream() is on the stack
    bool read_closed_ = false;   // the client shut down its sending side
    bool progress_ = false;      // bytes moved since the idle timer was last armed
    bool closing_ = false;
};

}  // namespace framepace::varlink
