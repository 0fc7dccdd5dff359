// libFuzzer target: bytes from a client, in chunks of fuzzer-chosen size, through the real
// Varlink framing, dispatch and parameter tables. Every reply must be a NUL-terminated JSON
// object; ASan/UBSan catch the rest.
//   input[0]: peer is root (odd) or uid 1000; input[1]: chunk size; the rest: the stream.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <sys/socket.h>

#include "params.h"
#include "varlink_server.h"

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

void pump(int rounds) {
    for (int i = 0; i < rounds; i++)
        if (sd_event_run(shared_loop(), 0) <= 0)
            break;
}

void check_replies(std::string& pending, int fd) {
    char buffer[1 << 16];
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT)) > 0)
        pending.append(buffer, static_cast<size_t>(n));
    size_t end;
    while ((end = pending.find('\0')) != std::string::npos) {
        auto reply = json::parse(pending.substr(0, end), nullptr, false);
        if (reply.is_discarded() || !reply.is_object())
            abort();
        pending.erase(0, end + 1);
    }
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
    spec.methods["Root"] = {[](const CallInfo&, Responder r) { r.reply(); }, true};
    spec.methods["Missing"] = {nullptr};
    return spec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2)
        return 0;
    Limits limits;
    limits.max_message_bytes = 4096;
    limits.max_output_bytes = 64 * 1024;
    Server server(shared_loop(), ServiceInfo{"v", "p", "1", "u"}, limits);
    server.add_interface(test_interface());

    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
        abort();
    uid_t uid = (data[0] & 1) ? 0 : 1000;
    if (!server.add_connection(UniqueFd(fds[0]), Peer{uid, 1}))
        abort();
    UniqueFd client(fds[1]);
    size_t chunk = 1 + data[1] % 64;
    std::string pending;
    for (size_t off = 2; off < size;) {
        size_t len = std::min(chunk, size - off);
        ssize_t n = send(client.get(), data + off, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
            off += static_cast<size_t>(n);
        else if (n < 0 && errno != EAGAIN)
            break;  // the server closed the connection
        pump(4);
        check_replies(pending, client.get());
    }
    shutdown(client.get(), SHUT_WR);
    for (int i = 0; i < 64 && server.connection_count() > 0; i++) {
        pump(4);
        check_replies(pending, client.get());
    }
    pump(4);
    return 0;
}
