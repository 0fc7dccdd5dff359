#include "varlink/server/connection.h"

#include <cerrno>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "common/log.h"

namespace framepace::varlink {
namespace {

// Above this much unsent output, stop reading new calls and stop pulling stream replies: a
// pipelining client that does not read its replies stalls itself, not the daemon.
constexpr size_t kOutputBackpressureBytes = 64 * 1024;
// Bounded work per turn of the event loop, whatever a client has queued (thousands of
// pipelined calls, each maybe reading every task in the system): the loop, and with it the
// watchdog ping and every other client, gets its turn between batches.
constexpr int kCallsPerTurn = 32;
constexpr int kStreamRepliesPerTurn = 16;

// The keys of a call message. sd-varlink (varlink_dispatch_method) accepts exactly these and
// treats any other, "upgrade" included, as a protocol violation that closes the connection
// without a reply; so does this server. None of our methods can take over the connection,
// and a client asking for that must not go on as if it had.
bool is_call_key(std::string_view key) {
    return key == "method" || key == "parameters" || key == "more" || key == "oneway";
}

std::string serialize(const json& message) {
    // Replacing invalid UTF-8 (a task's comm, a kernel message) instead of throwing.
    std::string text = message.dump(-1, ' ', false, json::error_handler_t::replace);
    text.push_back('\0');
    return text;
}

std::string describe(const std::optional<json>& message) {
    if (!message)
        return "end of a oneway call";
    auto error = message->find("error");
    if (error != message->end() && error->is_string())
        return "error " + error->get<std::string>();
    return "reply";
}

}  // namespace

Connection::Connection(Server& server, UniqueFd fd, Peer peer)
    : server_(server), fd_(std::move(fd)), peer_(peer) {}

Connection::~Connection() {
    // Run here, when the server frees us on the loop iteration after close(), and not in
    // close() itself: close() can happen inside the very code the hook tears down (a Monitor
    // tick whose reply fails to send).
    if (auto hook = std::exchange(close_hook_, nullptr))
        hook();
}

Status Connection::start() {
    sd_event_source* source = nullptr;
    if (int r = sd_event_add_io(server_.loop(), &source, fd_.get(), EPOLLIN, on_io, this); r < 0)
        return make_error(r, "failed to watch a Varlink connection");
    io_.reset(source);
    if (int r = sd_event_add_time_relative(server_.loop(), &source, CLOCK_MONOTONIC,
                                           server_.limits().idle_timeout_usec, 0, on_idle, this);
        r < 0)
        return make_error(r, "failed to add a Varlink idle timer");
    idle_.reset(source);
    if (int r = sd_event_add_defer(server_.loop(), &source, on_continue, this); r < 0)
        return make_error(r, "failed to add a Varlink continuation");
    continue_.reset(source);
    sd_event_source_set_enabled(source, SD_EVENT_OFF);
    return Ok{};
}

int Connection::on_continue(sd_event_source*, void* userdata) {
    auto self = static_cast<Connection*>(userdata)->shared_from_this();
    if (self->closing_)
        return 0;
    if (self->stream_)
        self->pull_stream();
    else
        self->process_input();
    self->update_io_events();
    return 0;
}

void Connection::continue_later() {
    if (continue_)
        sd_event_source_set_enabled(continue_.get(), SD_EVENT_ONESHOT);
}

int Connection::on_io(sd_event_source*, int, uint32_t revents, void* userdata) {
    auto self = static_cast<Connection*>(userdata)->shared_from_this();
    if (revents & EPOLLOUT)
        self->flush();
    // On a hang-up, still read and run what the client sent before it left (a oneway call
    // must take effect), as sd-varlink does; replies fail to send and end the connection.
    if (!self->closing_ && !self->read_closed_ && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        self->read_input();
    // EPOLLHUP on an AF_UNIX stream means the peer is gone both ways (a half-close only
    // brings EOF on read): nothing more can reach it.
    if (!self->closing_ && (revents & (EPOLLHUP | EPOLLERR)))
        self->close("client hung up");
    return 0;
}

int Connection::on_idle(sd_event_source*, uint64_t, void* userdata) {
    auto self = static_cast<Connection*>(userdata)->shared_from_this();
    // Bytes moving either way, or a call that is merely waiting for its next reply (Monitor
    // between readings), keep the connection. A call whose output stands still for a whole
    // period belongs to a client that stopped reading: it would hold its stream (and the
    // memory behind it) for ever.
    if (self->progress_ || (self->busy() && self->out_.empty()))
        self->arm_idle_timer();
    else
        self->close(self->out_.empty() ? "idle timeout" : "client does not read its replies");
    return 0;
}

void Connection::arm_idle_timer() {
    progress_ = false;
    if (!idle_)
        return;
    // A connection without its idle timer could be held open for ever by a silent client:
    // one that cannot be timed out is not kept.
    if (auto status =
            rearm_timer(idle_.get(), server_.limits().idle_timeout_usec, "a Varlink idle timer");
        !status) {
        log_printf(LOG_ERR, "varlink: %s", status.error().message.c_str());
        close("idle timer failed");
    }
}

void Connection::read_input() {
    char buffer[16 * 1024];
    for (;;) {
        ssize_t n = recv(fd_.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n > 0) {
            in_.append(buffer, static_cast<size_t>(n));
            // Bounded memory: a message may not outgrow the limit, and unprocessed pipelined
            // calls may not pile up beyond a few messages' worth either.
            if (in_.size() > server_.limits().max_message_bytes * 4)
                break;
            continue;
        }
        if (n == 0) {
            // A half-close (shutdown(SHUT_WR)): the client has sent everything but still
            // reads. Its calls are answered in full, streams included; the connection closes
            // once nothing is left to do (finish_if_done).
            read_closed_ = true;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            break;
        close("receive failed");
        return;
    }
    arm_idle_timer();
    if (!closing_)
        process_input();
}

void Connection::process_input() {
    if (processing_)
        return;
    processing_ = true;
    // Messages are consumed from `start` and erased once at the end: erasing each from the
    // front would make a buffer of many small calls cost quadratic time.
    size_t start = 0;
    int calls = 0;
    while (!closing_ && !busy() && out_.size() < kOutputBackpressureBytes) {
        if (calls++ == kCallsPerTurn) {
            continue_later();
            break;
        }
        size_t end = in_.find('\0', start);
        if (end == std::string::npos) {
            if (in_.size() - start > server_.limits().max_message_bytes)
                close("message exceeds the size limit");
            break;
        }
        if (end - start > server_.limits().max_message_bytes) {
            close("message exceeds the size limit");
            break;
        }
        std::string_view message(in_.data() + start, end - start);
        start = end + 1;
        handle_message(message);
    }
    if (!closing_)
        in_.erase(0, start);
    processing_ = false;
    update_io_events();
    finish_if_done();
}

void Connection::handle_message(std::string_view text) {
    json message = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (message.is_discarded() || !message.is_object()) {
        close("malformed message (not a JSON object)");
        return;
    }
    for (const auto& item : message.items()) {
        if (!is_call_key(item.key())) {
            log_printf(LOG_DEBUG, "varlink: uid %u sent a call with the key '%s'",
                       static_cast<unsigned>(peer_.uid), item.key().c_str());
            close(item.key() == "upgrade" ? "protocol upgrade requested (not supported)"
                                          : "unknown key in a call");
            return;
        }
    }
    auto method = message.find("method");
    if (method == message.end() || !method->is_string()) {
        close("message without a method");
        return;
    }
    CallInfo call;
    call.method = method->get<std::string>();
    call.peer = peer_;
    for (const char* flag : {"more", "oneway"}) {
        auto it = message.find(flag);
        if (it == message.end() || it->is_null())
            continue;
        if (!it->is_boolean()) {
            close("a call flag is not a boolean");
            return;
        }
        (std::string_view(flag) == "more" ? call.more : call.oneway) = it->get<bool>();
    }
    // sd-varlink: both at once is a protocol violation (a call cannot stream replies that
    // nobody may send).
    if (call.more && call.oneway) {
        close("a call with both more and oneway");
        return;
    }
    uint64_t id = call_id_ = ++next_call_id_;
    more_ = call.more;
    oneway_ = call.oneway;
    Responder responder(weak_from_this(), id, call.method);

    auto params = message.find("parameters");
    if (params == message.end() || params->is_null()) {
        call.parameters = json::object();
    } else if (params->is_object()) {
        call.parameters = std::move(*params);
    } else {
        responder.error(kErrorInvalidParameter, {{"parameter", "parameters"}});
        return;
    }
    server_.dispatch(call, responder);
    if (!live(id))
        return;
    if (call.oneway) {
        end_call();  // nobody waits for it
    } else if (!call.more) {
        // Only "more" calls may answer later; anything else left unanswered is a bug here.
        log_printf(LOG_ERR, "varlink: %s left a call unanswered", call.method.c_str());
        close("internal error");
    }
}

void Connection::end_call() {
    call_id_ = 0;
    more_ = oneway_ = false;
    stream_ = nullptr;
    close_hook_ = nullptr;
}

void Connection::deliver(uint64_t call_id, std::string_view method, std::optional<json> message,
                         bool final) {
    if (closing_)
        return;  // the client has gone: nothing to answer, nothing wrong
    // One final reply per call. What a handler sends after it (a failure after success, a
    // stale Responder) would be read by the client as the answer to its next call: it is a
    // bug in the handler, logged, never sent.
    if (call_id != call_id_) {
        log_printf(LOG_ERR, "varlink: %.*s answered a call that had its final reply; dropped (%s)",
                   static_cast<int>(method.size()), method.data(), describe(message).c_str());
        return;
    }
    if (stream_) {
        log_printf(LOG_ERR, "varlink: %.*s replied beside its stream; dropped (%s)",
                   static_cast<int>(method.size()), method.data(), describe(message).c_str());
        return;
    }
    if (!final && !more_) {
        log_printf(LOG_ERR, "varlink: %.*s sent a continued reply to a call without more; dropped",
                   static_cast<int>(method.size()), method.data());
        return;
    }
    auto self = shared_from_this();
    if (message && !oneway_) {
        if (!final)
            (*message)["continues"] = true;
        out_ += serialize(*message);
    }
    if (final)
        end_call();
    flush();
    if (!closing_ && final && !processing_)
        process_input();
}

void Connection::set_stream(uint64_t call_id, std::string_view method, StreamSource source) {
    if (!live(call_id) || !more_ || stream_) {
        if (!closing_)
            log_printf(LOG_ERR, "varlink: %.*s streamed a call that cannot take a stream; dropped",
                       static_cast<int>(method.size()), method.data());
        return;
    }
    stream_ = std::move(source);
    pull_stream();
}

void Connection::set_close_hook(uint64_t call_id, std::function<void()> hook) {
    if (live(call_id))
        close_hook_ = std::move(hook);
}

void Connection::pull_stream() {
    if (pulling_)
        return;
    auto self = shared_from_this();
    pulling_ = true;
    // A reply is made only when the previous ones have (nearly) left: memory stays at one
    // reply's worth however long the answer, and a client that stops reading stops the
    // stream (and is dropped by the idle timer).
    int replies = 0;
    while (!closing_ && stream_ && out_.size() < kOutputBackpressureBytes) {
        if (replies++ == kStreamRepliesPerTurn) {
            continue_later();
            break;
        }
        StreamItem item;
        try {
            item = stream_();
        } catch (const std::exception& e) {
            log_printf(LOG_ERR, "varlink: a stream of uid %u failed: %s",
                       static_cast<unsigned>(peer_.uid), e.what());
            close("internal error");
            break;
        }
        json message = {{"parameters", std::move(item.parameters)}};
        if (!item.last)
            message["continues"] = true;
        out_ += serialize(message);
        if (item.last)
            end_call();
        flush();
        if (!closing_ && item.last && !processing_)
            process_input();  // may start the next call, and with it another stream
    }
    pulling_ = false;
}

void Connection::flush() {
    size_t sent = 0;
    while (sent < out_.size()) {
        ssize_t n =
            send(fd_.get(), out_.data() + sent, out_.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
            progress_ = true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        close("send failed");
        return;
    }
    out_.erase(0, sent);
    if (out_.size() > server_.limits().max_output_bytes) {
        close("client does not read its replies");
        return;
    }
    update_io_events();
    // Output drained below the backpressure mark: a stream may make its next reply, and
    // calls already read may be waiting for it; no new input need come to wake them.
    if (out_.size() < kOutputBackpressureBytes) {
        if (stream_)
            pull_stream();
        else if (!processing_ && !busy() && in_.find('\0') != std::string::npos)
            process_input();
    }
    finish_if_done();
}

void Connection::finish_if_done() {
    // After a half-close: close once every call is answered and every byte sent.
    if (closing_ || !read_closed_ || busy() || processing_ || !out_.empty() ||
        in_.find('\0') != std::string::npos)
        return;
    close("client closed the connection");
}

void Connection::update_io_events() {
    if (closing_ || !io_)
        return;
    uint32_t events = out_.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT);
    // Reading stops while a call is in flight or output is backed up; the kernel's socket
    // buffer then pushes back on the client. After EOF there is nothing left to read (and a
    // level-triggered EPOLLIN would fire for ever).
    if (!busy() && !read_closed_ && out_.size() < kOutputBackpressureBytes)
        events |= EPOLLIN;
    sd_event_source_set_io_events(io_.get(), events);
}

void Connection::close(const char* why) {
    if (closing_)
        return;
    closing_ = true;
    log_printf(LOG_DEBUG, "varlink: closing connection of uid %u pid %d: %s",
               static_cast<unsigned>(peer_.uid), static_cast<int>(peer_.pid), why);
    io_.reset();
    idle_.reset();
    continue_.reset();
    fd_.reset();
    server_.drop(this);
}

}  // namespace framepace::varlink
