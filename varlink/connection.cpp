#include "connection.h"

#include <cerrno>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "log.h"

namespace framepace::varlink {
namespace {

// Above this much unsent output, stop reading new calls: a pipelining client that does not
// read its replies stalls itself, not the daemon.
constexpr size_t kOutputBackpressureBytes = 64 * 1024;

std::string serialize(const json& message) {
    // Replacing invalid UTF-8 (a task's comm, a kernel message) instead of throwing.
    std::string text = message.dump(-1, ' ', false, json::error_handler_t::replace);
    text.push_back('\0');
    return text;
}

}  // namespace

Connection::Connection(Server& server, UniqueFd fd, Peer peer)
    : server_(server), fd_(std::move(fd)), peer_(peer) {}

Connection::~Connection() = default;

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
    return Ok{};
}

int Connection::on_io(sd_event_source*, int, uint32_t revents, void* userdata) {
    auto self = static_cast<Connection*>(userdata)->shared_from_this();
    if (revents & EPOLLOUT)
        self->flush();
    if (!self->closing_ && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        self->read_input();
    return 0;
}

int Connection::on_idle(sd_event_source*, uint64_t, void* userdata) {
    auto self = static_cast<Connection*>(userdata)->shared_from_this();
    // A streaming call is activity by definition; only a silent, idle client is dropped.
    if (self->busy_)
        self->arm_idle_timer();
    else
        self->close("idle timeout");
    return 0;
}

void Connection::arm_idle_timer() {
    if (!idle_)
        return;
    sd_event_source_set_time_relative(idle_.get(), server_.limits().idle_timeout_usec);
    sd_event_source_set_enabled(idle_.get(), SD_EVENT_ONESHOT);
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
            // The client finished sending; answer what it sent, then close.
            process_input();
            close("client closed the connection");
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            break;
        close("receive failed");
        return;
    }
    arm_idle_timer();
    process_input();
}

void Connection::process_input() {
    if (processing_)
        return;
    processing_ = true;
    while (!closing_ && !busy_ && out_.size() < kOutputBackpressureBytes) {
        size_t end = in_.find('\0');
        if (end == std::string::npos) {
            if (in_.size() > server_.limits().max_message_bytes)
                close("message exceeds the size limit");
            break;
        }
        if (end > server_.limits().max_message_bytes) {
            close("message exceeds the size limit");
            break;
        }
        std::string message = in_.substr(0, end);
        in_.erase(0, end + 1);
        handle_message(message);
    }
    processing_ = false;
    update_io_events();
}

void Connection::handle_message(std::string_view text) {
    json message = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (message.is_discarded() || !message.is_object()) {
        close("malformed message (not a JSON object)");
        return;
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
    busy_ = true;
    oneway_ = call.oneway;
    Responder responder(weak_from_this(), call.oneway);

    auto params = message.find("parameters");
    if (params == message.end() || params->is_null()) {
        call.parameters = json::object();
    } else if (params->is_object()) {
        call.parameters = std::move(*params);
    } else {
        responder.error(kErrorInvalidParameter, {{"parameter", "parameters"}});
        return;
    }
    if (call.more && call.oneway) {
        responder.error(kErrorInvalidParameter, {{"parameter", "oneway"}});
        return;
    }
    server_.dispatch(call, responder);
    // Only "more" calls may answer later; anything else left unanswered is a bug here.
    if (busy_ && !call.more) {
        log_printf(LOG_ERR, "varlink: %s left a call unanswered", call.method.c_str());
        close("internal error");
    }
}

void Connection::deliver(std::optional<json> message, bool final) {
    if (closing_)
        return;
    auto self = shared_from_this();
    if (message && !oneway_) {
        if (!final)
            (*message)["continues"] = true;
        out_ += serialize(*message);
    }
    if (final)
        busy_ = false;
    flush();
    if (!closing_ && final && !processing_)
        process_input();
}

void Connection::flush() {
    while (!out_.empty()) {
        ssize_t n = send(fd_.get(), out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            out_.erase(0, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        close("send failed");
        return;
    }
    if (out_.size() > server_.limits().max_output_bytes) {
        close("client does not read its replies");
        return;
    }
    update_io_events();
    // Output drained below the backpressure mark: calls already read may be waiting for it,
    // and no new input need come to wake them.
    if (!processing_ && !busy_ && out_.size() < kOutputBackpressureBytes &&
        in_.find('\0') != std::string::npos)
        process_input();
}

void Connection::update_io_events() {
    if (closing_ || !io_)
        return;
    uint32_t events = out_.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT);
    // Reading stops while a call is in flight or output is backed up; the kernel's socket
    // buffer then pushes back on the client.
    if (!busy_ && out_.size() < kOutputBackpressureBytes)
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
    fd_.reset();
    server_.drop(this);
}

}  // namespace framepace::varlink
