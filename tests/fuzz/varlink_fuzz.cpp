// libFuzzer target: bytes from a client, in chunks of fuzzer-chosen size, through the real
// Varlink framing and dispatch, with the production limits (Limits{}), into the real
// io.framepace.Scheduler methods over a fake scheduler service (the real GameTracker on a
// fake /proc; stats and a 450-task list standing in for the BPF readings) and a small test
// interface. Checks, besides ASan/UBSan:
//   - every reply is a NUL-terminated JSON object;
//   - one final reply per call, in call order, none for oneway calls, "continues" only for
//     calls made with "more": the client side works out from the bytes it sent which calls
//     the server must answer (a model of the framing rules), and compares;
//   - no Monitor stream outlives its connection.
//   input[0]: peer is root (odd) or uid 1000; input[1]: chunk size; the rest: the stream.
// Run with -max_len above 64 KiB (run-bounded.sh does) so that inputs cross the message cap.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "fake_proc.h"
#include "fake_scheduler_service.h"
#include "common/log.h"
#include "varlink/server/params.h"
#include "varlink/scheduler_methods.h"
#include "varlink/server/varlink_server.h"

using namespace framepace;
using namespace framepace::varlink;

namespace {

sd_event* shared_loop() {
    static sd_event* loop = [] {
        sd_event* e = nullptr;
        if (sd_event_new(&e) < 0)
            abort();
        return e;
    }();
    return loop;
}

// A /proc with two processes (pids 4242 and 4243) for MarkGame/UnmarkGame.
const std::filesystem::path& fake_proc() {
    static const framepace::testing::FakeProc proc{4242, 4243};
    return proc.root();
}

SchedulerReadings fake_readings() {
    SchedulerReadings readings;
    readings.stats = [] {
        return Expected<json>(json{{"timestamp_usec", 1},
                                   {"counters", {{"runs", 7}}},
                                   {"ringbufs", json::array()},
                                   {"events", json::object()}});
    };
    readings.tasks = [] {
        std::vector<fp_task_record> tasks(450);   // three replies
        for (size_t i = 0; i < tasks.size(); i++) {
            tasks[i].pid = tasks[i].tid = static_cast<uint32_t>(i + 1);
            tasks[i].comm[0] = static_cast<char>(0x80 + i % 64);   // invalid UTF-8 on purpose
        }
        return Expected<std::vector<fp_task_record>>(std::move(tasks));
    };
    return readings;
}

InterfaceSpec test_interface() {
    InterfaceSpec spec;
    spec.name = "io.fuzz.Test";
    spec.description = "interface io.fuzz.Test\n";
    spec.methods["Echo"] = {[](const CallInfo& call, Responder r) { r.reply(call.parameters); }};
    spec.methods["Typed"] = {[](const CallInfo& call, Responder r) {
        std::optional<uint64_t> n;
        std::optional<bool> flag;
        std::string name;
        if (auto bad = ParamTable()
                           .optional_uint("n", &n, 1, 100)
                           .optional_bool("flag", &flag)
                           .required_string("name", &name)
                           .decode(call.parameters))
            return r.error(kErrorInvalidParameter, {{"parameter", *bad}});
        r.reply({{"name", name}});
    }};
    spec.methods["Stream"] = {[](const CallInfo& call, Responder r) {
        if (!call.more)
            return r.error(kErrorExpectedMore);
        r.reply_more({{"i", 1}});
        r.reply({{"i", 2}});
    }};
    // A handler bug the server must contain: a second final reply.
    spec.methods["Twice"] = {[](const CallInfo&, Responder r) {
        r.reply();
        r.error(kErrorMethodNotImplemented);
    }};
    spec.methods["Root"] = {[](const CallInfo&, Responder r) { r.reply(); }, true};
    spec.methods["Missing"] = {nullptr};
    return spec;
}

// What the server must do with the bytes sent: the calls it answers, in order, up to the
// first message that closes the connection. Mirrors Connection's framing rules.
struct ExpectedCall {
    bool oneway = false;
    bool more = false;
    bool endless = false;   // a Monitor stream: answered until the connection ends
};

std::vector<ExpectedCall> expected_calls(std::string_view stream, size_t max_message,
                                         bool* violation) {
    std::vector<ExpectedCall> calls;
    *violation = false;
    size_t start = 0;
    for (;;) {
        size_t end = stream.find('\0', start);
        if (end == std::string_view::npos) {
            // A partial message at EOF is dropped; one over the cap closes the connection.
            *violation = stream.size() - start > max_message;
            return calls;
        }
        if (end - start > max_message) {
            *violation = true;
            return calls;
        }
        json message = json::parse(stream.substr(start, end - start), nullptr, false);
        start = end + 1;
        if (message.is_discarded() || !message.is_object()) {
            *violation = true;
            return calls;
        }
        for (const auto& item : message.items())
            if (item.key() != "method" && item.key() != "parameters" && item.key() != "more" &&
                item.key() != "oneway") {
                *violation = true;
                return calls;
            }
        auto method = message.find("method");
        if (method == message.end() || !method->is_string()) {
            *violation = true;
            return calls;
        }
        ExpectedCall call;
        for (const char* flag : {"more", "oneway"}) {
            auto it = message.find(flag);
            if (it == message.end() || it->is_null())
                continue;
            if (!it->is_boolean()) {
                *violation = true;
                return calls;
            }
            (std::string_view(flag) == "more" ? call.more : call.oneway) = it->get<bool>();
        }
        if (call.more && call.oneway) {
            *violation = true;
            return calls;
        }
        // A Monitor that starts never ends by itself; later calls wait behind it for ever.
        call.endless = call.more && *method == "io.framepace.Scheduler.Monitor";
        calls.push_back(call);
    }
}

struct ReplyLog {
    std::string pending;
    std::vector<json> replies;

    void read(int fd) {
        char buffer[1 << 16];
        ssize_t n;
        while ((n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT)) > 0)
            pending.append(buffer, static_cast<size_t>(n));
        size_t end;
        while ((end = pending.find('\0')) != std::string::npos) {
            auto reply = json::parse(pending.substr(0, end), nullptr, false);
            if (reply.is_discarded() || !reply.is_object())
                abort();
            replies.push_back(std::move(reply));
            pending.erase(0, end + 1);
        }
    }
};

void pump(int rounds) {
    for (int i = 0; i < rounds; i++)
        if (sd_event_run(shared_loop(), 0) <= 0)
            break;
}

// The replies must be, call by call (oneway ones skipped): any "continues" replies (only
// for "more" calls) and then exactly one final reply. Exactness needs a clean end: the
// client sent everything and the server answered until EOF without a protocol violation.
void check_replies(const std::vector<ExpectedCall>& calls, const std::vector<json>& replies,
                   bool clean_end) {
    size_t r = 0;
    for (const auto& call : calls) {
        if (call.oneway)
            continue;
        while (r < replies.size() && replies[r].contains("continues")) {
            if (!call.more || replies[r]["continues"] != true)
                abort();
            r++;
        }
        if (r == replies.size()) {
            // Unanswered: only a stream still running, or the connection cut short.
            if (clean_end && !call.endless)
                abort();
            return;
        }
        r++;  // the final reply
        if (call.endless && !replies[r - 1].contains("error"))
            abort();  // a Monitor ends only with an error (or never)
    }
    if (r != replies.size())
        abort();  // a reply nobody asked for: a second final reply, or one to a oneway call
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Handler bugs the server contains (Twice) are logged each time: keep the run quiet.
    log_setup(LogTarget::Stderr, LOG_CRIT);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2)
        return 0;
    const Limits limits;  // production limits
    framepace::testing::FakeSchedulerService service(fake_proc());
    SchedulerMethods methods(service, shared_loop(), fake_readings());
    bool clean_end = false;
    std::vector<ExpectedCall> calls;
    ReplyLog log;
    {
        Server server(shared_loop(), ServiceInfo{"v", "p", "1", "u"}, limits);
        server.add_interface(methods.interface());
        server.add_interface(test_interface());

        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
            abort();
        uid_t uid = (data[0] & 1) ? 0 : 1000;
        if (!server.add_connection(UniqueFd(fds[0]), Peer{uid, 1}))
            abort();
        UniqueFd client(fds[1]);
        size_t chunk = 1 + data[1] % 64 * 64;
        size_t off = 2;
        // A server busy with an endless call (Monitor) reads no further calls on that
        // connection, as varlink has it: once the socket is full, sending stalls for good.
        int stalled = 0;
        while (off < size && stalled < 64) {
            size_t len = std::min(chunk, size - off);
            ssize_t n = send(client.get(), data + off, len, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) {
                off += static_cast<size_t>(n);
                stalled = 0;
            } else if (n < 0 && errno != EAGAIN) {
                break;  // the server closed the connection
            } else {
                stalled++;
            }
            pump(8);
            log.read(client.get());
            if (server.connection_count() == 0)
                break;
        }
        bool all_sent = off == size;
        shutdown(client.get(), SHUT_WR);  // a half-close: the server must still answer all
        for (int i = 0; i < 256 && server.connection_count() > 0; i++) {
            pump(8);
            log.read(client.get());
        }
        log.read(client.get());
        bool violation = false;
        calls = expected_calls(std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2),
                               limits.max_message_bytes, &violation);
        clean_end = all_sent && !violation && server.connection_count() == 0;
    }
    pump(8);
    check_replies(calls, log.replies, clean_end);
    // The server is gone, and with it every connection: no stream may be left.
    if (methods.monitor_count() != 0 || methods.stream_count(0) != 0 ||
        methods.stream_count(1000) != 0)
        abort();
    return 0;
}
