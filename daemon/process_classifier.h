// Decides what a process is - a game, a compositor, an audio server, or nothing special - from
// what /proc says about it: its environment (Steam), its executable (Proton/Wine), its
// parent (gamescope), its comm, and the user's rules. Pure: tests feed it ProcessInfo.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expected.h"
#include "framepace_shared.h"

namespace framepace {

struct ProcessInfo {
    uint32_t pid = 0;
    std::string comm;
    std::string executable;             // the path exec'd (event) or /proc/PID/exe
    std::string parent_comm;
    std::vector<std::string> environment;  // NAME=VALUE
};

struct Classification {
    fp_class class_id = FP_CLASS_NONE;
    std::string reason;                 // e.g. "steam-env", "wine-exe", "rule:3"
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

// What /proc (proc_root in tests) says about pid; nullopt once the process is gone or for
// kernel threads. executable, when given, is the path from the exec event.
std::optional<ProcessInfo> read_process(const std::filesystem::path& proc_root, uint32_t pid,
                                        std::string executable = {});

const char* class_name(fp_class class_id);

}  // namespace framepace
