#include "varlink/server/varlink_server.h"

#include <algorithm>
#include <cerrno>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "common/clock.h"
#include "varlink/server/connection.h"
#include "common/log.h"
#include "varlink/server/params.h"

namespace framepace::varlink {

const char* const kVarlinkServiceIdl =
    R"IDL(# The Varlink Service Interface is provided by every varlink service. It
# describes the service and the interfaces it implements.
interface org.varlink.service

# Get a list of all the interfaces a service provides and information
# about the implementation.
method GetInfo() -> (
  vendor: string,
  product: string,
  version: string,
  url: string,
  interfaces: []string
)

# Get the description of an interface that is implemented by this service.
method GetInterfaceDescription(interface: string) -> (description: string)

# The requested interface was not found.
error InterfaceNotFound (interface: string)

# The requested method was not found
error MethodNotFound (method: string)

# The interface defines the requested method, but the service does not
# implement it.
error MethodNotImplemented (method: string)

# One of the passed parameters is invalid.
error InvalidParameter (parameter: string)

# Client is denied access
error PermissionDenied ()

# Method is expected to be called with 'more' set to true, but wasn't
error ExpectedMore ()
)IDL";

bool Responder::connected() const {
    auto connection = connection_.lock();
    return connection && connection->live(call_id_);
}

void Responder::send(json message, bool final) {
    if (auto connection = connection_.lock())
        connection->deliver(call_id_, method_, std::move(message), final);
}

void Responder::reply(json parameters) { send(json{{"parameters", std::move(parameters)}}, true); }

void Responder::reply_more(json parameters) {
    send(json{{"parameters", std::move(parameters)}}, false);
}

void Responder::error(std::string_view name, json parameters) {
    send(json{{"error", name}, {"parameters", std::move(parameters)}}, true);
}

void Responder::stream(StreamSource source) {
    if (auto connection = connection_.lock())
        connection->set_stream(call_id_, method_, std::move(source));
}

void Responder::on_close(std::function<void()> hook) {
    if (auto connection = connection_.lock())
        connection->set_close_hook(call_id_, std::move(hook));
}

Server::Server(sd_event* loop, ServiceInfo info, Limits limits)
    : loop_(loop),
      info_(std::move(info)),
      limits_(limits),
      refusals_(limits.refusal_log_interval_usec),
      clock_(monotonic_usec) {}

Server::~Server() {
    // Connections hold a reference to us; end them first.
    connections_.clear();
    closed_.clear();
}

void Server::add_interface(InterfaceSpec spec) { interfaces_.push_back(std::move(spec)); }

Status Server::listen(UniqueFd fd) {
    sd_event_source* source = nullptr;
    if (int r = sd_event_add_io(loop_, &source, fd.get(), EPOLLIN, on_accept, this); r < 0)
        return make_error(r, "failed to watch the Varlink socket");
    listeners_.emplace_back(std::move(fd), EventSource(source));
    return Ok{};
}

int Server::on_accept(sd_event_source*, int, uint32_t, void* userdata) {
    static_cast<Server*>(userdata)->accept_one();
    return 0;
}

void Server::accept_one() {
    for (auto& [listen_fd, source] : listeners_) {
        UniqueFd fd(accept4(listen_fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd.valid())
            continue;
        ucred cred{};
        socklen_t len = sizeof(cred);
        if (getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
            continue;
        // Refusals (-EMFILE) were logged, rate-limited, by add_connection.
        if (auto status = add_connection(std::move(fd), Peer{cred.uid, cred.pid});
            !status && status.error().code != -EMFILE)
            log_printf(LOG_WARNING, "varlink: %s", status.error().message.c_str());
    }
}

Status Server::refuse(const Peer& peer, const char* why) {
    std::string message = "refusing a connection of uid " + std::to_string(peer.uid) + " (pid " +
                          std::to_string(peer.pid) + "): " + why;
    if (auto suppressed = refusals_.refused(clock_())) {
        if (*suppressed)
            log_printf(LOG_WARNING, "varlink: %s (%llu more refused since the last report)",
                       message.c_str(), static_cast<unsigned long long>(*suppressed));
        else
            log_printf(LOG_WARNING, "varlink: %s", message.c_str());
    }
    return Error{-EMFILE, std::move(message)};
}

Status Server::add_connection(UniqueFd fd, Peer peer) {
    // Over a cap the connection is closed at once (fd goes out of scope): the client sees
    // EOF, everyone else is served as before. Root is bound by the total only, and the last
    // root_reserved_connections slots are its alone, so no user can lock the admin out.
    if (connections_.size() >= limits_.max_connections)
        return refuse(peer, "too many connections");
    if (peer.uid != 0) {
        size_t reserved = std::min(limits_.root_reserved_connections, limits_.max_connections);
        if (connections_.size() >= limits_.max_connections - reserved)
            return refuse(peer, "the remaining connections are reserved for root");
        size_t same_uid = 0;
        for (const auto& [ptr, connection] : connections_)
            same_uid += connection->peer().uid == peer.uid;
        if (same_uid >= limits_.max_connections_per_uid)
            return refuse(peer, "too many connections of this user");
    }
    auto connection = std::make_shared<Connection>(*this, std::move(fd), peer);
    if (auto status = connection->start(); !status)
        return status;
    connections_.emplace(connection.get(), std::move(connection));
    return Ok{};
}

void Server::drop(Connection* connection) {
    // The caller is a member function of the connection: it is freed on the next loop
    // iteration, not under its own feet.
    auto it = connections_.find(connection);
    if (it == connections_.end())
        return;
    closed_.push_back(std::move(it->second));
    connections_.erase(it);
    if (!reaper_) {
        sd_event_source* source = nullptr;
        if (sd_event_add_defer(loop_, &source, on_reap, this) < 0)
            return;  // freed with the server instead
        reaper_.reset(source);
    }
    sd_event_source_set_enabled(reaper_.get(), SD_EVENT_ONESHOT);
}

int Server::on_reap(sd_event_source*, void* userdata) {
    static_cast<Server*>(userdata)->closed_.clear();
    return 0;
}

void Server::builtin_get_info(Responder& responder) const {
    json interfaces = json::array({"org.varlink.service"});
    for (const auto& spec : interfaces_)
        interfaces.push_back(spec.name);
    responder.reply({{"vendor", info_.vendor},
                     {"product", info_.product},
                     {"version", info_.version},
                     {"url", info_.url},
                     {"interfaces", interfaces}});
}

void Server::builtin_get_interface_description(const CallInfo& call, Responder& responder) const {
    std::string name;
    if (auto bad = ParamTable().required_string("interface", &name).decode(call.parameters))
        return responder.error(kErrorInvalidParameter, {{"parameter", *bad}});
    if (name == "org.varlink.service")
        return responder.reply({{"description", kVarlinkServiceIdl}});
    for (const auto& spec : interfaces_)
        if (spec.name == name)
            return responder.reply({{"description", spec.description}});
    responder.error(kErrorInterfaceNotFound, {{"interface", name}});
}

void Server::dispatch(const CallInfo& call, Responder responder) {
    size_t dot = call.method.rfind('.');
    if (dot == std::string::npos || dot == 0)
        return responder.error(kErrorInterfaceNotFound, {{"interface", call.method}});
    std::string_view interface = std::string_view(call.method).substr(0, dot);
    std::string_view method = std::string_view(call.method).substr(dot + 1);

    if (interface == "org.varlink.service") {
        if (method == "GetInfo")
            return builtin_get_info(responder);
        if (method == "GetInterfaceDescription")
            return builtin_get_interface_description(call, responder);
        return responder.error(kErrorMethodNotFound, {{"method", call.method}});
    }
    for (const auto& spec : interfaces_) {
        if (spec.name != interface)
            continue;
        auto it = spec.methods.find(method);
        if (it == spec.methods.end())
            return responder.error(kErrorMethodNotFound, {{"method", call.method}});
        if (it->second.requires_root && call.peer.uid != 0)
            return responder.error(kErrorPermissionDenied);
        if (!it->second.handler)
            return responder.error(kErrorMethodNotImplemented, {{"method", call.method}});
        // Nothing may be thrown back into sd-event's C code.
        try {
            it->second.handler(call, responder);
        } catch (const std::exception& e) {
            log_printf(LOG_ERR, "varlink: %s failed: %s", call.method.c_str(), e.what());
            responder.error(kErrorMethodNotImplemented, {{"method", call.method}});
        }
        return;
    }
    responder.error(kErrorInterfaceNotFound, {{"interface", std::string(interface)}});
}

Expected<UniqueFd> bind_unix_socket(const std::string& path, mode_t mode) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path))
        return invalid_input("socket path '" + path + "' is empty or too long");
    path.copy(addr.sun_path, path.size());
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid())
        return make_error(-errno, "failed to create a socket");
    ::unlink(path.c_str());
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0)
        return make_error(-errno, "failed to bind " + path);
    if (chmod(path.c_str(), mode) < 0)
        return make_error(-errno, "failed to set the mode of " + path);
    if (::listen(fd.get(), SOMAXCONN) < 0)
        return make_error(-errno, "failed to listen on " + path);
    return fd;
}

}  // namespace framepace::varlink
