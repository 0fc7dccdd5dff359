// A set of tunables as a JSON object ({"slice_batch_ns": 6000000, ...}): the stored choices
// and the presets file use this form.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "daemon/tunables/tunables.h"

namespace framepace {

// Every key a tunable, every value a non-negative integer within its range; the error names
// the first key that is not.
Expected<TunableOverrides> tunable_overrides_from_json(const nlohmann::json& object);

// What a file written by another version (or edited by hand) still gives: the entries this
// version takes, and for each one it does not (an unknown name, not an integer, out of the
// range this version accepts) why. Only a value that is not a JSON object is an error.
struct ToleratedOverrides {
    TunableOverrides values{};
    std::vector<std::string> rejected;
};
Expected<ToleratedOverrides> tunable_overrides_from_json_tolerant(const nlohmann::json& object);

nlohmann::json tunable_overrides_to_json(const TunableOverrides& values);

}  // namespace framepace
