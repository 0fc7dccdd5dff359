#include "process_classifier.h"

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

namespace framepace {
namespace {

constexpr std::array<std::string_view, 11> kCompositors = {
    "gamescope", "gamescope-wl", "kwin_wayland", "kwin_x11", "mutter", "gnome-shell",
    "Xwayland",  "Xorg",         "sway",         "Hyprland", "weston"};
constexpr std::array<std::string_view, 5> kAudioServers = {
    "pipewire", "pipewire-pulse", "wireplumber", "pulseaudio", "jackd"};
constexpr std::array<std::string_view, 2> kWinePreloaders = {"wine-preloader",
                                                             "wine64-preloader"};
constexpr std::array<std::string_view, 2> kSteamVariables = {"SteamAppId", "SteamGameId"};

template <size_t N>
bool one_of(const std::array<std::string_view, N>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::string_view basename_of(std::string_view path) {
    size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool ends_with_exe(std::string_view name) {
    if (name.size() < 5)
        return false;
    std::string tail(name.substr(name.size() - 4));
    std::transform(tail.begin(), tail.end(), tail.begin(), ::tolower);
    return tail == ".exe";
}

// A Steam launch sets SteamAppId/SteamGameId to the game's id; the client itself has none
// (or 0).
bool launched_by_steam(const std::vector<std::string>& environment) {
    for (const auto& entry : environment) {
        size_t eq = entry.find('=');
        if (eq == std::string::npos)
            continue;
        std::string_view name(entry.data(), eq), value(entry.data() + eq + 1);
        if (one_of(kSteamVariables, name) && !value.empty() && value != "0")
            return true;
    }
    return false;
}

bool glob_matches(const std::string& pattern, std::string_view text) {
    return fnmatch(pattern.c_str(), std::string(text).c_str(), 0) == 0;
}

bool rule_matches(const ClassRule& rule, const ProcessInfo& info) {
    switch (rule.field) {
    case ClassRule::Field::Comm:
        return glob_matches(rule.pattern, info.comm);
    case ClassRule::Field::Exe:
        // A pattern with a slash matches the whole path, otherwise the file name.
        return glob_matches(rule.pattern, rule.pattern.find('/') == std::string::npos
                                              ? basename_of(info.executable)
                                              : std::string_view(info.executable));
    case ClassRule::Field::Env:
        return std::any_of(info.environment.begin(), info.environment.end(),
                           [&](const std::string& entry) { return glob_matches(rule.pattern, entry); });
    }
    return false;
}

std::string read_first_line(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// The parent pid from /proc/PID/stat: the field after the parenthesised comm.
uint32_t parent_pid(const std::filesystem::path& proc_dir) {
    std::string stat = read_first_line(proc_dir / "stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos)
        return 0;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    uint32_t ppid = 0;
    rest >> state >> ppid;
    return ppid;
}

}  // namespace

const char* class_name(fp_class class_id) {
    switch (class_id) {
    case FP_CLASS_GAME: return "game";
    case FP_CLASS_COMPOSITOR: return "compositor";
    case FP_CLASS_AUDIO: return "audio";
    default: return "none";
    }
}

Expected<std::vector<ClassRule>> parse_class_rules(std::string_view text) {
    std::vector<ClassRule> rules;
    unsigned number = 0;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        number++;
        size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#')
            continue;
        size_t end = line.find_last_not_of(" \t\r");
        line = line.substr(start, end - start + 1);
        auto fail = [&](const std::string& what) {
            return invalid_input("line " + std::to_string(number) + ": " + what + " (\"" + line +
                                 "\"; expected \"<game|compositor|audio|ignore> "
                                 "<comm|exe|env>=<pattern>\")");
        };
        size_t space = line.find_first_of(" \t");
        if (space == std::string::npos)
            return fail("missing the match");
        std::string verb = line.substr(0, space);
        std::string match = line.substr(line.find_first_not_of(" \t", space));
        ClassRule rule;
        rule.line = number;
        if (verb == "game")
            rule.class_id = FP_CLASS_GAME;
        else if (verb == "compositor")
            rule.class_id = FP_CLASS_COMPOSITOR;
        else if (verb == "audio")
            rule.class_id = FP_CLASS_AUDIO;
        else if (verb != "ignore")
            return fail("unknown class '" + verb + "'");
        size_t eq = match.find('=');
        if (eq == std::string::npos)
            return fail("the match has no '='");
        std::string field = match.substr(0, eq);
        rule.pattern = match.substr(eq + 1);
        if (field == "comm")
            rule.field = ClassRule::Field::Comm;
        else if (field == "exe")
            rule.field = ClassRule::Field::Exe;
        else if (field == "env")
            rule.field = ClassRule::Field::Env;
        else
            return fail("unknown field '" + field + "'");
        if (rule.pattern.empty())
            return fail("empty pattern");
        rules.push_back(std::move(rule));
    }
    return rules;
}

Expected<std::vector<ClassRule>> load_class_rules(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return std::vector<ClassRule>{};
    std::ifstream in(path);
    if (!in)
        return invalid_input("cannot read " + path.string());
    std::stringstream text;
    text << in.rdbuf();
    auto rules = parse_class_rules(text.str());
    if (!rules)
        return invalid_input(path.string() + ": " + rules.error().message);
    return rules;
}

Classification classify_process(const ProcessInfo& info, const std::vector<ClassRule>& rules) {
    for (const auto& rule : rules)
        if (rule_matches(rule, info))
            return {rule.class_id, "rule:" + std::to_string(rule.line)};

    if (one_of(kCompositors, info.comm))
        return {FP_CLASS_COMPOSITOR, "compositor"};
    if (one_of(kAudioServers, info.comm))
        return {FP_CLASS_AUDIO, "audio-server"};
    if (launched_by_steam(info.environment))
        return {FP_CLASS_GAME, "steam-env"};
    std::string_view exe = basename_of(info.executable);
    if (one_of(kWinePreloaders, exe))
        return {FP_CLASS_GAME, "wine-preloader"};
    if (ends_with_exe(exe) || ends_with_exe(info.comm))
        return {FP_CLASS_GAME, "windows-exe"};
    if (info.parent_comm == "gamescope" || info.parent_comm == "gamescope-wl")
        return {FP_CLASS_GAME, "gamescope-child"};
    return {};
}

std::optional<ProcessInfo> read_process(const std::filesystem::path& proc_root, uint32_t pid,
                                        std::string executable) {
    std::filesystem::path dir = proc_root / std::to_string(pid);
    ProcessInfo info;
    info.pid = pid;
    info.comm = read_first_line(dir / "comm");
    if (info.comm.empty())
        return std::nullopt;
    std::error_code ec;
    if (executable.empty()) {
        // Kernel threads have no executable and are never games.
        executable = std::filesystem::read_symlink(dir / "exe", ec).string();
        if (ec)
            return std::nullopt;
    }
    info.executable = std::move(executable);
    if (uint32_t ppid = parent_pid(dir))
        info.parent_comm = read_first_line(proc_root / std::to_string(ppid) / "comm");
    std::ifstream environ(dir / "environ", std::ios::binary);
    std::string entry;
    while (std::getline(environ, entry, '\0'))
        info.environment.push_back(std::move(entry));
    return info;
}

}  // namespace framepace
