#include "daemon/games/process_classifier.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/unique_fd.h"

using namespace framepace;

namespace {

ProcessInfo process(std::string comm, std::string exe, std::vector<std::string> env = {},
                    std::string parent = "bash") {
    ProcessInfo info;
    info.pid = 100;
    info.comm = std::move(comm);
    info.executable = std::move(exe);
    info.environment = std::move(env);
    info.parent_comm = std::move(parent);
    return info;
}

fp_class class_of(const ProcessInfo& info, const std::vector<ClassRule>& rules = {}) {
    return classify_process(info, rules).class_id;
}

}  // namespace

TEST(Classifier, SteamLaunchesAreGames) {
    auto game = process("hl2_linux", "/games/hl2_linux", {"HOME=/home/a", "SteamAppId=220"});
    EXPECT_EQ(classify_process(game, {}).class_id, FP_CLASS_GAME);
    EXPECT_EQ(classify_process(game, {}).reason, "steam-env");
    EXPECT_EQ(class_of(process("x", "/x", {"SteamGameId=12345678"})), FP_CLASS_GAME);
    // The Steam client itself carries no id, or 0.
    EXPECT_EQ(class_of(process("steam", "/steam", {"SteamAppId=0"})), FP_CLASS_NONE);
    EXPECT_EQ(class_of(process("steam", "/steam", {"SteamAppId="})), FP_CLASS_NONE);
    EXPECT_EQ(class_of(process("x", "/x", {"NotSteamAppId=5"})), FP_CLASS_NONE);
}

TEST(Classifier, ProtonAndWineAreGames) {
    EXPECT_EQ(
        classify_process(process("wine64-preloade", "/opt/proton/bin/wine64-preloader"), {}).reason,
        "wine-preloader");
    EXPECT_EQ(class_of(process("Game.exe", "/opt/proton/bin/wine64-preloader")), FP_CLASS_GAME);
    EXPECT_EQ(classify_process(process("game.exe", "/tmp/game.exe"), {}).reason, "windows-exe");
    EXPECT_EQ(class_of(process("x", "/tmp/SETUP.EXE")), FP_CLASS_GAME);
    EXPECT_EQ(class_of(process("exe", "/usr/bin/exe")), FP_CLASS_NONE);
    EXPECT_EQ(class_of(process(".exe", "/usr/bin/.exe")), FP_CLASS_NONE);
}

TEST(Classifier, GamescopeChildrenAreGamesGamescopeIsACompositor) {
    EXPECT_EQ(class_of(process("celeste", "/games/celeste", {}, "gamescope")), FP_CLASS_GAME);
    EXPECT_EQ(class_of(process("gamescope", "/usr/bin/gamescope", {"SteamAppId=1"})),
              FP_CLASS_COMPOSITOR);
    EXPECT_EQ(class_of(process("Xwayland", "/usr/bin/Xwayland", {}, "gamescope")),
              FP_CLASS_COMPOSITOR);
    EXPECT_EQ(class_of(process("kwin_wayland", "/usr/bin/kwin_wayland")), FP_CLASS_COMPOSITOR);
    EXPECT_EQ(class_of(process("pipewire", "/usr/bin/pipewire")), FP_CLASS_AUDIO);
    EXPECT_EQ(class_of(process("bash", "/usr/bin/bash")), FP_CLASS_NONE);
}

TEST(Classifier, UserRulesComeFirstAndCanIgnore) {
    auto rules = parse_class_rules(
        "# my rules\n"
        "\n"
        "game comm=factorio\n"
        "  ignore exe=*Installer*.exe  \n"
        "audio env=JACK_SERVER=*\n"
        "compositor exe=/opt/*/labwc\n");
    ASSERT_TRUE(rules) << rules.error().message;
    ASSERT_EQ(rules->size(), 4u);
    EXPECT_EQ(classify_process(process("factorio", "/f/factorio"), *rules).reason, "rule:3");
    EXPECT_EQ(class_of(process("x", "/d/GameInstaller.exe"), *rules), FP_CLASS_NONE);
    EXPECT_EQ(class_of(process("x", "/d/Game.exe"), *rules), FP_CLASS_GAME);
    EXPECT_EQ(class_of(process("jackd2", "/j", {"JACK_SERVER=x"}), *rules), FP_CLASS_AUDIO);
    EXPECT_EQ(class_of(process("labwc", "/opt/wm/labwc"), *rules), FP_CLASS_COMPOSITOR);
    EXPECT_EQ(class_of(process("labwc", "/usr/bin/labwc"), *rules), FP_CLASS_NONE);
}

TEST(Classifier, BadRulesNameTheLine) {
    for (const char* text :
         {"game\n", "game comm\n", "player comm=x\n", "game pid=3\n", "game comm=\n"}) {
        auto rules = parse_class_rules(std::string("# ok\n") + text);
        ASSERT_FALSE(rules) << text;
        EXPECT_NE(rules.error().message.find("line 2"), std::string::npos) << rules.error().message;
    }
}

TEST(Classifier, AMissingRulesFileIsNoRules) {
    auto rules = load_class_rules("/nonexistent/classes.conf");
    ASSERT_TRUE(rules);
    EXPECT_TRUE(rules->empty());
}

// --- Bounded reading of the environment -------------------------------------------------

namespace {

// An environ-like file: entries separated by NULs.
class EnvironFile {
public:
    explicit EnvironFile(const std::vector<std::string>& entries) {
        path_ = std::filesystem::temp_directory_path() /
                ("framepace-environ-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::ofstream out(path_, std::ios::binary);
        for (const auto& entry : entries) {
            out << entry << '\0';
            size_ += entry.size() + 1;
        }
        out.close();
        fd_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    }
    ~EnvironFile() { std::filesystem::remove(path_); }
    int fd() const { return fd_.get(); }
    uint64_t size() const { return size_; }

private:
    std::filesystem::path path_;
    UniqueFd fd_;
    uint64_t size_ = 0;
};

// n entries of filler, each `bytes` long with its NUL.
std::vector<std::string> filler(size_t n, size_t bytes, const std::string& prefix = "PAD") {
    std::vector<std::string> entries;
    for (size_t i = 0; i < n; i++) {
        std::string name = prefix + std::to_string(i) + "=";
        entries.push_back(name + std::string(bytes - 1 - name.size(), 'x'));
    }
    return entries;
}

}  // namespace

TEST(Environment, NeedsAreSteamsVariablesAndTheNamesOfEnvRules) {
    auto none = environment_needs({});
    EXPECT_EQ(none.names, (std::set<std::string, std::less<>>{"SteamAppId", "SteamGameId"}));
    EXPECT_FALSE(none.every_name);
    auto rules = parse_class_rules("game env=MY_GAME=1\naudio comm=x\nignore env=SKIP\n");
    ASSERT_TRUE(rules);
    auto named = environment_needs(*rules);
    EXPECT_TRUE(named.names.contains("MY_GAME"));
    EXPECT_TRUE(named.names.contains("SKIP"));
    EXPECT_FALSE(named.every_name);
    auto globbed = parse_class_rules("game env=*_GAME=1\n");
    ASSERT_TRUE(globbed);
    EXPECT_TRUE(environment_needs(*globbed).every_name);
}

TEST(Environment, StopsReadingOnceEveryNeededVariableIsFound) {
    std::vector<std::string> entries = {"HOME=/home/a", "SteamAppId=220", "SteamGameId=220"};
    auto pad = filler(2000, 1000);  // 2 MB after them
    entries.insert(entries.end(), pad.begin(), pad.end());
    EnvironFile file(entries);
    auto read = read_environment(file.fd(), file.size(), environment_needs({}));
    EXPECT_EQ(read.entries, (std::vector<std::string>{"SteamAppId=220", "SteamGameId=220"}))
        << "only what the rules look at is kept";
    EXPECT_LE(read.bytes_read, 16u * 1024) << "one chunk, not 2 MB";
    EXPECT_FALSE(read.truncated);
}

TEST(Environment, AHugeEnvironmentCostsAtMostTheLimitAndItsEndIsRead) {
    // 6 MB of filler, then what a launcher adds with setenv(): at the end.
    auto entries = filler(6000, 1000);
    entries.push_back("SteamAppId=220");
    EnvironFile file(entries);
    auto read = read_environment(file.fd(), file.size(), environment_needs({}));
    EXPECT_LE(read.bytes_read, kEnvironmentReadLimit);
    EXPECT_EQ(read.entries, std::vector<std::string>{"SteamAppId=220"});
    EXPECT_TRUE(read.truncated) << "SteamGameId may be in the unread middle";
    ProcessInfo info;
    info.environment = read.entries;
    EXPECT_EQ(classify_process(info, {}).reason, "steam-env");
}

TEST(Environment, TheMiddleOfAHugeEnvironmentIsNotRead) {
    auto entries = filler(3000, 1000, "A");
    entries.push_back("SteamAppId=220");
    auto tail = filler(3000, 1000, "B");
    entries.insert(entries.end(), tail.begin(), tail.end());
    EnvironFile file(entries);
    auto read = read_environment(file.fd(), file.size(), environment_needs({}));
    EXPECT_LE(read.bytes_read, kEnvironmentReadLimit);
    EXPECT_TRUE(read.entries.empty());
    EXPECT_TRUE(read.truncated);
}

TEST(Environment, WithoutASizeOnlyTheFirstLimitBytesAreRead) {
    auto entries = filler(6000, 1000);
    entries.push_back("SteamAppId=220");
    EnvironFile file(entries);
    auto read = read_environment(file.fd(), 0, environment_needs({}));
    EXPECT_LE(read.bytes_read, kEnvironmentReadLimit);
    EXPECT_TRUE(read.entries.empty());
    EXPECT_TRUE(read.truncated);
    EnvironFile small({"A=1", "SteamAppId=7"});
    auto whole = read_environment(small.fd(), 0, environment_needs({}));
    EXPECT_EQ(whole.entries, std::vector<std::string>{"SteamAppId=7"});
    EXPECT_FALSE(whole.truncated);
}

TEST(Environment, TheTailStartsAtAWholeEntry) {
    // limit 1000: the head is 499 bytes, the tail the last 500. The entry the tail starts in
    // ends with "SteamAppId=5", exactly where the tail begins: it must not count.
    const size_t limit = 1000;
    std::vector<std::string> entries = filler(10, 100);
    std::string straddling = "JUNK=" + std::string(200, 'y') + "SteamAppId=5";
    entries.push_back(straddling);
    // After it: 487 bytes, so that the last 500 start 13 bytes before its end.
    auto end = filler(4, 100, "E");
    end.push_back(filler(1, 87, "F")[0]);
    entries.insert(entries.end(), end.begin(), end.end());
    uint64_t size = 0;
    for (const auto& e : entries)
        size += e.size() + 1;
    size_t tail_start = size - limit / 2;
    size_t straddling_start = 10 * 100;
    ASSERT_EQ(straddling_start + straddling.size() - std::string("SteamAppId=5").size(),
              tail_start);
    EnvironFile file(entries);
    auto read = read_environment(file.fd(), file.size(), environment_needs({}), limit);
    EXPECT_LE(read.bytes_read, limit);
    EXPECT_TRUE(read.entries.empty());
}

TEST(Environment, EnvRulesSeeTheirVariables) {
    auto rules = parse_class_rules("game env=MY_GAME=1\n");
    ASSERT_TRUE(rules);
    EnvironFile file({"A=1", "MY_GAME=1", "B=2"});
    auto read = read_environment(file.fd(), file.size(), environment_needs(*rules));
    EXPECT_EQ(read.entries, std::vector<std::string>{"MY_GAME=1"});
    ProcessInfo info;
    info.environment = read.entries;
    EXPECT_EQ(classify_process(info, *rules).reason, "rule:1");
    auto globbed = parse_class_rules("game env=*_GAME=1\n");
    ASSERT_TRUE(globbed);
    auto all = read_environment(file.fd(), file.size(), environment_needs(*globbed));
    EXPECT_EQ(all.entries.size(), 3u);
}

// The real thing: a child exec'd with a 1.5 MB environment and SteamAppId at its end, read
// through /proc like the daemon does.
TEST(Environment, RealProcWithAHugeEnvironment) {
    std::vector<std::string> env = filler(1500, 1000);
    env.push_back("SteamAppId=220");
    std::vector<char*> envp;
    for (auto& entry : env)
        envp.push_back(entry.data());
    envp.push_back(nullptr);
    int ready[2];
    ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        char* argv[] = {const_cast<char*>("sleep"), const_cast<char*>("10"), nullptr};
        execve("/bin/sleep", argv, envp.data());
        _exit(127);
    }
    close(ready[1]);
    char byte;
    // The pipe closes on the exec (CLOEXEC), but the kernel places the new environment only
    // later in the exec (the ELF loader sets env_start/env_end after begin_new_exec closed
    // the pipe): until then /proc shows an empty one (seen once as a failure under load). The
    // daemon reads at the exec tracepoint, after the loader. So: wait for it, bounded.
    ASSERT_EQ(read(ready[0], &byte, 1), 0);
    close(ready[0]);
    const std::string environ_path = "/proc/" + std::to_string(child) + "/environ";
    for (int tries = 0; tries < 500; tries++) {
        std::ifstream environ(environ_path, std::ios::binary);
        if (environ.get(byte))
            break;
        usleep(10'000);
    }
    auto started = std::chrono::steady_clock::now();
    auto info = read_process("/proc", static_cast<uint32_t>(child));
    auto took = std::chrono::steady_clock::now() - started;
    started = std::chrono::steady_clock::now();
    auto again = read_process("/proc", static_cast<uint32_t>(child));
    auto took_again = std::chrono::steady_clock::now() - started;
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->environment, std::vector<std::string>{"SteamAppId=220"});
    EXPECT_EQ(info->uid, getuid());
    EXPECT_NE(info->start_time, 0u);
    EXPECT_EQ(classify_process(*info, {}).reason, "steam-env");
    // The tail was found through the real /proc (pread at an offset), within the bound.
    EXPECT_LE(info->environment_bytes_read, kEnvironmentReadLimit);
    EXPECT_GT(info->environment_bytes_read, kEnvironmentReadLimit / 2);
    ASSERT_TRUE(again);
    using std::chrono::duration_cast, std::chrono::microseconds;
    std::printf("read_process with a 1.5 MB environment: %lld us (%zu bytes), again %lld us\n",
                static_cast<long long>(duration_cast<microseconds>(took).count()),
                info->environment_bytes_read,
                static_cast<long long>(duration_cast<microseconds>(took_again).count()));
}
