#include "daemon/tunables/json.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace framepace {

namespace {

struct TunableEntry {
    size_t index;
    uint64_t value;
};

Expected<TunableEntry> tunable_entry_from_json(const std::string& key,
                                               const nlohmann::json& value) {
    const TunableRange* range = find_tunable(key);
    if (!range)
        return invalid_input("unknown tunable '" + key + "'");
    if (!value.is_number_unsigned())
        return invalid_input(key + " is not a non-negative integer");
    uint64_t number = value.get<uint64_t>();
    if (auto status = check_tunable(*range, number); !status)
        return status.error();
    return TunableEntry{tunable_index(*range), number};
}

}  // namespace

Expected<TunableOverrides> tunable_overrides_from_json(const nlohmann::json& object) {
    auto tolerated = tunable_overrides_from_json_tolerant(object);
    if (!tolerated)
        return tolerated.error();
    if (!tolerated->rejected.empty())
        return invalid_input(tolerated->rejected.front());
    return tolerated->values;
}

Expected<ToleratedOverrides> tunable_overrides_from_json_tolerant(const nlohmann::json& object) {
    if (!object.is_object())
        return invalid_input("not a JSON object");
    ToleratedOverrides result;
    for (const auto& [key, value] : object.items()) {
        auto entry = tunable_entry_from_json(key, value);
        if (entry)
            result.values[entry->index] = entry->value;
        else
            result.rejected.push_back(entry.error().message);
    }
    return result;
}

nlohmann::json tunable_overrides_to_json(const TunableOverrides& values) {
    nlohmann::json object = nlohmann::json::object();
    for (size_t i = 0; i < values.size(); i++)
        if (values[i])
            object[std::string(kTunableRanges[i].name)] = *values[i];
    return object;
}

}  // namespace framepace
