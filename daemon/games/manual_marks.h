// MarkGame/UnmarkGame choices on disk (the StateDirectory, /var/lib/framepace/marks.json), so
// that they survive a daemon crash, a watchdog kill and the adoption that follows, and any
// other restart, for as long as the marked process lives. The kept BPF classes map could not
// carry them: it holds no "not a game" entries and no marker of a manual decision. A pid
// is only trusted with its start time and within the boot that wrote it: a reused pid or a
// rebooted system does not inherit a mark.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/atomic_file.h"
#include "common/expected.h"

namespace framepace {

struct ManualMark {
    uint32_t pid = 0;
    uint64_t start_time = 0;   // /proc/PID/stat field 22
    bool game = true;          // false: UnmarkGame (not a game until it exits)

    bool operator==(const ManualMark&) const = default;
};

class ManualMarkStore {
public:
    ManualMarkStore(std::filesystem::path path, std::string boot_id)
        : path_(std::move(path)), boot_id_(std::move(boot_id)) {}

    // The marks of this boot; none when there is no file or it is from another boot. A file
    // that is not ours is an error naming it (the caller starts without marks).
    Expected<std::vector<ManualMark>> load() const;
    // Atomically (write_file_atomically); an empty list leaves an empty file.
    Status save(const std::vector<ManualMark>& marks, const FileSystemCalls& calls = {}) const;

private:
    std::filesystem::path path_;
    std::string boot_id_;
};

// /proc/sys/kernel/random/boot_id, or "" when it cannot be read.
std::string read_boot_id();

}  // namespace framepace
