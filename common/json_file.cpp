#include "common/json_file.h"

#include <cerrno>

#include "common/read_file.h"

namespace framepace {

Expected<std::optional<nlohmann::json>> read_json_file(const std::string& path) {
    auto text = read_whole_file(path);
    if (!text && text.error().code == -ENOENT)
        return std::optional<nlohmann::json>();
    if (!text)
        return text.error();
    auto doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded())
        return invalid_input(path + ": not JSON");
    return std::optional<nlohmann::json>(std::move(doc));
}

}  // namespace framepace
