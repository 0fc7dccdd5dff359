// A Varlink server on sd-event (libsystemd 252 has no public sd-varlink): NUL-delimited JSON
// over an AF_UNIX stream socket, with org.varlink.service built in.
//
// One call is in flight per connection at a time, so replies leave in call order; a call
// made with "more" keeps the connection busy until its final reply (or the client leaves).
// Exactly one final reply per call (none for oneway): the server drops and logs anything a
// handler sends after it. Bounded everywhere: message size, buffered output, connections in
// total and per uid (with slots only root may take), idle time, and the log lines refused
// connections cost. A connection that breaks a bound is closed; nothing else is affected.
// Where sd-varlink (systemd 257) decides something, this server decides it the same way:
// unknown keys in a call (such as "upgrade") close the connection; a client that half-closes
// still gets the replies to what it sent.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "common/event_loop.h"
#include "common/expected.h"
#include "varlink/server/refusal_log.h"
#include "common/unique_fd.h"

namespace framepace::varlink {

using json = nlohmann::json;

struct Limits {
    size_t max_message_bytes = 64 * 1024;
    // A client that stops reading is dropped here. Replies that could outgrow it (ListTasks)
    // are streamed and produced only as the client reads (Responder::stream).
    size_t max_output_bytes = 1024 * 1024;
    size_t max_connections = 128;
    size_t max_connections_per_uid = 32;     // root is bound by max_connections only
    // Of max_connections, this many only root may take: whatever other users hold, root
    // (systemctl, varlinkctl as admin, the VM tests) still gets in.
    size_t root_reserved_connections = 4;
    uint64_t idle_timeout_usec = 60'000'000;
    // At most one journal line per this long about refused connections (with a count).
    uint64_t refusal_log_interval_usec = 10'000'000;
};

struct Peer {
    uid_t uid = static_cast<uid_t>(-1);
    pid_t pid = 0;
};

struct CallInfo {
    std::string method;     // fully qualified: io.framepace.Scheduler.GetStats
    json parameters;        // always an object
    bool more = false;
    bool oneway = false;
    Peer peer;
};

class Connection;

// One reply of a pulled stream (Responder::stream); last ends the call.
struct StreamItem {
    json parameters;
    bool last = false;
};
using StreamSource = std::function<StreamItem()>;

// Where a call's replies go. Copyable; outlives the handler for streaming calls. Belongs to
// one call: once that call has had its final reply (or the client has gone) every reply
// through it is dropped, and logged if the client is still there (a handler bug).
class Responder {
public:
    Responder() = default;
    Responder(std::weak_ptr<Connection> connection, uint64_t call_id, std::string method)
        : connection_(std::move(connection)), call_id_(call_id), method_(std::move(method)) {}

    // True while the call can still be answered: the client is there and no final reply
    // has gone out.
    bool connected() const;
    void reply(json parameters = json::object());
    // A reply with "continues": true; only valid for calls made with "more".
    void reply_more(json parameters);
    void error(std::string_view name, json parameters = json::object());
    // Answers a "more" call with replies pulled from source as the client reads them: the
    // server asks for the next one whenever its buffered output has drained, so a long
    // answer costs one reply's worth of memory instead of all of it. The item marked last
    // ends the call.
    void stream(StreamSource source);
    // Runs once if the connection closes while this call is still unanswered or streaming,
    // so that whatever drives the call (a Monitor timer) is freed then, not at its next
    // tick. Dropped when the call ends normally.
    void on_close(std::function<void()> hook);

private:
    void send(json message, bool final);
    std::weak_ptr<Connection> connection_;
    uint64_t call_id_ = 0;
    std::string method_;   // for the log line about a reply that came too late
};

using MethodHandler = std::function<void(const CallInfo&, Responder)>;

struct MethodSpec {
    MethodHandler handler;        // null: MethodNotImplemented
    bool requires_root = false;   // PermissionDenied for any other peer
};

struct InterfaceSpec {
    std::string name;
    std::string description;      // the IDL text, served verbatim
    std::map<std::string, MethodSpec, std::less<>> methods;  // short names
};

struct ServiceInfo {
    std::string vendor, product, version, url;
};

class Server {
public:
    Server(sd_event* loop, ServiceInfo info, Limits limits = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    void add_interface(InterfaceSpec spec);

    // Serves a listening socket (from systemd or bind_unix_socket). Takes ownership.
    Status listen(UniqueFd fd);

    // Serves one already connected, non-blocking stream socket (accepted ones, and
    // socketpairs in tests and the fuzzer). Refused over the connection caps.
    Status add_connection(UniqueFd fd, Peer peer);

    size_t connection_count() const { return connections_.size(); }

    // The clock of the refusal log (CLOCK_MONOTONIC by default); tests pass their own.
    void set_clock(std::function<uint64_t()> clock) { clock_ = std::move(clock); }

    // Used by Connection.
    void dispatch(const CallInfo& call, Responder responder);
    void drop(Connection* connection);
    const Limits& limits() const { return limits_; }
    sd_event* loop() const { return loop_; }

private:
    static int on_accept(sd_event_source* source, int fd, uint32_t revents, void* userdata);
    static int on_reap(sd_event_source* source, void* userdata);
    void accept_one();
    Status refuse(const Peer& peer, const char* why);
    void builtin_get_info(Responder& responder) const;
    void builtin_get_interface_description(const CallInfo& call, Responder& responder) const;

    sd_event* loop_;
    ServiceInfo info_;
    Limits limits_;
    std::vector<InterfaceSpec> interfaces_;
    std::vector<std::pair<UniqueFd, EventSource>> listeners_;
    std::map<Connection*, std::shared_ptr<Connection>> connections_;
    std::vector<std::shared_ptr<Connection>> closed_;   // freed by reaper_
    EventSource reaper_;
    RefusalLog refusals_;
    std::function<uint64_t()> clock_;
};

// Creates, binds and listens on an AF_UNIX stream socket at path (replacing a stale socket
// file), for development outside systemd (--listen PATH).
Expected<UniqueFd> bind_unix_socket(const std::string& path, mode_t mode);

// The org.varlink.service interface description.
extern const char* const kVarlinkServiceIdl;

// Standard error names.
inline constexpr const char* kErrorInterfaceNotFound = "org.varlink.service.InterfaceNotFound";
inline constexpr const char* kErrorMethodNotFound = "org.varlink.service.MethodNotFound";
inline constexpr const char* kErrorMethodNotImplemented =
    "org.varlink.service.MethodNotImplemented";
inline constexpr const char* kErrorInvalidParameter = "org.varlink.service.InvalidParameter";
inline constexpr const char* kErrorPermissionDenied = "org.varlink.service.PermissionDenied";
inline constexpr const char* kErrorExpectedMore = "org.varlink.service.ExpectedMore";

}  // namespace framepace::varlink
