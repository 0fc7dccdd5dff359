// A JSON document read from a file: the stored tunables, the presets and the manual marks
// are each one such file.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/expected.h"

namespace framepace {

// The JSON document in path; nullopt when there is no such file. An unreadable file or one
// that is not JSON is an error naming it.
Expected<std::optional<nlohmann::json>> read_json_file(const std::string& path);

}  // namespace framepace
