// Named tunable presets and which power profile selects which. Built in: "low-latency" for
// performance, "default" (no change) for balanced, "power-saving" for power-saver. A presets
// file adds presets, replaces built-in ones by name and remaps profiles.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/expected.h"
#include "daemon/tunables/tunables.h"

namespace framepace {

struct TunablePreset {
    std::string name;
    TunableOverrides values{};   // tunables the preset leaves unset keep their default
};

struct PresetTable {
    std::vector<TunablePreset> presets;
    std::vector<std::pair<std::string, std::string>> profiles;   // power profile -> preset

    const TunablePreset* find(std::string_view name) const;
    // Null for a profile nothing maps (tuned-ppd may offer more than the three).
    const TunablePreset* for_profile(std::string_view profile) const;
};

PresetTable builtin_presets();

// The built-ins with the file laid over them; the built-ins alone when there is no file.
//   {"presets": {"NAME": {"TUNABLE": VALUE, ...}, ...}, "profiles": {"PROFILE": "NAME", ...}}
// Errors name the file, the preset or profile, and the problem.
Expected<PresetTable> load_presets(const std::string& path);

}  // namespace framepace
