#include "daemon/tunables/presets.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/json_file.h"
#include "daemon/tunables/json.h"

namespace framepace {
namespace {

TunablePreset make_preset(std::string name,
                          std::initializer_list<std::pair<std::string_view, uint64_t>> values) {
    TunablePreset preset{std::move(name), {}};
    for (const auto& [tunable, value] : values)
        preset.values[tunable_index(*find_tunable(tunable))] = value;
    return preset;
}

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > 64)
        return false;
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
            return false;
    return true;
}

}  // namespace

const TunablePreset* PresetTable::find(std::string_view name) const {
    for (const auto& preset : presets)
        if (preset.name == name)
            return &preset;
    return nullptr;
}

const TunablePreset* PresetTable::for_profile(std::string_view profile) const {
    for (const auto& [name, preset] : profiles)
        if (name == profile)
            return find(preset);
    return nullptr;
}

PresetTable builtin_presets() {
    PresetTable table;
    // Shorter batch slices and earlier spreading over the shared queue cut the wait of woken
    // game threads; longer boosts cover a whole 120 Hz frame.
    table.presets.push_back(make_preset("low-latency", {{"slice_batch_ns", 3'000'000},
                                                        {"shared_util_pct", 60},
                                                        {"boost_window_ns", 8'000'000},
                                                        {"migration_interval_ns", 500'000}}));
    table.presets.push_back(make_preset("default", {}));
    // Fewer preemptions and migrations: longer slices, tasks stay on their CPU's queue.
    table.presets.push_back(make_preset("power-saving", {{"slice_normal_ns", 6'000'000},
                                                         {"slice_batch_ns", 20'000'000},
                                                         {"shared_util_pct", 90},
                                                         {"boost_window_ns", 2'000'000},
                                                         {"migration_interval_ns", 4'000'000}}));
    table.profiles = {
        {"performance", "low-latency"}, {"balanced", "default"}, {"power-saver", "power-saving"}};
    return table;
}

Expected<PresetTable> load_presets(const std::string& path) {
    PresetTable table = builtin_presets();
    auto file = read_json_file(path);
    if (!file)
        return file.error();
    if (!*file)
        return table;
    const nlohmann::json& doc = **file;
    if (!doc.is_object())
        return invalid_input(path + ": not a JSON object");

    for (const auto& [key, value] : doc.items()) {
        if (key != "presets" && key != "profiles")
            return invalid_input(path + ": unknown key '" + key + "' (expected presets, profiles)");
        if (!value.is_object())
            return invalid_input(path + ": " + key + " is not an object");
    }
    if (doc.contains("presets")) {
        for (const auto& [name, values] : doc["presets"].items()) {
            if (!valid_name(name))
                return invalid_input(path + ": preset name '" + name +
                                     "' is not 1-64 letters, digits, '-', '_' or '.'");
            auto parsed = tunable_overrides_from_json(values);
            if (!parsed)
                return invalid_input(path + ": preset " + name + ": " + parsed.error().message);
            auto existing = std::find_if(table.presets.begin(), table.presets.end(),
                                         [&](const TunablePreset& p) { return p.name == name; });
            if (existing != table.presets.end())
                existing->values = *parsed;
            else
                table.presets.push_back({name, *parsed});
        }
    }
    if (doc.contains("profiles")) {
        for (const auto& [profile, preset] : doc["profiles"].items()) {
            if (!valid_name(profile))
                return invalid_input(path + ": profile name '" + profile + "' is not valid");
            if (!preset.is_string() || !table.find(preset.get<std::string>()))
                return invalid_input(path + ": profile " + profile + " maps to " + preset.dump() +
                                     ", which is not a preset");
            bool replaced = false;
            for (auto& entry : table.profiles)
                if (entry.first == profile) {
                    entry.second = preset.get<std::string>();
                    replaced = true;
                }
            if (!replaced)
                table.profiles.emplace_back(profile, preset.get<std::string>());
        }
    }
    return table;
}

}  // namespace framepace
