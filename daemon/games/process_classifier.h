// Decides what a process is - a game, a compositor, an audio server, or nothing special - from
// what /proc says about it: its environment (Steam), its executable (Proton/Wine), its
// parent (gamescope), its comm, and the user's rules. Pure: tests feed it ProcessInfo.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "bpf/framepace_shared.h"

namespace framepace {

constexpr uint32_t kUnknownUid = UINT32_MAX;

struct ProcessInfo {
    uint32_t pid = 0;
    uint32_t uid = kUnknownUid;         // real uid: who started it
    uint64_t start_time = 0;            // clock ticks after boot: tells a reused pid apart
    std::string comm;
    std::string executable;             // the path exec'd (event) or /proc/PID/exe
    std::string parent_comm;
    // NAME=VALUE: only the variables the classification looks at (EnvironmentNeeds).
    std::vector<std::string> environment;
    bool environment_truncated = false; // see EnvironmentRead::truncated
    size_t environment_bytes_read = 0;
};

// How far a decision can be trusted to be a real game rather than something any local user
// can imitate. When the scheduler's classes map is full, a decision takes the place of a
// weaker one (ClassMapAdmission).
enum class Evidence : uint8_t {
    Weak,    // names anyone can give a process: *.exe, wine-preloader, comm, gamescope's child
    Strong,  // Steam's SteamAppId/SteamGameId, or a rule root wrote into the rules file
    Manual,  // MarkGame (root only)
};

struct Classification {
    fp_class class_id = FP_CLASS_NONE;
    std::string reason;                 // e.g. "steam-env", "wine-exe", "rule:3"
    Evidence evidence = Evidence::Weak;
};

// One line of the rules file: "<game|compositor|audio|ignore> <comm|exe|env>=<glob>".
// env matches NAME=VALUE entries, so "env=MY_GAME=*" or "env=MANGOHUD=1".
struct ClassRule {
    enum class Field { Comm, Exe, Env };
    fp_class class_id = FP_CLASS_NONE;  // NONE for "ignore": never classify
    Field field = Field::Comm;
    std::string pattern;
    unsigned line = 0;
};

// Parses the rules file's text; the error names the line and what is wrong with it.
Expected<std::vector<ClassRule>> parse_class_rules(std::string_view text);
// Reads and parses a rules file; a missing file is no rules.
Expected<std::vector<ClassRule>> load_class_rules(const std::filesystem::path& path);

// User rules first (in file order), then the built-in ones.
Classification classify_process(const ProcessInfo& info, const std::vector<ClassRule>& rules);

// The environment variables classify_process looks at: Steam's, and the names of the env=
// rules. A rule whose name part is a pattern ("env=*_GAME=1") needs every variable.
struct EnvironmentNeeds {
    std::set<std::string, std::less<>> names;
    bool every_name = false;
};
EnvironmentNeeds environment_needs(const std::vector<ClassRule>& rules);

// At most this many bytes of a process's environment are read per decision: classifying runs
// on the event loop, and any user can exec with an environment of several MB (the kernel
// allows a quarter of the stack limit; 1.8 MB cost 2 ms in the VM, 256 KiB costs 0.05 ms on
// the build host). Steam's variables are found well within it: a Steam launch's whole
// environment is some tens of KiB.
constexpr size_t kEnvironmentReadLimit = 256 * 1024;

struct EnvironmentRead {
    std::vector<std::string> entries;   // the needed NAME=VALUE entries, in order
    size_t bytes_read = 0;
    // Part of the environment was left unread and a needed name was not found: it may be
    // in that part.
    bool truncated = false;
};

// Reads the needed entries of an open /proc/PID/environ (or a file like it) in chunks and
// stops as soon as every needed name has been seen. size is the environment's length
// (env_end - env_start from /proc/PID/stat), 0 when unknown. An environment longer than limit
// is read as its first and its last limit/2 bytes (the end is where setenv() puts variables a
// launcher adds, as Steam adds SteamAppId): a needed variable only in the middle of such an
// environment is not seen. Without a size, only the first limit bytes are read.
EnvironmentRead read_environment(int fd, uint64_t size, const EnvironmentNeeds& needs,
                                 size_t limit = kEnvironmentReadLimit);

// The start time (clock ticks after boot) of pid; nullopt once it is gone. One read, where
// read_process makes several.
std::optional<uint64_t> read_start_time(const std::filesystem::path& proc_root, uint32_t pid);

// What /proc (proc_root in tests) says about pid; nullopt once the process is gone or for
// kernel threads. executable, when given, is the path from the exec event. The environment
// is read as bounded by read_environment, for the variables in needs only.
std::optional<ProcessInfo> read_process(const std::filesystem::path& proc_root, uint32_t pid,
                                        std::string executable = {},
                                        const EnvironmentNeeds& needs = environment_needs({}));

const char* class_name(fp_class class_id);

}  // namespace framepace
