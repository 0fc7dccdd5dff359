#include "tunables_store.h"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "tunables_json.h"
#include "unique_fd.h"

namespace framepace {

Expected<TunableOverrides> TunablesStore::load() const {
    auto doc = read_json_file(path_.string());
    if (!doc)
        return doc.error();
    if (!*doc)
        return TunableOverrides{};
    auto parsed = tunable_overrides_from_json(**doc);
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
