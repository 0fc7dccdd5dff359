// The daemon's side of the system bus: power profiles select tunable presets, and the
// scheduler is quieted before sleep and checked after resume. Everything here is optional:
// without a bus, logind or a power-profiles service the daemon runs as before.
#include <string>

#include "common/clock.h"
#include "framepaced/daemon.h"
#include "common/log.h"
#include "common/message_ids.h"
#include "daemon/scheduler/sched_ext_sysfs.h"

namespace framepace {
namespace {

std::string names_where(const TunablePreset& preset, const TunableLayers& layers, bool applied) {
    std::string names;
    for (size_t i = 0; i < preset.values.size(); i++) {
        if (!preset.values[i] || (layers.source(i) == TunableSource::Preset) != applied)
            continue;
        names += (names.empty() ? "" : " ") + std::string(kTunableRanges[i].name);
    }
    return names;
}

}  // namespace

void Daemon::apply_layers_or_log(const std::string& why) {
    if (auto status = apply_layers(why); !status)
        log_printf(LOG_ERR, "%s: %s", why.c_str(), status.error().message.c_str());
}

void Daemon::connect_system_bus() {
    if (!options_.dbus) {
        apply_layers_or_log("tunables without power profiles (--no-dbus)");
        return;
    }
    auto bus = SystemBus::connect(loop_.get());
    if (!bus) {
        log_printf(LOG_INFO, "no D-Bus system bus (%s): no power profiles, no sleep handling",
                   bus.error().message.c_str());
        apply_layers_or_log("tunables without power profiles (no system bus)");
        return;
    }
    bus_ = std::move(*bus);

    profiles_ = std::make_unique<PowerProfileFollower>(
        [this](const std::optional<ActiveProfile>& active) { on_power_profile(active); });
    for (size_t i = 0; i < PowerProfileFollower::kSources.size(); i++) {
        auto status =
            bus_->watch_string_property(PowerProfileFollower::kSources[i],
                                        [this, i](const std::optional<std::string>& profile) {
                                            profiles_->update(i, profile);
                                        });
        if (!status)
            log_printf(LOG_WARNING, "%s", status.error().message.c_str());
    }

    sleep_guard_ = std::make_unique<SleepGuard>(
        *bus_, SleepGuard::Hooks{[this] { before_sleep(); },
                                 [this](uint64_t slept_usec) { after_resume(slept_usec); }});
    if (auto status = sleep_guard_->start(); !status)
        log_printf(LOG_WARNING, "suspend/resume will not be followed: %s",
                   status.error().message.c_str());
}

void Daemon::on_power_profile(const std::optional<ActiveProfile>& active) {
    bool had_preset = !layers_.preset_name().empty();
    const TunablePreset* preset = active ? presets_.for_profile(active->profile) : nullptr;
    layers_.set_preset(preset ? preset->name : "", preset ? preset->values : TunableOverrides{});

    if (!active) {
        // Said once: the follower only reports changes.
        log_printf(LOG_INFO, "%s",
                   had_preset ? "the power-profiles service left the system bus: "
                                "tunables follow no power profile"
                              : "no power-profiles service on the system bus "
                                "(org.freedesktop.UPower.PowerProfiles, "
                                "net.hadess.PowerProfiles): tunables follow no power "
                                "profile");
        apply_layers_or_log("tunables without a power profile");
        return;
    }
    std::string preset_name = preset ? preset->name : "";
    std::string applied = preset ? names_where(*preset, layers_, true) : "";
    std::string kept = preset ? names_where(*preset, layers_, false) : "";
    auto status = apply_layers("tunables for power profile " + active->profile);
    log_structured(status ? LOG_INFO : LOG_ERR, message_id::kPowerProfileChanged,
                   "power profile " + active->profile + " (" + active->service + "): " +
                       (preset ? "preset " + preset_name +
                                     (kept.empty() ? "" : "; explicit choices kept for " + kept)
                               : std::string("no preset maps this profile, tunables unchanged")) +
                       (status ? "" : "; not applied: " + status.error().message),
                   {{"FRAMEPACE_POWER_PROFILE", active->profile},
                    {"FRAMEPACE_PROFILE_SERVICE", active->service},
                    {"FRAMEPACE_PRESET", preset_name},
                    {"FRAMEPACE_PRESET_APPLIED", applied},
                    {"FRAMEPACE_PRESET_OVERRIDDEN", kept}});
}

void Daemon::before_sleep() {
    // No heartbeat while asleep and until the resume check: boosts stay refused meanwhile.
    sd_event_source_set_enabled(heartbeat_timer_.get(), SD_EVENT_OFF);
    bool attached = scheduler() != nullptr;
    if (attached)
        scheduler_->quiesce();
    auto state = read_sched_ext_state();
    log_structured(
        LOG_INFO, message_id::kSystemSleeping,
        std::string("system going to sleep: ") +
            (attached ? "input boosts closed until resume" : "no scheduler attached"),
        {{"FRAMEPACE_SLEEP_PHASE", "suspend"},
         {"FRAMEPACE_SCHED_EXT_STATE", sched_ext_state_text(state)},
         {"FRAMEPACE_ENABLE_SEQ", enable_seq_text(state)},
         {"FRAMEPACE_GENERATION", scheduler_ ? std::to_string(scheduler_->generation()) : ""}});
}

void Daemon::after_resume(uint64_t slept_usec) {
    std::string action = "none";
    if (check_ejected()) {
        action = options_.reload ? "reload" : "exit";
    } else if (scheduler()) {
        // Attached by our link, but is the kernel running it?
        auto state = read_sched_ext_state();
        if (!framepace_running(state)) {
            log_printf(LOG_WARNING, "after resume sched_ext is %s: reloading the scheduler",
                       sched_ext_state_text(state).c_str());
            link_watch_.reset();
            scheduler_->detach();
            keeper_.forget();
            schedule_reload();
            action = "reload";
        }
    } else if (!reload_timer_) {
        action = "no scheduler";
    } else {
        action = "reload pending";
    }
    if (scheduler()) {
        scheduler_->heartbeat(monotonic_usec() * 1000);
    }
    sd_event_source_set_enabled(heartbeat_timer_.get(), SD_EVENT_ONESHOT);

    auto state = read_sched_ext_state();
    bool healthy = action == "none" && scheduler();
    log_structured(healthy ? LOG_INFO : LOG_WARNING, message_id::kSystemResumed,
                   "system resumed after " + std::to_string(slept_usec / 1000) + " ms asleep: " +
                       (healthy ? "scheduler attached and enabled" : "scheduler action: " + action),
                   {{"FRAMEPACE_SLEEP_PHASE", "resume"},
                    {"FRAMEPACE_SLEPT_USEC", std::to_string(slept_usec)},
                    {"FRAMEPACE_SCHED_EXT_STATE", sched_ext_state_text(state)},
                    {"FRAMEPACE_ENABLE_SEQ", enable_seq_text(state)},
                    {"FRAMEPACE_SCHEDULER_HEALTHY", healthy ? "yes" : "no"},
                    {"FRAMEPACE_RESUME_ACTION", action}});
}

}  // namespace framepace
