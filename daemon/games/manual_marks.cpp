#include "daemon/games/manual_marks.h"

#include <nlohmann/json.hpp>

#include "common/json_file.h"
#include "common/read_file.h"

namespace framepace {

Expected<std::vector<ManualMark>> ManualMarkStore::load() const {
    auto doc = read_json_file(path_.string());
    if (!doc)
        return doc.error();
    std::vector<ManualMark> marks;
    if (!*doc)
        return marks;
    const nlohmann::json& json = **doc;
    auto bad = [&](const std::string& what) { return invalid_input(path_.string() + ": " + what); };
    if (!json.is_object() || !json.contains("boot_id") || !json["boot_id"].is_string() ||
        !json.contains("marks") || !json["marks"].is_array())
        return bad("expected {\"boot_id\": \"...\", \"marks\": [...]}");
    if (json["boot_id"].get<std::string>() != boot_id_)
        return marks;
    for (const auto& item : json["marks"]) {
        if (!item.is_object() || !item.contains("pid") || !item["pid"].is_number_unsigned() ||
            !item.contains("start_time") || !item["start_time"].is_number_unsigned() ||
            !item.contains("game") || !item["game"].is_boolean())
            return bad("a mark is not {\"pid\": N, \"start_time\": N, \"game\": bool}");
        marks.push_back({item["pid"].get<uint32_t>(), item["start_time"].get<uint64_t>(),
                         item["game"].get<bool>()});
    }
    return marks;
}

Status ManualMarkStore::save(const std::vector<ManualMark>& marks,
                             const FileSystemCalls& calls) const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& mark : marks)
        list.push_back({{"pid", mark.pid}, {"start_time", mark.start_time}, {"game", mark.game}});
    nlohmann::json doc = {{"boot_id", boot_id_}, {"marks", std::move(list)}};
    return write_file_atomically(path_, doc.dump(2) + "\n", calls);
}

std::string read_boot_id() {
    return read_first_line("/proc/sys/kernel/random/boot_id").value_or("");
}

}  // namespace framepace
