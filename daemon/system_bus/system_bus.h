// framepaced's view of the D-Bus system bus, dispatched by the daemon's own sd-event loop (no
// extra thread). This module is the only one that uses sdbus-c++: a move between its major
// versions touches system_bus.cpp and nothing else. No sdbus-c++ exception leaves it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <systemd/sd-event.h>

#include "common/expected.h"
#include "common/unique_fd.h"

namespace framepace {

struct BusProperty {
    std::string service;     // well-known name
    std::string path;
    std::string interface;
    std::string name;
};

class SystemBus {
public:
    // The value of a string property; nullopt while the service is not on the bus.
    using StringCallback = std::function<void(const std::optional<std::string>& value)>;
    using BoolCallback = std::function<void(bool value)>;
    using FdCallback = std::function<void(Expected<UniqueFd> fd)>;
    using PresenceCallback = std::function<void(bool present)>;

    // The system bus ($DBUS_SYSTEM_BUS_ADDRESS, else the standard socket), dispatched by loop.
    static Expected<std::unique_ptr<SystemBus>> connect(sd_event* loop);
    ~SystemBus();

    // Follows a string property of a service that may come and go: calls back once with the
    // current value, or nullopt if the service is absent, then on every change, departure and
    // arrival. Never starts the service (calls go to its unique name: no D-Bus activation).
    Status watch_string_property(const BusProperty& property, StringCallback on_value);

    // Whether a well-known name has an owner: once at start, then on every change.
    Status watch_name(const std::string& service, PresenceCallback on_change);

    // A signal with one boolean argument, sent by the owner of the well-known name sender.
    Status watch_bool_signal(const std::string& sender, const std::string& path,
                             const std::string& interface, const std::string& member,
                             BoolCallback on_signal);

    // org.freedesktop.login1.Manager.Inhibit(what, who, why, mode): the fd holds the lock.
    void inhibit(const std::string& what, const std::string& who, const std::string& why,
                 const std::string& mode, FdCallback on_reply);

private:
    struct State;
    explicit SystemBus(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

}  // namespace framepace
