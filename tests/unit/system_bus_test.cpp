// SystemBus against a real bus: a private dbus-daemon, framepaced's sd-event loop, and a
// small service (plain sd-bus) that owns the power-profiles name, changes its ActiveProfile
// and leaves. What the real power-profiles-daemon and logind do is proven in the VM.
#include "daemon/system_bus/system_bus.h"

#include <poll.h>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <spawn.h>
#include <unistd.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <vector>

#include "common/event_loop.h"
#include "daemon/system_bus/power_profile_follower.h"

extern char** environ;
using namespace framepace;
namespace fs = std::filesystem;

namespace {

const BusProperty& kProfiles = PowerProfileFollower::kSources[0];

class Bus : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("framepace-bus-" + std::to_string(getpid()));
        fs::create_directories(dir_);
        std::string address = "unix:path=" + (dir_ / "bus").string();
        std::string address_arg = "--address=" + address;
        // dbus-daemon prints its address once it accepts connections; the socket file alone
        // exists from bind(), before listen(), and a connect then is refused (seen on a
        // loaded machine).
        int ready[2];
        ASSERT_EQ(pipe(ready), 0);
        const char* argv[] = {"dbus-daemon",
                              "--config-file=/usr/share/dbus-1/session.conf",
                              address_arg.c_str(),
                              "--nofork",
                              "--nopidfile",
                              "--print-address=3",
                              nullptr};
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, ready[1], 3);
        int spawned = posix_spawnp(&daemon_, "dbus-daemon", &actions, nullptr,
                                   const_cast<char**>(argv), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(ready[1]);
        ASSERT_EQ(spawned, 0);
        pollfd pfd{ready[0], POLLIN, 0};
        char line[512] = {};
        bool printed = poll(&pfd, 1, 30'000) == 1 && read(ready[0], line, sizeof(line) - 1) > 0;
        close(ready[0]);
        ASSERT_TRUE(printed) << "dbus-daemon did not report its address within 30 s";
        setenv("DBUS_SYSTEM_BUS_ADDRESS", address.c_str(), 1);
        sd_event* raw = nullptr;
        ASSERT_GE(sd_event_new(&raw), 0);
        loop_.reset(raw);
    }
    void TearDown() override {
        if (service_)
            sd_bus_flush_close_unref(service_);
        bus_.reset();
        loop_.reset();
        unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
        if (daemon_ > 0) {
            kill(daemon_, SIGTERM);
            waitpid(daemon_, nullptr, 0);
        }
        fs::remove_all(dir_);
    }
    // Runs the loop until done() or 10 s have passed (a loaded machine can take seconds).
    template <typename Done>
    bool run_until(Done done) {
        for (int i = 0; i < 1000 && !done(); i++)
            sd_event_run(loop_.get(), 10'000);
        return done();
    }
    // Gives whatever might still come 300 ms to arrive.
    void settle() {
        for (int i = 0; i < 30; i++)
            sd_event_run(loop_.get(), 10'000);
    }
    // A power-profiles "service" on its own connection, dispatched by the same loop.
    void start_service(const char* profile) {
        profile_ = profile;
        ASSERT_GE(sd_bus_open_system(&service_), 0);
        ASSERT_GE(sd_bus_attach_event(service_, loop_.get(), 0), 0);
        ASSERT_GE(sd_bus_add_object_vtable(service_, nullptr, kProfiles.path.c_str(),
                                           kProfiles.interface.c_str(), kVtable, this),
                  0);
        ASSERT_GE(sd_bus_request_name(service_, kProfiles.service.c_str(), 0), 0);
    }
    void change_profile(const char* profile) {
        profile_ = profile;
        ASSERT_GE(
            sd_bus_emit_properties_changed(service_, kProfiles.path.c_str(),
                                           kProfiles.interface.c_str(), "ActiveProfile", nullptr),
            0);
    }
    static int get_profile(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                           void* userdata, sd_bus_error*) {
        return sd_bus_message_append(reply, "s", static_cast<Bus*>(userdata)->profile_.c_str());
    }
    static inline const sd_bus_vtable kVtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("ActiveProfile", "s", get_profile, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END};

    fs::path dir_;
    pid_t daemon_ = -1;
    EventLoop loop_;
    std::unique_ptr<SystemBus> bus_;
    sd_bus* service_ = nullptr;
    std::string profile_;
    std::vector<std::optional<std::string>> seen_;
};

}  // namespace

TEST_F(Bus, AnAbsentServiceIsReportedOnceAndNothingBreaks) {
    auto bus = SystemBus::connect(loop_.get());
    ASSERT_TRUE(bus) << bus.error().message;
    bus_ = std::move(*bus);
    ASSERT_TRUE(
        bus_->watch_string_property(kProfiles, [this](const auto& v) { seen_.push_back(v); }));
    ASSERT_TRUE(run_until([&] { return !seen_.empty(); }));
    settle();  // nothing more comes
    ASSERT_EQ(seen_.size(), 1u);
    EXPECT_FALSE(seen_[0]);
}

TEST_F(Bus, AServiceIsFollowedThroughItsChangesDepartureAndReturn) {
    start_service("balanced");
    auto bus = SystemBus::connect(loop_.get());
    ASSERT_TRUE(bus) << bus.error().message;
    bus_ = std::move(*bus);
    ASSERT_TRUE(
        bus_->watch_string_property(kProfiles, [this](const auto& v) { seen_.push_back(v); }));
    ASSERT_TRUE(run_until([&] { return seen_.size() == 1; }));
    EXPECT_EQ(seen_[0], "balanced");

    change_profile("power-saver");
    ASSERT_TRUE(run_until([&] { return seen_.size() == 2; }));
    EXPECT_EQ(seen_[1], "power-saver");

    sd_bus_flush_close_unref(service_);
    service_ = nullptr;
    ASSERT_TRUE(run_until([&] { return seen_.size() == 3; }));
    EXPECT_FALSE(seen_[2]);

    start_service("performance");
    ASSERT_TRUE(run_until([&] { return seen_.size() == 4; }));
    EXPECT_EQ(seen_[3], "performance");
}

TEST_F(Bus, ASignalFromAnyoneButTheNamedSenderIsIgnored) {
    auto bus = SystemBus::connect(loop_.get());
    ASSERT_TRUE(bus) << bus.error().message;
    bus_ = std::move(*bus);
    std::vector<bool> signals;
    ASSERT_TRUE(bus_->watch_bool_signal("org.freedesktop.login1", "/org/freedesktop/login1",
                                        "org.freedesktop.login1.Manager", "PrepareForSleep",
                                        [&](bool going) { signals.push_back(going); }));
    sd_bus* other = nullptr;
    ASSERT_GE(sd_bus_open_system(&other), 0);
    ASSERT_GE(sd_bus_emit_signal(other, "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
                                 "PrepareForSleep", "b", 1),
              0);
    sd_bus_flush(other);
    settle();
    EXPECT_TRUE(signals.empty());
    // The same signal from the owner of the name arrives.
    ASSERT_GE(sd_bus_request_name(other, "org.freedesktop.login1", 0), 0);
    ASSERT_GE(sd_bus_emit_signal(other, "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
                                 "PrepareForSleep", "b", 1),
              0);
    sd_bus_flush(other);
    ASSERT_TRUE(run_until([&] { return !signals.empty(); }));
    EXPECT_TRUE(signals[0]);
    sd_bus_flush_close_unref(other);
}

TEST_F(Bus, NoInhibitorWithoutLogindIsAnErrorNotAThrow) {
    auto bus = SystemBus::connect(loop_.get());
    ASSERT_TRUE(bus) << bus.error().message;
    bus_ = std::move(*bus);
    std::optional<std::string> error;
    bus_->inhibit("sleep", "test", "test", "delay",
                  [&](Expected<UniqueFd> fd) { error = fd ? "" : fd.error().message; });
    ASSERT_TRUE(run_until([&] { return error.has_value(); }));
    EXPECT_NE(error->find("logind refused the inhibitor"), std::string::npos) << *error;
}

TEST(BusAbsent, NoBusIsAnErrorNotAThrow) {
    setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/framepace-bus", 1);
    sd_event* raw = nullptr;
    ASSERT_GE(sd_event_new(&raw), 0);
    EventLoop loop(raw);
    auto bus = SystemBus::connect(loop.get());
    unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
    ASSERT_FALSE(bus);
    EXPECT_NE(bus.error().message.find("cannot connect to the system bus"), std::string::npos);
}

TEST_F(Bus, ANameIsWatchedFromAbsentToOwnedAndBack) {
    auto bus = SystemBus::connect(loop_.get());
    ASSERT_TRUE(bus) << bus.error().message;
    bus_ = std::move(*bus);
    std::vector<bool> presence;
    ASSERT_TRUE(bus_->watch_name("org.freedesktop.login1", [&](bool p) { presence.push_back(p); }));
    ASSERT_TRUE(run_until([&] { return presence.size() == 1; }));
    EXPECT_FALSE(presence[0]);
    sd_bus* owner = nullptr;
    ASSERT_GE(sd_bus_open_system(&owner), 0);
    ASSERT_GE(sd_bus_request_name(owner, "org.freedesktop.login1", 0), 0);
    ASSERT_TRUE(run_until([&] { return presence.size() == 2; }));
    EXPECT_TRUE(presence[1]);
    sd_bus_flush_close_unref(owner);
    ASSERT_TRUE(run_until([&] { return presence.size() == 3; }));
    EXPECT_FALSE(presence[2]);
}
