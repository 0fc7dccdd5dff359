#include "daemon/tunables/store.h"

#include "common/json_file.h"

namespace framepace {

Expected<ToleratedOverrides> TunablesStore::load() const {
    auto doc = read_json_file(path_.string());
    if (!doc)
        return doc.error();
    if (!*doc)
        return ToleratedOverrides{};
    auto parsed = tunable_overrides_from_json_tolerant(**doc);
    if (!parsed)
        return invalid_input(path_.string() + ": " + parsed.error().message);
    for (auto& problem : parsed->rejected)
        problem = path_.string() + ": " + problem;
    return *parsed;
}

Status TunablesStore::save(const TunableOverrides& values, const FileSystemCalls& calls) const {
    return write_file_atomically(path_, tunable_overrides_to_json(values).dump(2) + "\n", calls);
}

}  // namespace framepace
