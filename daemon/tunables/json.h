// A set of tunables as a JSON object ({"slice_batch_ns": 6000000, ...}): the stored choices
// and the presets file use this form.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/expected.h"
#include "daemon/tunables/tunables.h"

namespace framepace {

// Every key a tunable, every value a non-negative integer within its range; the error names
// the first key that is not.
Expected<TunableOverrides> tunable_overrides_from_json(const nlohmann::json& object);

nlohmann::json tunable_overrides_to_json(const TunableOverrides& values);

}  // namespace framepace
