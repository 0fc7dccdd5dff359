#include "daemon/tunables/json.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace framepace {

Expected<TunableOverrides> tunable_overrides_from_json(const nlohmann::json& object) {
    if (!object.is_object())
        return invalid_input("not a JSON object");
    TunableOverrides values{};
    for (const auto& [key, value] : object.items()) {
        const TunableRange* range = find_tunable(key);
        if (!range)
            return invalid_input("unknown tunable '" + key + "'");
        if (!value.is_number_unsigned())
            return invalid_input(key + " is not a non-negative integer");
        uint64_t number = value.get<uint64_t>();
        if (number < range->min || number > range->max)
            return invalid_input(key + "=" + std::to_string(number) + " is out of range [" +
                                 std::to_string(range->min) + ", " + std::to_string(range->max) +
                                 "] " + std::string(range->unit));
        values[tunable_index(*range)] = number;
    }
    return values;
}

nlohmann::json tunable_overrides_to_json(const TunableOverrides& values) {
    nlohmann::json object = nlohmann::json::object();
    for (size_t i = 0; i < values.size(); i++)
        if (values[i])
            object[std::string(kTunableRanges[i].name)] = *values[i];
    return object;
}

}  // namespace framepace
