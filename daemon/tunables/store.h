// Tunables that survive a restart: one JSON file, replaced atomically.
#pragma once

#include <filesystem>

#include "common/atomic_file.h"
#include "common/expected.h"
#include "daemon/tunables/json.h"
#include "daemon/tunables/tunables.h"

namespace framepace {

class TunablesStore {
public:
    explicit TunablesStore(std::filesystem::path path) : path_(std::move(path)) {}

    // The stored choices; none when no file exists. A file that is unreadable or not a JSON
    // object is an error naming the file and the problem: the caller keeps the defaults and
    // keeps running. An entry this version does not take (a file written by another version,
    // where a tunable's range was narrowed or a name is new or gone, or one edited by hand)
    // is left out and named in `rejected`, each prefixed with the file: the other choices stay.
    Expected<ToleratedOverrides> load() const;

    // Write to a temporary file in the same directory, fsync, rename over, fsync the
    // directory: after a crash the file is either the old or the new one, never half. Any
    // failed step is an error, and no temporary file stays behind (write_file_atomically).
    Status save(const TunableOverrides& values, const FileSystemCalls& calls = {}) const;

private:
    std::filesystem::path path_;
};

}  // namespace framepace
