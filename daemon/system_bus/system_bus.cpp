#include "daemon/system_bus/system_bus.h"

#include <fcntl.h>
#include <map>
#include <sdbus-c++/sdbus-c++.h>
#include <vector>

#include "common/log.h"

namespace framepace {
namespace {

constexpr const char* kBusService = "org.freedesktop.DBus";
constexpr const char* kBusPath = "/org/freedesktop/DBus";
constexpr const char* kPropertiesInterface = "org.freedesktop.DBus.Properties";

Error bus_error(const std::string& what, const sdbus::Error& error) {
    return Error{-EIO, what + ": " + error.getName() + ": " + error.getMessage()};
}

// sd-bus calls our handlers from C: nothing may be thrown through it.
template <typename Function>
void guarded(const char* what, Function&& function) {
    try {
        function();
    } catch (const std::exception& e) {
        log_printf(LOG_WARNING, "D-Bus %s: %s", what, e.what());
    }
}

}  // namespace

// Who owns a well-known name: GetNameOwner once, then NameOwnerChanged.
struct NameWatch {
    std::function<void(const std::string& owner)> on_owner;   // "" when nobody owns it
    std::optional<std::string> owner;                         // nullopt until known
    sdbus::Slot match;

    void set(const std::string& unique) {
        if (owner && *owner == unique)
            return;
        owner = unique;
        on_owner(unique);
    }
};

// One followed property: who owns the service now, and the matches that keep it current.
struct PropertyWatch {
    BusProperty property;
    SystemBus::StringCallback on_value;
    NameWatch name;
    uint64_t epoch = 0;                       // replies for an earlier owner are dropped
    std::unique_ptr<sdbus::IProxy> proxy;     // to the owner's unique name
    sdbus::Slot changed_match;
    sdbus::IConnection* connection = nullptr;

    void set_owner(const std::string& unique) {
        epoch++;
        proxy.reset();
        if (unique.empty()) {
            on_value(std::nullopt);
            return;
        }
        proxy = sdbus::createProxy(*connection, sdbus::ServiceName{unique},
                                   sdbus::ObjectPath{property.path});
        fetch();
    }

    void fetch() {
        proxy->getPropertyAsync(property.name)
            .onInterface(property.interface)
            .uponReplyInvoke(
                [this, epoch = epoch](std::optional<sdbus::Error> error, sdbus::Variant value) {
                    guarded("property reply", [&] {
                        if (epoch != this->epoch)
                            return;
                        if (error) {
                            log_printf(LOG_WARNING, "cannot read %s.%s of %s: %s",
                                       property.interface.c_str(), property.name.c_str(),
                                       property.service.c_str(), error->getMessage().c_str());
                            return;
                        }
                        on_value(value.get<std::string>());
                    });
                });
    }

    void on_properties_changed(sdbus::Message& message) {
        std::string interface;
        std::map<std::string, sdbus::Variant> changed;
        std::vector<std::string> invalidated;
        message >> interface >> changed >> invalidated;
        if (interface != property.interface || !name.owner || name.owner->empty())
            return;
        if (auto it = changed.find(property.name); it != changed.end()) {
            on_value(it->second.get<std::string>());
            return;
        }
        for (const auto& name : invalidated)
            if (name == property.name)
                fetch();
    }
};

struct SystemBus::State {
    std::unique_ptr<sdbus::IConnection> connection;
    std::unique_ptr<sdbus::IProxy> bus_driver;
    std::unique_ptr<sdbus::IProxy> login1;
    std::vector<std::unique_ptr<PropertyWatch>> properties;
    std::vector<std::unique_ptr<NameWatch>> names;
    std::vector<sdbus::Slot> signal_matches;

    // Throws sdbus::Error.
    void start(NameWatch& watch, const std::string& service) {
        NameWatch* raw = &watch;
        watch.match = connection->addMatch(
            "type='signal',sender='" + std::string(kBusService) + "',interface='" + kBusService +
                "',member='NameOwnerChanged',arg0='" + service + "'",
            [raw](sdbus::Message message) {
                guarded("NameOwnerChanged", [&] {
                    std::string name, old_owner, new_owner;
                    message >> name >> old_owner >> new_owner;
                    raw->set(new_owner);
                });
            },
            sdbus::return_slot);
        bus_driver->callMethodAsync("GetNameOwner")
            .onInterface(kBusService)
            .withArguments(service)
            .uponReplyInvoke([raw](std::optional<sdbus::Error> error, std::string owner) {
                guarded("GetNameOwner reply", [&] {
                    // A NameOwnerChanged may have been faster; it is the newer truth.
                    if (!raw->owner)
                        raw->set(error ? std::string() : owner);
                });
            });
    }
};

SystemBus::SystemBus(std::unique_ptr<State> state) : state_(std::move(state)) {}

SystemBus::~SystemBus() {
    if (!state_)
        return;
    guarded("disconnect", [&] {
        // Matches and proxies hold the connection: they go first.
        state_->properties.clear();
        state_->names.clear();
        state_->signal_matches.clear();
        state_->login1.reset();
        state_->bus_driver.reset();
        state_->connection->detachSdEventLoop();
        state_->connection.reset();
    });
}

Expected<std::unique_ptr<SystemBus>> SystemBus::connect(sd_event* loop) {
    auto state = std::make_unique<State>();
    try {
        state->connection = sdbus::createSystemBusConnection();
        state->connection->attachSdEventLoop(loop);
        state->bus_driver = sdbus::createProxy(*state->connection, sdbus::ServiceName{kBusService},
                                               sdbus::ObjectPath{kBusPath});
    } catch (const sdbus::Error& e) {
        return bus_error("cannot connect to the system bus", e);
    }
    return std::unique_ptr<SystemBus>(new SystemBus(std::move(state)));
}

Status SystemBus::watch_string_property(const BusProperty& property, StringCallback on_value) {
    auto watch = std::make_unique<PropertyWatch>();
    watch->property = property;
    watch->on_value = std::move(on_value);
    watch->connection = state_->connection.get();
    PropertyWatch* raw = watch.get();
    watch->name.on_owner = [raw](const std::string& owner) { raw->set_owner(owner); };
    try {
        watch->changed_match = state_->connection->addMatch(
            "type='signal',sender='" + property.service + "',path='" + property.path +
                "',interface='" + kPropertiesInterface + "',member='PropertiesChanged',arg0='" +
                property.interface + "'",
            [raw](sdbus::Message message) {
                guarded("PropertiesChanged", [&] { raw->on_properties_changed(message); });
            },
            sdbus::return_slot);
        state_->start(watch->name, property.service);
    } catch (const sdbus::Error& e) {
        return bus_error("cannot follow " + property.service, e);
    }
    state_->properties.push_back(std::move(watch));
    return Ok{};
}

Status SystemBus::watch_name(const std::string& service, PresenceCallback on_change) {
    auto watch = std::make_unique<NameWatch>();
    watch->on_owner = [on_change = std::move(on_change)](const std::string& owner) {
        on_change(!owner.empty());
    };
    try {
        state_->start(*watch, service);
    } catch (const sdbus::Error& e) {
        return bus_error("cannot watch " + service, e);
    }
    state_->names.push_back(std::move(watch));
    return Ok{};
}

Status SystemBus::watch_bool_signal(const std::string& sender, const std::string& path,
                                    const std::string& interface, const std::string& member,
                                    BoolCallback on_signal) {
    try {
        state_->signal_matches.push_back(state_->connection->addMatch(
            "type='signal',sender='" + sender + "',path='" + path + "',interface='" + interface +
                "',member='" + member + "'",
            [on_signal = std::move(on_signal), member](sdbus::Message message) {
                guarded(member.c_str(), [&] {
                    bool value = false;
                    message >> value;
                    on_signal(value);
                });
            },
            sdbus::return_slot));
    } catch (const sdbus::Error& e) {
        return bus_error("cannot watch " + interface + "." + member, e);
    }
    return Ok{};
}

void SystemBus::inhibit(const std::string& what, const std::string& who, const std::string& why,
                        const std::string& mode, FdCallback on_reply) {
    try {
        if (!state_->login1)
            state_->login1 = sdbus::createProxy(*state_->connection,
                                                sdbus::ServiceName{"org.freedesktop.login1"},
                                                sdbus::ObjectPath{"/org/freedesktop/login1"});
        state_->login1->callMethodAsync("Inhibit")
            .onInterface("org.freedesktop.login1.Manager")
            .withArguments(what, who, why, mode)
            .uponReplyInvoke([on_reply](std::optional<sdbus::Error> error, sdbus::UnixFd fd) {
                guarded("Inhibit reply", [&] {
                    if (error)
                        return on_reply(bus_error("logind refused the inhibitor", *error));
                    UniqueFd owned(fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
                    if (!owned.valid())
                        return on_reply(make_error(-errno, "cannot keep the inhibitor fd"));
                    on_reply(std::move(owned));
                });
            });
    } catch (const sdbus::Error& e) {
        on_reply(bus_error("cannot ask logind for an inhibitor", e));
    }
}

}  // namespace framepace
