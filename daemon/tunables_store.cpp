#include "tunables_store.h"

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#include "tunables_json.h"
#include "unique_fd.h"

namespace framepace {

Expected<TunableOverrides> TunablesStore::load() const {
    TunableOverrides values{};
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec))
        return values;
    std::ifstream in(path_);
    if (!in)
        return invalid_input("cannot read " + path_.string());
    std::stringstream text;
    text << in.rdbuf();
    auto doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded())
        return invalid_input(path_.string() + ": not JSON");

    auto parsed = tunable_overrides_from_json(doc);
    if (!parsed)
        return invalid_input(path_.string() + ": " + parsed.error().message);
    return *parsed;
}

Status TunablesStore::save(const TunableOverrides& values) const {
    std::string text = tunable_overrides_to_json(values).dump(2) + "\n";

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
