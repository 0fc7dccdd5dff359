#include "game_tracker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

using namespace framepace;

namespace {

// A /proc of our own: comm, stat, environ and the exe link of a few processes.
class FakeProc : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = std::filesystem::temp_directory_path() /
                ("framepace-proc-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(root_);
        std::filesystem::create_directories(root_);
        add(1, "systemd", "/usr/lib/systemd/systemd", 0, {});
    }
    void TearDown() override { std::filesystem::remove_all(root_); }

    void add(uint32_t pid, const std::string& comm, const std::string& exe, uint32_t ppid,
             const std::vector<std::string>& env) {
        auto dir = root_ / std::to_string(pid);
        std::filesystem::create_directories(dir);
        std::ofstream(dir / "comm") << comm << "\n";
        std::ofstream(dir / "stat") << pid << " (" << comm << ") S " << ppid << " 1 1\n";
        std::ofstream environ(dir / "environ", std::ios::binary);
        for (const auto& entry : env)
            environ << entry << '\0';
        std::filesystem::create_symlink(exe, dir / "exe");
    }
    void remove(uint32_t pid) { std::filesystem::remove_all(root_ / std::to_string(pid)); }

    Event exec_event(uint32_t pid, const std::string& filename, uint64_t ts) {
        Event event{};
        event.type = FP_EV_EXEC;
        event.pid = pid;
        event.tid = pid;
        event.filename = filename;
        event.timestamp_ns = ts;
        return event;
    }

    std::filesystem::path root_;
};

}  // namespace

TEST_F(FakeProc, ScanFindsRunningGamesAndSkipsOthers) {
    add(200, "hl2_linux", "/games/hl2_linux", 1, {"SteamAppId=220"});
    add(201, "bash", "/usr/bin/bash", 1, {"HOME=/root"});
    add(202, "pipewire", "/usr/bin/pipewire", 1, {});
    GameTracker tracker(root_, {});
    tracker.scan();
    const auto& found = tracker.processes();
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found.at(200).class_id, FP_CLASS_GAME);
    EXPECT_EQ(found.at(200).reason, "scan:steam-env");
    EXPECT_FALSE(found.at(200).latency_ns);
    EXPECT_EQ(found.at(202).class_id, FP_CLASS_AUDIO);
}

TEST_F(FakeProc, ExecDecidesWithLatencyAndExitForgets) {
    add(300, "game.exe", "/tmp/game.exe", 1, {});
    GameTracker tracker(root_, {});
    tracker.on_exec(exec_event(300, "/tmp/game.exe", 1'000'000), 1'250'000);
    ASSERT_TRUE(tracker.processes().contains(300));
    EXPECT_EQ(tracker.processes().at(300).latency_ns, 250'000u);
    tracker.on_exit(300);
    EXPECT_TRUE(tracker.processes().empty());
}

TEST_F(FakeProc, AnExecIntoSomethingElseDropsTheClass) {
    add(301, "launcher", "/g/launcher", 1, {"SteamAppId=5"});
    GameTracker tracker(root_, {});
    tracker.on_exec(exec_event(301, "/g/launcher", 0), 1);
    EXPECT_TRUE(tracker.processes().contains(301));
    remove(301);
    add(301, "sh", "/bin/sh", 1, {});
    tracker.on_exec(exec_event(301, "/bin/sh", 0), 1);
    EXPECT_FALSE(tracker.processes().contains(301));
}

TEST_F(FakeProc, GoneBeforeWeLookedIsNotAGame) {
    GameTracker tracker(root_, {});
    tracker.on_exec(exec_event(302, "/tmp/short.exe", 0), 1);
    EXPECT_TRUE(tracker.processes().empty());
}

TEST_F(FakeProc, ManualMarksStickAndUnmarksHoldUntilExit) {
    add(400, "loop", "/usr/bin/loop", 1, {});
    add(401, "game.exe", "/tmp/game.exe", 1, {});
    GameTracker tracker(root_, {});
    EXPECT_FALSE(tracker.mark_game(999)) << "no such process";
    ASSERT_TRUE(tracker.mark_game(400));
    tracker.on_exec(exec_event(400, "/usr/bin/loop", 0), 1);  // an exec does not undo it
    EXPECT_TRUE(tracker.processes().at(400).manual);

    tracker.scan();
    ASSERT_TRUE(tracker.processes().contains(401));
    ASSERT_TRUE(tracker.unmark_game(401));
    EXPECT_FALSE(tracker.unmark_game(401)) << "no longer a game";
    tracker.scan();
    tracker.on_exec(exec_event(401, "/tmp/game.exe", 0), 1);
    EXPECT_FALSE(tracker.processes().contains(401)) << "unmarked stays unmarked";
    tracker.on_exit(401);
    tracker.on_exec(exec_event(401, "/tmp/game.exe", 0), 1);
    EXPECT_TRUE(tracker.processes().contains(401)) << "a new process with the pid is judged anew";
}
