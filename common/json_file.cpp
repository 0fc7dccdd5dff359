#include "common/json_file.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace framepace {

Expected<std::optional<nlohmann::json>> read_json_file(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return std::optional<nlohmann::json>();
    std::ifstream in(path);
    if (!in)
        return invalid_input("cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    auto doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded())
        return invalid_input(path + ": not JSON");
    return std::optional<nlohmann::json>(std::move(doc));
}

}  // namespace framepace
