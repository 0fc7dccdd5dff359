// A SchedulerService with no scheduler attached, for the Varlink method tests and the fuzzer
// (a SchedulerHandle needs a sched_ext kernel): games are kept by the real GameTracker over
// a fake /proc (fake_proc.h), tunables are the defaults, and the test says what the last
// ejection and the power profile were.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "daemon/games/game_tracker.h"
#include "daemon/service/scheduler_service.h"
#include "daemon/tunables/presets.h"
#include "daemon/tunables/tunables.h"

namespace framepace::testing {

class FakeSchedulerService : public SchedulerService {
public:
    explicit FakeSchedulerService(const std::filesystem::path& proc_root)
        : tracker_(proc_root, {}) {}

    // What GetStatus and the calls that need a scheduler report; none: never loaded.
    std::optional<ExitInfo> exit;
    // What GetPowerProfile reports; by default no power-profiles service.
    PowerProfileView profile{std::nullopt, "", builtin_presets()};

    SchedulerHandle* scheduler() override { return nullptr; }
    std::optional<ExitInfo> last_exit() const override { return exit; }
    uint64_t started_usec() const override { return 0; }
    fp_tunables tunables() const override { return default_tunables(); }
    TunableSource tunable_source(size_t) const override { return TunableSource::Default; }
    EventCounts event_counts() const override { return {}; }
    // Never reached through the methods (they refuse first without a scheduler).
    Status set_tunables(const TunableOverrides&, bool) override { return Ok{}; }
    Status reset_tunables() override { return Ok{}; }
    PowerProfileView power_profile() const override { return profile; }
    std::vector<ClassifiedProcess> classified_processes() const override {
        std::vector<ClassifiedProcess> list;
        for (const auto& [pid, entry] : tracker_.processes())
            list.push_back(entry);
        return list;
    }
    Status mark_game(uint32_t pid) override { return tracker_.mark_game(pid); }
    Status unmark_game(uint32_t pid) override { return tracker_.unmark_game(pid); }

private:
    GameTracker tracker_;
};

}  // namespace framepace::testing
