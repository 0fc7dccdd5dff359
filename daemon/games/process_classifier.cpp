#include "daemon/games/process_classifier.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "common/read_file.h"
#include "common/unique_fd.h"

namespace framepace {
namespace {

constexpr std::array<std::string_view, 11> kCompositors = {
    "gamescope", "gamescope-wl", "kwin_wayland", "kwin_x11", "mutter", "gnome-shell",
    "Xwayland",  "Xorg",         "sway",         "Hyprland", "weston"};
constexpr std::array<std::string_view, 5> kAudioServers = {"pipewire", "pipewire-pulse",
                                                           "wireplumber", "pulseaudio", "jackd"};
constexpr std::array<std::string_view, 2> kWinePreloaders = {"wine-preloader", "wine64-preloader"};
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
    case ClassRule::Field::Comm: return glob_matches(rule.pattern, info.comm);
    case ClassRule::Field::Exe:
        // A pattern with a slash matches the whole path, otherwise the file name.
        return glob_matches(rule.pattern, rule.pattern.find('/') == std::string::npos
                                              ? basename_of(info.executable)
                                              : std::string_view(info.executable));
    case ClassRule::Field::Env:
        return std::any_of(
            info.environment.begin(), info.environment.end(),
            [&](const std::string& entry) { return glob_matches(rule.pattern, entry); });
    }
    return false;
}

// What /proc/PID/stat says, by the field numbers of proc(5); missing fields stay 0.
struct StatFields {
    uint32_t ppid = 0;        // 4
    uint64_t start_time = 0;  // 22
    uint64_t env_start = 0;   // 50
    uint64_t env_end = 0;     // 51
};

// nullopt for a process that is gone.
std::optional<StatFields> read_stat(const std::filesystem::path& proc_dir) {
    auto line = read_first_line(proc_dir / "stat");
    if (!line)
        return std::nullopt;
    const std::string& stat = *line;
    StatFields fields;
    size_t close = stat.rfind(')');
    if (close == std::string::npos)
        return fields;
    // Fields from 3 (state) on, after the parenthesised comm, which may hold spaces.
    std::istringstream rest(stat.substr(close + 1));
    std::string token;
    for (unsigned field = 3; rest >> token && field <= 51; field++) {
        uint64_t value = std::strtoull(token.c_str(), nullptr, 10);
        switch (field) {
        case 4: fields.ppid = static_cast<uint32_t>(value); break;
        case 22: fields.start_time = value; break;
        case 50: fields.env_start = value; break;
        case 51: fields.env_end = value; break;
        default: break;
        }
    }
    return fields;
}

// The real uid from /proc/PID/status ("Uid:\treal\teffective\tsaved\tfs").
uint32_t read_uid(const std::filesystem::path& proc_dir) {
    std::istringstream in(read_whole_file(proc_dir / "status").value_or(""));
    std::string line;
    while (std::getline(in, line)) {
        if (line.compare(0, 4, "Uid:") != 0)
            continue;
        std::istringstream fields(line.substr(4));
        uint64_t uid = kUnknownUid;
        if (fields >> uid && uid < kUnknownUid)
            return static_cast<uint32_t>(uid);
        return kUnknownUid;
    }
    return kUnknownUid;
}

bool has_glob(std::string_view text) { return text.find_first_of("*?[") != std::string_view::npos; }

// Splits NUL-separated entries out of the bytes read, keeping those the rules need.
class EnvironmentParser {
public:
    EnvironmentParser(const EnvironmentNeeds& needs, EnvironmentRead& out)
        : needs_(needs), out_(out) {}

    bool done() const { return !needs_.every_name && found_.size() >= needs_.names.size(); }

    void feed(const char* data, size_t size) {
        while (size > 0) {
            const char* nul = static_cast<const char*>(std::memchr(data, '\0', size));
            size_t take = nul ? static_cast<size_t>(nul - data) : size;
            if (!skipping_)
                pending_.append(data, take);
            if (!nul)
                return;
            if (!skipping_)
                finish_entry();
            skipping_ = false;
            pending_.clear();
            data += take + 1;
            size -= take + 1;
        }
    }

    // The next bytes start inside an entry: drop them up to its end.
    void resync() {
        pending_.clear();
        skipping_ = true;
    }

private:
    void finish_entry() {
        std::string_view name(pending_);
        name = name.substr(0, name.find('='));
        bool wanted = needs_.every_name || needs_.names.contains(name);
        if (!wanted)
            return;
        if (!needs_.every_name)
            found_.emplace(name);
        out_.entries.push_back(pending_);
    }

    const EnvironmentNeeds& needs_;
    EnvironmentRead& out_;
    std::set<std::string, std::less<>> found_;
    std::string pending_;
    bool skipping_ = false;
};

// Reads [offset, offset + length) into the parser in chunks; false at the end of the file.
bool read_span(int fd, uint64_t offset, size_t length, EnvironmentParser& parser,
               EnvironmentRead& out) {
    char chunk[16 * 1024];
    while (length > 0 && !parser.done()) {
        ssize_t n = pread(fd, chunk, std::min(length, sizeof(chunk)), static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        out.bytes_read += static_cast<size_t>(n);
        parser.feed(chunk, static_cast<size_t>(n));
        offset += static_cast<uint64_t>(n);
        length -= static_cast<size_t>(n);
    }
    return true;
}

}  // namespace

EnvironmentNeeds environment_needs(const std::vector<ClassRule>& rules) {
    EnvironmentNeeds needs;
    for (auto name : kSteamVariables)
        needs.names.emplace(name);
    for (const auto& rule : rules) {
        if (rule.field != ClassRule::Field::Env)
            continue;
        std::string_view name = std::string_view(rule.pattern).substr(0, rule.pattern.find('='));
        // "env=NAME" without '=' only matches an entry that is exactly NAME, which
        // finish_entry() files under that name too.
        if (has_glob(name) || name.find('\\') != std::string_view::npos)
            needs.every_name = true;
        else
            needs.names.emplace(name);
    }
    return needs;
}

EnvironmentRead read_environment(int fd, uint64_t size, const EnvironmentNeeds& needs,
                                 size_t limit) {
    EnvironmentRead out;
    EnvironmentParser parser(needs, out);
    if (parser.done())
        return out;
    if (size == 0 || size <= limit) {
        // Unknown size: read up to the limit and look one byte further to know whether
        // anything was left out.
        if (read_span(fd, 0, limit, parser, out) && !parser.done()) {
            char probe;
            out.truncated = pread(fd, &probe, 1, static_cast<off_t>(limit)) == 1;
        }
        return out;
    }
    // Too long to read whole: the head, then the tail. One byte before the tail tells whether
    // the tail starts with a whole entry.
    size_t tail = limit / 2;
    size_t head = limit - tail - 1;
    read_span(fd, 0, head, parser, out);
    if (parser.done())
        return out;
    parser.resync();
    read_span(fd, size - tail - 1, tail + 1, parser, out);
    out.truncated = !parser.done();
    return out;
}

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
    auto text = read_whole_file(path);
    if (!text && text.error().code == -ENOENT)
        return std::vector<ClassRule>{};   // no rules: the built-in ones classify alone
    if (!text)
        return text.error();
    auto rules = parse_class_rules(*text);
    if (!rules)
        return invalid_input(path.string() + ": " + rules.error().message);
    return rules;
}

Classification classify_process(const ProcessInfo& info, const std::vector<ClassRule>& rules) {
    for (const auto& rule : rules)
        if (rule_matches(rule, info))
            return {rule.class_id, "rule:" + std::to_string(rule.line), Evidence::Strong};

    if (one_of(kCompositors, info.comm))
        return {FP_CLASS_COMPOSITOR, "compositor"};
    if (one_of(kAudioServers, info.comm))
        return {FP_CLASS_AUDIO, "audio-server"};
    if (launched_by_steam(info.environment))
        return {FP_CLASS_GAME, "steam-env", Evidence::Strong};
    std::string_view exe = basename_of(info.executable);
    if (one_of(kWinePreloaders, exe))
        return {FP_CLASS_GAME, "wine-preloader"};
    if (ends_with_exe(exe) || ends_with_exe(info.comm))
        return {FP_CLASS_GAME, "windows-exe"};
    if (info.parent_comm == "gamescope" || info.parent_comm == "gamescope-wl")
        return {FP_CLASS_GAME, "gamescope-child"};
    return {};
}

std::optional<uint64_t> read_start_time(const std::filesystem::path& proc_root, uint32_t pid) {
    auto stat = read_stat(proc_root / std::to_string(pid));
    if (!stat)
        return std::nullopt;
    return stat->start_time;
}

std::optional<ProcessInfo> read_process(const std::filesystem::path& proc_root, uint32_t pid,
                                        std::string executable, const EnvironmentNeeds& needs) {
    std::filesystem::path dir = proc_root / std::to_string(pid);
    ProcessInfo info;
    info.pid = pid;
    info.comm = read_first_line(dir / "comm").value_or("");
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
    // Gone since its comm was read: every field stays 0.
    StatFields stat = read_stat(dir).value_or(StatFields{});
    info.start_time = stat.start_time;
    info.uid = read_uid(dir);
    if (stat.ppid)
        info.parent_comm =
            read_first_line(proc_root / std::to_string(stat.ppid) / "comm").value_or("");
    UniqueFd environ(open((dir / "environ").c_str(), O_RDONLY | O_CLOEXEC));
    if (environ.valid()) {
        uint64_t size = stat.env_end > stat.env_start ? stat.env_end - stat.env_start : 0;
        EnvironmentRead read = read_environment(environ.get(), size, needs);
        info.environment = std::move(read.entries);
        info.environment_truncated = read.truncated;
        info.environment_bytes_read = read.bytes_read;
    }
    return info;
}

}  // namespace framepace
