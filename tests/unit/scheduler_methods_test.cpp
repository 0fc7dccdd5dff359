// The io.framepace.Scheduler method layer against a service with no scheduler attached (its
// games kept by the real GameTracker over a fake /proc): parameter checking and errors. What
// the methods do to a real scheduler is proven in the VM.
#include "varlink/scheduler_methods.h"

#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

#include "fake_proc.h"
#include "fake_scheduler_service.h"
#include "daemon/tunables/tunables.h"
#include "varlink_test_client.h"

using namespace framepace;
using namespace framepace::varlink;
using framepace::varlink::testing::LoopFixture;

#include <set>

namespace {

// The /proc of DetachedService, a base so that it is made before the service that reads it.
struct FakeProcOwner {
    framepace::testing::FakeProc proc{4242, 4243};
};

// Ejected by a stall, following the power-saver profile; processes 4242 and 4243 exist, no
// other does.
class DetachedService : private FakeProcOwner, public framepace::testing::FakeSchedulerService {
public:
    DetachedService() : FakeSchedulerService(proc.root()) {
        ExitInfo info;
        info.kind = FP_EXIT_KIND_ERROR_STALL;
        info.reason = "runnable task stall";
        exit = info;
        profile = {ActiveProfile{"org.freedesktop.UPower.PowerProfiles", "power-saver"},
                   "power-saving", builtin_presets()};
    }
};

class Methods : public LoopFixture {
protected:
    void SetUp() override {
        LoopFixture::SetUp();
        server_ = std::make_unique<Server>(loop_.get(), ServiceInfo{});
        methods_ = std::make_unique<SchedulerMethods>(service_, loop_.get());
        server_->add_interface(methods_->interface());
        fd_ = connect(*server_);
    }
    json call_method(const std::string& method, json params = json::object(), bool more = false) {
        json message = {{"method", std::string(kSchedulerInterface) + "." + method},
                        {"parameters", params}};
        if (more)
            message["more"] = true;
        return call(fd_, message);
    }

    DetachedService service_;
    std::unique_ptr<Server> server_;
    std::unique_ptr<SchedulerMethods> methods_;
    int fd_ = -1;
};

}  // namespace

TEST_F(Methods, StatusReportsTheEjection) {
    auto reply = call_method("GetStatus")["parameters"];
    EXPECT_EQ(reply["state"], "ejected");
    EXPECT_EQ(reply["last_exit"]["kind"], FP_EXIT_KIND_ERROR_STALL);
    EXPECT_EQ(reply["last_exit"]["reason"], "runnable task stall");
    EXPECT_EQ(reply["layout_version"], FP_LAYOUT_VERSION);
}

TEST_F(Methods, CallsThatNeedTheSchedulerSaySoWithTheReason) {
    for (const char* method : {"GetStats", "ResetStats", "ListTasks"}) {
        auto reply = call_method(method, json::object(), std::string(method) == "ListTasks");
        EXPECT_EQ(reply["error"], kErrorSchedulerNotAttached) << method;
        EXPECT_EQ(reply["parameters"]["reason"], "runnable task stall") << method;
    }
}

TEST_F(Methods, TunablesListEveryRange) {
    auto list = call_method("GetTunables")["parameters"]["tunables"];
    ASSERT_EQ(list.size(), std::size(kTunableRanges));
    for (size_t i = 0; i < list.size(); i++) {
        EXPECT_EQ(list[i]["name"], kTunableRanges[i].name);
        EXPECT_EQ(list[i]["min"], kTunableRanges[i].min);
        EXPECT_EQ(list[i]["max"], kTunableRanges[i].max);
        EXPECT_EQ(list[i]["value"], kTunableRanges[i].default_value);
    }
}

TEST_F(Methods, SetTunablesRejectsByParameterNameBeforeAnythingElse) {
    EXPECT_EQ(call_method("SetTunables", {{"slice_batch_ns", 1}})["parameters"]["parameter"],
              "slice_batch_ns");
    EXPECT_EQ(call_method("SetTunables", {{"slice_batch_ns", "x"}})["parameters"]["parameter"],
              "slice_batch_ns");
    EXPECT_EQ(call_method("SetTunables", {{"persist", 1}})["parameters"]["parameter"], "persist");
    EXPECT_EQ(call_method("SetTunables", {{"nice", 1}})["parameters"]["parameter"], "nice");
    // Valid, but nothing to apply it to.
    EXPECT_EQ(call_method("SetTunables", {{"slice_batch_ns", 2000000}})["error"],
              kErrorSchedulerNotAttached);
}

TEST_F(Methods, MonitorNeedsMoreAndAValidInterval) {
    EXPECT_EQ(call_method("Monitor")["error"], kErrorExpectedMore);
    auto bad = call_method("Monitor", {{"interval_usec", 5}}, true);
    EXPECT_EQ(bad["parameters"]["parameter"], "interval_usec");
}

TEST_F(Methods, ReadsRejectUnknownParameters) {
    EXPECT_EQ(call_method("GetStatus", {{"verbose", true}})["parameters"]["parameter"], "verbose");
}

TEST_F(Methods, GamesAreMarkedAndUnmarkedByPid) {
    EXPECT_EQ(call_method("MarkGame")["parameters"]["parameter"], "pid");
    EXPECT_EQ(call_method("MarkGame", {{"pid", 0}})["parameters"]["parameter"], "pid");
    EXPECT_EQ(call_method("MarkGame", {{"pid", "1000"}})["parameters"]["parameter"], "pid");
    EXPECT_EQ(call_method("MarkGame", {{"pid", 1000}, {"x", 1}})["parameters"]["parameter"], "x");
    auto missing = call_method("MarkGame", {{"pid", 12}});
    EXPECT_EQ(missing["error"], "io.framepace.Scheduler.NoSuchProcess");
    EXPECT_EQ(missing["parameters"]["pid"], 12);

    EXPECT_FALSE(call_method("MarkGame", {{"pid", 4242}}).contains("error"));
    auto games = call_method("ListGames")["parameters"]["processes"];
    ASSERT_EQ(games.size(), 1u);
    EXPECT_EQ(games[0]["pid"], 4242);
    EXPECT_EQ(games[0]["class"], "game");
    EXPECT_EQ(games[0]["manual"], true);

    EXPECT_FALSE(call_method("UnmarkGame", {{"pid", 4242}}).contains("error"));
    EXPECT_EQ(call_method("UnmarkGame", {{"pid", 4242}})["error"],
              "io.framepace.Scheduler.NotAGame");
    EXPECT_TRUE(call_method("ListGames")["parameters"]["processes"].empty());
}

TEST(SchedulerIdl, DeclaresEveryTunableAsASetTunablesParameter) {
    std::ifstream in(FRAMEPACE_SOURCE_DIR "/varlink/io.framepace.Scheduler.varlink");
    std::stringstream idl;
    idl << in.rdbuf();
    std::string text = idl.str();
    size_t method = text.find("method SetTunables(");
    ASSERT_NE(method, std::string::npos);
    std::string signature = text.substr(method, text.find(") ->", method) - method);
    for (const auto& range : kTunableRanges)
        EXPECT_NE(signature.find(std::string(range.name) + ": ?int"), std::string::npos)
            << range.name;
}

TEST_F(Methods, TunablesSayWhereTheirValueComesFrom) {
    auto list = call_method("GetTunables")["parameters"]["tunables"];
    for (const auto& tunable : list)
        EXPECT_EQ(tunable["source"], "default") << tunable["name"];
}

TEST_F(Methods, PowerProfileShowsServiceProfilePresetAndTheWholeMapping) {
    auto reply = call_method("GetPowerProfile")["parameters"];
    EXPECT_EQ(reply["service"], "org.freedesktop.UPower.PowerProfiles");
    EXPECT_EQ(reply["profile"], "power-saver");
    EXPECT_EQ(reply["preset"], "power-saving");
    std::map<std::string, std::string> mapping;
    for (const auto& entry : reply["mapping"])
        mapping[entry["profile"]] = entry["preset"];
    EXPECT_EQ(mapping, (std::map<std::string, std::string>{{"performance", "low-latency"},
                                                           {"balanced", "default"},
                                                           {"power-saver", "power-saving"}}));
    ASSERT_EQ(reply["presets"].size(), 3u);
    for (const auto& preset : reply["presets"])
        for (const auto& tunable : preset["tunables"])
            EXPECT_TRUE(find_tunable(tunable["name"].get<std::string>())) << tunable;
    EXPECT_EQ(call_method("GetPowerProfile", {{"x", 1}})["parameters"]["parameter"], "x");
}

TEST_F(Methods, ResetTunablesTakesNoParametersAndNeedsTheScheduler) {
    EXPECT_EQ(call_method("ResetTunables", {{"persist", true}})["parameters"]["parameter"],
              "persist");
    EXPECT_EQ(call_method("ResetTunables")["error"], kErrorSchedulerNotAttached);
}

namespace {

// The methods over readings of a scheduler that is not there: a stats object and a task
// list of any length, with the production limits of the server.
class Streams : public LoopFixture {
protected:
    void SetUp() override {
        LoopFixture::SetUp();
        SchedulerReadings readings;
        readings.stats = [] { return Expected<json>(json{{"timestamp_usec", 1}}); };
        readings.tasks = [this] {
            std::vector<fp_task_record> tasks(task_count_);
            for (size_t i = 0; i < tasks.size(); i++) {
                tasks[i].pid = 100 + static_cast<uint32_t>(i / 10);
                tasks[i].tid = 100 + static_cast<uint32_t>(i);
                snprintf(tasks[i].comm, sizeof(tasks[i].comm), "w%zu", i % 1000000);
                tasks[i].policy = i % 2 ? 3 : 0;   // SCHED_BATCH, SCHED_NORMAL
            }
            return Expected<std::vector<fp_task_record>>(std::move(tasks));
        };
        methods_ = std::make_unique<SchedulerMethods>(service_, loop_.get(), readings);
        server_ = std::make_unique<Server>(loop_.get(), ServiceInfo{});
        server_->add_interface(methods_->interface());
    }
    static json message(const std::string& method, json params = json::object()) {
        return {{"method", std::string(kSchedulerInterface) + "." + method},
                {"parameters", std::move(params)},
                {"more", true}};
    }

    DetachedService service_;
    size_t task_count_ = 0;
    std::unique_ptr<SchedulerMethods> methods_;
    std::unique_ptr<Server> server_;   // after methods_: connections close first
};

}  // namespace

// Issue 14 item 1: one reply was cut at the 1 MiB output cap near 5.7k tasks.
TEST_F(Streams, ListTasksDeliversFiftyThousandTasks) {
    task_count_ = 50'000;
    int fd = connect(*server_, 1000);
    send_raw(fd, framed(message("ListTasks")));
    auto replies = receive_stream(fd, 100000);
    ASSERT_FALSE(replies.empty());
    EXPECT_FALSE(replies.back().contains("continues"));
    size_t n = 0;
    for (const auto& reply : replies) {
        ASSERT_FALSE(reply.contains("error")) << reply.dump();
        EXPECT_LE(reply["parameters"]["tasks"].size(), kTasksPerReply);
        for (const auto& task : reply["parameters"]["tasks"])
            ASSERT_EQ(task["tid"], 100 + n++);
    }
    EXPECT_EQ(n, 50'000u);
    EXPECT_EQ(replies.size(), 50'000 / kTasksPerReply);
    EXPECT_EQ(methods_->stream_count(1000), 0u);   // the slot went with the last reply
}

// "class" is ListGames' word for what a process is; a task's scheduling policy is "policy".
TEST_F(Streams, ListTasksReportsTheSchedulingPolicyAsPolicy) {
    task_count_ = 2;
    int fd = connect(*server_, 1000);
    send_raw(fd, framed(message("ListTasks")));
    auto replies = receive_stream(fd);
    ASSERT_EQ(replies.size(), 1u);
    const json& tasks = replies[0]["parameters"]["tasks"];
    ASSERT_EQ(tasks.size(), 2u);
    EXPECT_EQ(tasks[0]["policy"], "normal");
    EXPECT_EQ(tasks[1]["policy"], "batch");
    EXPECT_EQ(tasks[0]["process_class"], "none");
    EXPECT_FALSE(tasks[0].contains("class"));
}

TEST_F(Streams, ListTasksToAHalfClosedClientArrivesWhole) {
    task_count_ = 20'000;
    int fd = connect(*server_, 1000);
    send_raw(fd, framed(message("ListTasks")));
    ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
    auto replies = receive_stream(fd, 100000);
    size_t n = 0;
    for (const auto& reply : replies)
        n += reply["parameters"]["tasks"].size();
    EXPECT_EQ(n, 20'000u);
    EXPECT_TRUE(closed(fd));
}

TEST_F(Streams, ListTasksWithNoTasksIsOneEmptyReplyAndNeedsMore) {
    int fd = connect(*server_, 1000);
    auto replies = (send_raw(fd, framed(message("ListTasks"))), receive_stream(fd));
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0]["parameters"]["tasks"], json::array());
    EXPECT_FALSE(replies[0].contains("continues"));
    json without_more = message("ListTasks");
    without_more.erase("more");
    EXPECT_EQ(call(fd, without_more)["error"], kErrorExpectedMore);
}

// Item 7: the stream ends with its connection, long before its next tick (60 s away).
TEST_F(Streams, MonitorEndsWhenItsConnectionCloses) {
    int fd = connect(*server_, 1000);
    send_raw(fd, framed(message("Monitor", {{"interval_usec", 60'000'000}})));
    auto first = receive(fd);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0]["continues"], true);
    EXPECT_EQ(methods_->monitor_count(), 1u);
    EXPECT_EQ(methods_->stream_count(1000), 1u);
    clients_.clear();   // the client goes
    pump();
    EXPECT_EQ(methods_->monitor_count(), 0u);
    EXPECT_EQ(methods_->stream_count(1000), 0u);
}

TEST_F(Streams, StreamsPerUidAreCappedButNotForRoot) {
    std::vector<int> fds;
    for (size_t i = 0; i < kMaxStreamsPerUid; i++) {
        fds.push_back(connect(*server_, 1000));
        send_raw(fds.back(), framed(message("Monitor", {{"interval_usec", 60'000'000}})));
        ASSERT_EQ(receive(fds.back()).size(), 1u);
    }
    int extra = connect(*server_, 1000);
    auto refused = call(extra, message("Monitor"));
    EXPECT_EQ(refused["error"], kErrorTooManyStreams);
    EXPECT_EQ(refused["parameters"]["limit"], kMaxStreamsPerUid);
    EXPECT_EQ(call(extra, message("ListTasks"))["error"], kErrorTooManyStreams);
    // Other users and root are not affected.
    int other = connect(*server_, 1001);
    EXPECT_EQ(call(other, message("ListTasks"))["parameters"]["tasks"], json::array());
    for (int i = 0; i < 6; i++) {
        int root = connect(*server_, 0);
        send_raw(root, framed(message("Monitor", {{"interval_usec", 60'000'000}})));
        EXPECT_EQ(receive(root).size(), 1u);
    }
    // Closing one of the user's streams gives its slot back.
    ::shutdown(fds[0], SHUT_RDWR);
    pump();
    EXPECT_EQ(methods_->stream_count(1000), kMaxStreamsPerUid - 1);
    send_raw(extra, framed(message("Monitor", {{"interval_usec", 60'000'000}})));
    auto accepted = receive(extra);
    ASSERT_EQ(accepted.size(), 1u);
    EXPECT_EQ(accepted[0]["continues"], true);
}
