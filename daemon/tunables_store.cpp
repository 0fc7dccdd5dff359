#include "tunables_store.h"

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#include "tunables.h"
#include "unique_fd.h"

namespace framepace {

Expected<std::optional<fp_tunables>> TunablesStore::load(const fp_tunables& defaults) const {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec))
        return std::optional<fp_tunables>();
    std::ifstream in(path_);
    if (!in)
        return invalid_input("cannot read " + path_.string());
    std::stringstream text;
    text << in.rdbuf();
    auto doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object())
        return invalid_input(path_.string() + ": not a JSON object");

    fp_tunables tunables = defaults;
    for (const auto& [key, value] : doc.items()) {
        const TunableRange* range = find_tunable(key);
        if (!range)
            return invalid_input(path_.string() + ": unknown tunable '" + key + "'");
        if (!value.is_number_unsigned())
            return invalid_input(path_.string() + ": " + key + " is not a non-negative integer");
        tunable_ref(tunables, *range) = value.get<uint64_t>();
    }
    if (auto status = validate_tunables(tunables); !status)
        return invalid_input(path_.string() + ": " + status.error().message);
    return std::optional<fp_tunables>(tunables);
}

Status TunablesStore::save(const fp_tunables& tunables) const {
    nlohmann::json doc = nlohmann::json::object();
    for (const auto& range : kTunableRanges)
        doc[std::string(range.name)] = tunable_value(tunables, range);
    std::string text = doc.dump(2) + "\n";

    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (ec)
        return make_error(-ec.value(), "cannot create " + path_.parent_path().string());
    std::string tmp = path_.string() + ".tmp";
    {
        UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd.valid())
            return make_error(-errno, "cannot create " + tmp);
        if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
            return make_error(-errno, "cannot write " + tmp);
        if (fsync(fd.get()) < 0)
            return make_error(-errno, "cannot sync " + tmp);
    }
    if (rename(tmp.c_str(), path_.c_str()) < 0)
        return make_error(-errno, "cannot replace " + path_.string());
    UniqueFd dir(open(path_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.valid())
        fsync(dir.get());
    return Ok{};
}

}  // namespace framepace
