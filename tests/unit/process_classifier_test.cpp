#include "process_classifier.h"

#include <gtest/gtest.h>

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
    EXPECT_EQ(classify_process(process("wine64-preloade", "/opt/proton/bin/wine64-preloader"), {}).reason,
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
    for (const char* text : {"game\n", "game comm\n", "player comm=x\n", "game pid=3\n",
                             "game comm=\n"}) {
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
