#include "daemon/games/game_tracker.h"
#include "common/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "temp_dir_test.h"

using namespace framepace;

namespace {

// A /proc of our own: comm, stat, environ and the exe link of a few processes.
class FakeProc : public framepace::testing::TempDirTest {
protected:
    void SetUp() override {
        TempDirTest::SetUp();
        add(1, "systemd", "/usr/lib/systemd/systemd", 0, {});
    }

    void add(uint32_t pid, const std::string& comm, const std::string& exe, uint32_t ppid,
             const std::vector<std::string>& env, uint32_t uid = 1000, uint64_t start_time = 0) {
        auto dir = root_ / std::to_string(pid);
        std::filesystem::create_directories(dir);
        std::ofstream(dir / "comm") << comm << "\n";
        std::ofstream(dir / "status") << "Name:\t" << comm << "\nUid:\t" << uid << "\t" << uid
                                      << "\t" << uid << "\t" << uid << "\n";
        // Fields 5 to 21 are zeros; 22 is the start time.
        std::ofstream(dir / "stat") << pid << " (" << comm << ") S " << ppid
                                    << " 1 1 0 0 0 0 0 0 0 0 0 0 0 20 0 1 0 " << start_time << "\n";
        std::ofstream environ(dir / "environ", std::ios::binary);
        for (const auto& entry : env)
            environ << entry << '\0';
        std::filesystem::create_symlink(exe, dir / "exe");
    }
    void remove(uint32_t pid) { std::filesystem::remove_all(root_ / std::to_string(pid)); }
    // Just enough for an exec event to be judged by its name: comm and owner.
    void add_light(uint32_t pid, const std::string& comm, uint32_t uid) {
        auto dir = root_ / std::to_string(pid);
        std::filesystem::create_directories(dir);
        std::ofstream(dir / "comm") << comm << "\n";
        std::ofstream(dir / "status")
            << "Uid:\t" << uid << "\t" << uid << "\t" << uid << "\t" << uid << "\n";
    }

    Event exec_event(uint32_t pid, const std::string& filename, uint64_t ts) {
        Event event{};
        event.type = FP_EV_EXEC;
        event.pid = pid;
        event.tid = pid;
        event.filename = filename;
        event.timestamp_ns = ts;
        return event;
    }
};

// An exit event's timestamp after every exec's and every clock reading in these tests.
constexpr uint64_t kLater = UINT64_MAX;

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
    tracker.on_exit(300, kLater);
    EXPECT_TRUE(tracker.processes().empty());
}

TEST_F(FakeProc, AnExitFromBeforeTheProcessWasSeenIsAnEarlierProcesssWithItsPid) {
    uint64_t clock = 5'000;
    GameTracker tracker(root_, {}, std::nullopt, [&clock] { return clock; });
    // Exec at 2000; the exit of the pid's previous owner (at 1500) is drained after it.
    add(303, "game.exe", "/tmp/game.exe", 1, {});
    tracker.on_exec(exec_event(303, "/tmp/game.exe", 2'000), 2'100);
    tracker.on_exit(303, 1'500);
    ASSERT_TRUE(tracker.processes().contains(303));
    // Found by a scan read at 5000: an exit at 4000 was not its own either; one at 6000 is.
    add(304, "hl2_linux", "/games/hl2_linux", 1, {"SteamAppId=220"});
    tracker.scan();
    tracker.on_exit(304, 4'000);
    ASSERT_TRUE(tracker.processes().contains(304));
    tracker.on_exit(304, 6'000);
    EXPECT_FALSE(tracker.processes().contains(304));
    // The same decision for the pid's next process moves the time it was seen on.
    tracker.on_exec(exec_event(303, "/tmp/game.exe", 7'000), 7'100);
    tracker.on_exit(303, 6'500);
    EXPECT_TRUE(tracker.processes().contains(303));
    tracker.on_exit(303, 7'500);
    EXPECT_FALSE(tracker.processes().contains(303));
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
    tracker.on_exit(401, kLater);
    tracker.on_exec(exec_event(401, "/tmp/game.exe", 0), 1);
    EXPECT_TRUE(tracker.processes().contains(401)) << "a new process with the pid is judged anew";
}

// The rings dropped events: an exec (a game never classified), exits (decisions held for
// processes that are gone), an exit and an exec on one pid (another process now has it).
TEST_F(FakeProc, ReconcileMakesUpForLostExecsAndExits) {
    add(500, "hl2_linux", "/games/hl2_linux", 1, {"SteamAppId=220"}, 1000, 10);
    add(501, "game.exe", "/tmp/game.exe", 1, {}, 1000, 11);
    add(503, "loop", "/usr/bin/loop", 1, {}, 1000, 13);
    add(504, "other.exe", "/tmp/other.exe", 1, {}, 1000, 14);
    uint64_t clock = 1'000;
    GameTracker tracker(root_, {}, std::nullopt, [&clock] { return clock; });
    tracker.scan();
    ASSERT_TRUE(tracker.mark_game(503));
    ASSERT_TRUE(tracker.unmark_game(504));
    ASSERT_EQ(tracker.processes().size(), 3u);

    remove(500);                                                   // its exit was lost
    remove(501);                                                   // exit and exec lost:
    add(501, "bash", "/usr/bin/bash", 1, {}, 1000, 21);            // the pid is a shell now
    remove(503);                                                   // a marked one's exit lost
    remove(504);                                                   // an unmarked one's too,
    add(504, "next.exe", "/tmp/next.exe", 1, {}, 1000, 24);        // and the next one's exec
    add(502, "portal2", "/games/portal2", 1, {"SteamAppId=620"}, 1000, 22);  // an exec lost
    clock = 2'000;
    auto reconciled = tracker.reconcile();

    EXPECT_EQ(reconciled.gone, 4u);
    EXPECT_EQ(reconciled.found, 2u);
    std::set<uint32_t> pids;
    for (const auto& [pid, entry] : tracker.processes())
        pids.insert(pid);
    EXPECT_EQ(pids, (std::set<uint32_t>{502, 504}));
    EXPECT_EQ(tracker.processes().at(502).reason, "scan:steam-env");
    EXPECT_EQ(tracker.processes().at(504).start_time, 24u) << "the unmark was the old one's";

    // Nothing lost: a second reconcile changes nothing.
    auto again = tracker.reconcile();
    EXPECT_EQ(again.gone, 0u);
    EXPECT_EQ(again.found, 0u);
}

// In steps, with events taken between them as the event loop would: what an event did is not
// counted again, and a rescan begun anew keeps the counts of the one under way.
TEST_F(FakeProc, ReconcileInStepsTakesEventsBetweenThem) {
    add(500, "hl2_linux", "/games/hl2_linux", 1, {"SteamAppId=220"}, 1000, 10);
    add(501, "game.exe", "/tmp/game.exe", 1, {}, 1000, 11);
    add(505, "third.exe", "/tmp/third.exe", 1, {}, 1000, 15);
    uint64_t clock = 1'000;
    GameTracker tracker(root_, {}, std::nullopt, [&clock] { return clock; });
    tracker.scan();
    ASSERT_EQ(tracker.processes().size(), 3u);

    remove(500);                                                              // exit lost
    add(502, "portal2", "/games/portal2", 1, {"SteamAppId=620"}, 1000, 22);  // exec lost
    clock = 2'000;
    tracker.begin_reconcile();
    ASSERT_TRUE(tracker.reconciling());
    EXPECT_FALSE(tracker.reconcile_step(1)) << "one of three decisions checked";
    EXPECT_FALSE(tracker.processes().contains(500));

    // Events between steps: 501 exits, 506 is exec'd and classified from its event.
    remove(501);
    tracker.on_exit(501, 2'100);
    add(506, "new.exe", "/tmp/new.exe", 1, {}, 1000, 26);
    tracker.on_exec(exec_event(506, "/tmp/new.exe", 2'200), 2'300);
    ASSERT_TRUE(tracker.processes().contains(506));

    // More losses: the rescan starts over, with what it counted so far.
    tracker.begin_reconcile();
    std::optional<GameTracker::Reconciled> done;
    size_t steps = 0;
    while (!done && steps < 100) {
        done = tracker.reconcile_step(1);
        steps++;
    }
    ASSERT_TRUE(done);
    EXPECT_GT(steps, 1u);
    EXPECT_FALSE(tracker.reconciling());
    EXPECT_EQ(done->gone, 1u) << "500's; 501's exit came as an event";
    EXPECT_EQ(done->found, 1u) << "502; 506 came by its exec event";
    std::set<uint32_t> pids;
    for (const auto& [pid, entry] : tracker.processes())
        pids.insert(pid);
    EXPECT_EQ(pids, (std::set<uint32_t>{502, 505, 506}));
    EXPECT_EQ(tracker.processes().at(506).reason.rfind("scan:", 0), std::string::npos)
        << "the rescan read 506 again but found nothing new: "
        << tracker.processes().at(506).reason;
}

namespace {

// The classes map as BPF has it: a hash map that refuses a new key when full.
class FakeClassMap : public ClassMap {
public:
    explicit FakeClassMap(size_t capacity) : capacity_(capacity) {}
    size_t class_capacity() const override { return capacity_; }
    Status set_class(uint32_t tgid, fp_class class_id) override {
        if (!classes.contains(tgid) && classes.size() >= capacity_)
            return Error{-E2BIG, "classes map full"};
        classes[tgid] = class_id;
        return Ok{};
    }
    Status clear_class(uint32_t tgid) override {
        classes.erase(tgid);
        return Ok{};
    }
    Status replace_classes(const std::map<uint32_t, fp_class>& wanted) override {
        if (wanted.size() > capacity_)
            return Error{-E2BIG, "classes map full"};
        classes = wanted;
        return Ok{};
    }
    std::map<uint32_t, fp_class> classes;

private:
    size_t capacity_;
};

}  // namespace

TEST_F(FakeProc, WeakEntriesOfOneUserCannotKeepASteamGameOut) {
    log_setup(LogTarget::Stderr, LOG_WARNING);  // not 4200 "is a game" lines
    GameTracker tracker(root_, {});
    FakeClassMap map(kDefaultClassCapacity);
    ASSERT_TRUE(tracker.attach(&map));
    // Any user can start 4200 processes named *.exe.
    for (uint32_t pid = 10000; pid < 14200; pid++) {
        add_light(pid, "a.exe", 65534);
        tracker.on_exec(exec_event(pid, "/tmp/a.exe", 0), 1);
    }
    EXPECT_EQ(map.classes.size(), kDefaultClassCapacity);
    EXPECT_EQ(tracker.admission().waiting_count(), 4200u - kDefaultClassCapacity);
    // A Steam game, of that same user or of another, still gets its class.
    add(500, "hl2_linux", "/games/hl2_linux", 1, {"SteamAppId=220"}, 65534);
    tracker.on_exec(exec_event(500, "/games/hl2_linux", 0), 1);
    add(501, "portal2_linux", "/games/portal2_linux", 1, {"SteamAppId=620"}, 1000);
    tracker.on_exec(exec_event(501, "/games/portal2_linux", 0), 1);
    ASSERT_TRUE(map.classes.contains(500));
    EXPECT_EQ(map.classes.at(500), FP_CLASS_GAME);
    ASSERT_TRUE(map.classes.contains(501));
    EXPECT_EQ(map.classes.at(501), FP_CLASS_GAME);
    EXPECT_TRUE(tracker.processes().at(501).in_scheduler);
    EXPECT_EQ(map.classes.size(), kDefaultClassCapacity);
    // Another user's *.exe takes a place from the crowding user too.
    add(502, "game.exe", "/home/b/game.exe", 1, {}, 1001);
    tracker.on_exec(exec_event(502, "/home/b/game.exe", 0), 1);
    EXPECT_TRUE(map.classes.contains(502));
    // The map and the tracker agree on who is in.
    size_t in = 0;
    for (const auto& [pid, entry] : tracker.processes()) {
        EXPECT_EQ(entry.in_scheduler, map.classes.contains(pid)) << pid;
        in += entry.in_scheduler;
    }
    EXPECT_EQ(in, kDefaultClassCapacity);
    log_setup(LogTarget::Stderr, LOG_INFO);
}

TEST_F(FakeProc, AFreedPlaceGoesToAWaitingProcess) {
    GameTracker tracker(root_, {});
    FakeClassMap map(2);
    ASSERT_TRUE(tracker.attach(&map));
    for (uint32_t pid : {600u, 601u, 602u}) {
        add_light(pid, "a.exe", 65534);
        tracker.on_exec(exec_event(pid, "/tmp/a.exe", 0), 1);
    }
    EXPECT_EQ(map.classes.size(), 2u);
    EXPECT_FALSE(map.classes.contains(602));
    tracker.on_exit(600, kLater);
    EXPECT_TRUE(map.classes.contains(602)) << "the waiting one gets the freed place";
    EXPECT_TRUE(tracker.processes().at(602).in_scheduler);
}

TEST_F(FakeProc, ANewMapIsFilledStrongestFirst) {
    GameTracker tracker(root_, {});
    for (uint32_t pid : {700u, 701u}) {
        add_light(pid, "a.exe", 65534);
        tracker.on_exec(exec_event(pid, "/tmp/a.exe", 0), 1);
    }
    add(702, "hl2_linux", "/games/hl2_linux", 1, {"SteamAppId=220"});
    tracker.on_exec(exec_event(702, "/games/hl2_linux", 0), 1);
    FakeClassMap map(2);
    ASSERT_TRUE(tracker.attach(&map));
    EXPECT_TRUE(map.classes.contains(702));
    EXPECT_EQ(map.classes.size(), 2u);
}

TEST(ClassMapAdmissionTest, FairnessBetweenUsersOfEqualEvidence) {
    ClassMapAdmission admission(4);
    for (uint32_t pid = 1; pid <= 4; pid++)
        EXPECT_TRUE(admission.request(pid, 100, Evidence::Weak).placed);
    // Full: a weak process of another user takes a place from the crowding user...
    auto other = admission.request(10, 200, Evidence::Weak);
    EXPECT_TRUE(other.placed);
    ASSERT_TRUE(other.evicted);
    EXPECT_FALSE(admission.placed(*other.evicted));
    // ...but the crowding user cannot take it back, nor one of its own.
    EXPECT_FALSE(admission.request(5, 100, Evidence::Weak).placed);
    // Places stop moving once users hold about the same number (3 against 1, then 2 and 2).
    EXPECT_TRUE(admission.request(11, 200, Evidence::Weak).placed);
    auto third = admission.request(12, 200, Evidence::Weak);
    EXPECT_FALSE(third.placed) << "2 against 2: no flapping";
    EXPECT_EQ(admission.placed_count(), 4u);
    // Strong evidence beats weak whoever holds it; manual beats strong.
    EXPECT_TRUE(admission.request(20, 100, Evidence::Strong).placed);
    for (uint32_t pid = 21; pid < 24; pid++)
        admission.request(pid, 300, Evidence::Strong);
    EXPECT_EQ(admission.placed_count(), 4u);
    auto manual = admission.request(30, 0, Evidence::Manual);
    EXPECT_TRUE(manual.placed);
    EXPECT_TRUE(manual.evicted);
}

TEST(ClassMapAdmissionTest, FreedPlacesGoToTheStrongestWaitingThenTheLeastServedUser) {
    ClassMapAdmission admission(2);
    admission.request(1, 100, Evidence::Strong);
    admission.request(2, 100, Evidence::Strong);
    admission.request(3, 100, Evidence::Weak);     // waits
    admission.request(4, 100, Evidence::Strong);   // waits: same user
    EXPECT_EQ(admission.waiting_count(), 2u);
    EXPECT_EQ(admission.release(1), std::optional<uint32_t>(4));
    EXPECT_EQ(admission.release(3), std::nullopt) << "a waiting one frees nothing";
    EXPECT_EQ(admission.release(2), std::nullopt) << "nobody waits";
}

// MarkGame/UnmarkGame survive a daemon restart (a crash and adoption included): a new tracker
// with the same store restores them while the processes live.
TEST_F(FakeProc, ManualMarksSurviveARestart) {
    auto store_path = root_ / "state" / "marks.json";
    add(800, "loop", "/usr/bin/loop", 1, {}, 1000, 4242);
    add(801, "game.exe", "/tmp/game.exe", 1, {}, 1000, 4343);
    add(802, "other", "/usr/bin/other", 1, {}, 1000, 4444);
    {
        GameTracker tracker(root_, {}, ManualMarkStore(store_path, "boot-a"));
        tracker.scan();
        ASSERT_TRUE(tracker.mark_game(800));
        ASSERT_TRUE(tracker.mark_game(802));
        ASSERT_TRUE(tracker.unmark_game(801));
    }
    // pid 802 exits while no daemon runs and the pid is reused.
    remove(802);
    add(802, "other", "/usr/bin/other", 1, {}, 1000, 9999);

    GameTracker restarted(root_, {}, ManualMarkStore(store_path, "boot-a"));
    FakeClassMap map(kDefaultClassCapacity);
    restarted.restore_marks();
    restarted.scan();
    ASSERT_TRUE(restarted.attach(&map));
    ASSERT_TRUE(restarted.processes().contains(800));
    EXPECT_TRUE(restarted.processes().at(800).manual);
    EXPECT_EQ(map.classes.at(800), FP_CLASS_GAME);
    EXPECT_FALSE(restarted.processes().contains(801)) << "still unmarked";
    EXPECT_FALSE(restarted.processes().contains(802)) << "a reused pid is not marked";
    // The dropped mark is gone from the store too.
    auto stored = ManualMarkStore(store_path, "boot-a").load();
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->size(), 2u);

    // Exits are forgotten; another boot's marks are never applied.
    restarted.on_exit(800, kLater);
    stored = ManualMarkStore(store_path, "boot-a").load();
    ASSERT_TRUE(stored);
    EXPECT_EQ(*stored, (std::vector<ManualMark>{{801, 4343, false}}));
    GameTracker rebooted(root_, {}, ManualMarkStore(store_path, "boot-b"));
    rebooted.restore_marks();
    rebooted.scan();
    EXPECT_TRUE(rebooted.processes().contains(801)) << "the old boot's unmark does not apply";
}

TEST_F(FakeProc, AMarkThatCannotBeStoredIsAnError) {
    add(900, "loop", "/usr/bin/loop", 1, {});
    // A regular file where the state directory should be: nothing can be created there,
    // whatever our privileges.
    std::ofstream(root_ / "not-a-dir") << "x";
    GameTracker tracker(root_, {}, ManualMarkStore(root_ / "not-a-dir" / "marks.json", "b"));
    auto status = tracker.mark_game(900);
    ASSERT_FALSE(status);
    EXPECT_NE(status.error().message.find("will not survive"), std::string::npos);
    EXPECT_TRUE(tracker.processes().at(900).manual) << "the mark applies all the same";
}
