#include "framepaced/options.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace framepace;

namespace {

Expected<Options> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "framepaced");
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_options(static_cast<int>(args.size()), argv.data());
}

}  // namespace

TEST(Options, DefaultsAreTheDocumentedOnes) {
    auto o = parse({});
    ASSERT_TRUE(o);
    fp_tunables t = apply_overrides(default_tunables(), o->tunable_overrides);
    EXPECT_EQ(t.role_slice_ns[FP_ROLE_NORMAL], FP_SLICE_NS_DEFAULT);
    EXPECT_EQ(t.role_slice_ns[FP_ROLE_BATCH], 6'000'000u);
    EXPECT_EQ(t.sleep_budget_ns, FP_SLEEP_BUDGET_NS_DEFAULT);
    EXPECT_EQ(o->stats_interval_ms, 0u);
    EXPECT_FALSE(o->show_help);
}

TEST(Options, HelpAndVersionAreFlags) {
    EXPECT_TRUE(parse({"--help"})->show_help);
    EXPECT_TRUE(parse({"-h"})->show_help);
    EXPECT_TRUE(parse({"--version"})->show_version);
}

TEST(Options, SliceIsGivenInMicroseconds) {
    auto o = parse({"--slice-us=2000", "--sleep-budget-us", "500"});
    ASSERT_TRUE(o) << o.error().message;
    fp_tunables t = apply_overrides(default_tunables(), o->tunable_overrides);
    for (uint64_t slice : t.role_slice_ns)
        EXPECT_EQ(slice, 2'000'000u) << "--slice-us sets every role's slice";
    EXPECT_EQ(t.sleep_budget_ns, 500'000u);
}

TEST(Options, OutOfRangeSliceNamesTheTunable) {
    auto o = parse({"--slice-us=10"});
    ASSERT_FALSE(o);
    EXPECT_NE(o.error().message.find("slice_"), std::string::npos) << o.error().message;
}

TEST(Options, RejectsGarbageClearly) {
    EXPECT_FALSE(parse({"--slice-us=abc"}));
    EXPECT_FALSE(parse({"--slice-us=-5"}));
    EXPECT_FALSE(parse({"--stats-interval=5"}));
    EXPECT_FALSE(parse({"--log-target=syslog"}));
    auto unknown = parse({"--frobnicate"});
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("--frobnicate"), std::string::npos);
    EXPECT_FALSE(parse({"extra"}));
}

TEST(Options, RingSizeMustBeAPowerOfTwoInRange) {
    EXPECT_EQ(parse({"--ringbuf-bytes=8192"})->ring_bytes, 8192u);
    EXPECT_FALSE(parse({"--ringbuf-bytes=5000"}));
    EXPECT_FALSE(parse({"--ringbuf-bytes=2048"}));
    EXPECT_FALSE(parse({"--ringbuf-bytes=536870912"}));
    EXPECT_FALSE(parse({"--ringbuf-bytes=x"}));
}

TEST(Options, UsageMentionsEveryOption) {
    std::string usage = usage_text();
    for (const char* name :
         {"--help", "--version", "--verbose", "--log-target", "--stats-interval", "--slice-us",
          "--sleep-budget-us", "--listen", "--state-dir", "--heartbeat-interval", "--no-reload",
          "--ringbuf-bytes", "--overflow-threshold", "--overflow-window-ms",
          "--debug-consume-interval-ms"})
        EXPECT_NE(usage.find(name), std::string::npos) << name;
}

TEST(Options, NumbersOutsideTheirRangeSayTheRange) {
    auto message = [](const char* arg) {
        auto o = parse({arg});
        return o ? std::string("accepted") : o.error().message;
    };
    EXPECT_EQ(message("--heartbeat-interval=9"),
              "--heartbeat-interval: '9' is not a number of milliseconds in 10..10000");
    EXPECT_EQ(message("--overflow-window-ms=600001"),
              "--overflow-window-ms: '600001' is not a number of milliseconds in 100..600000");
    EXPECT_EQ(message("--debug-consume-interval-ms=x"),
              "--debug-consume-interval-ms: 'x' is not a number of milliseconds in 0..60000");
    EXPECT_EQ(message("--overflow-threshold=-1"),
              "--overflow-threshold: '-1' is not a whole number");
    EXPECT_EQ(message("--stats-interval=x"),
              "--stats-interval: 'x' is not a whole number of milliseconds");
    EXPECT_EQ(message("--stats-interval=5"), "--stats-interval: below 10 ms the log is the load");
    EXPECT_EQ(message("--listen="), "--listen: empty path");
    EXPECT_EQ(message("--help=yes"), "unknown or incomplete option '--help=yes' (see --help)");
    EXPECT_EQ(message("--log-target"), "unknown or incomplete option '--log-target' (see --help)");
}

TEST(Options, EachOptionLandsInItsField) {
    auto o = parse({"-v", "--no-reload", "--no-dbus", "--listen=/run/fp", "--state-dir", "/s",
                    "--classes-file=", "--presets-file=/p.json", "--log-target=stderr",
                    "--stats-interval=0", "--heartbeat-interval=10000", "--overflow-threshold=0",
                    "--overflow-window-ms=100", "--debug-consume-interval-ms=60000",
                    "--ringbuf-bytes=268435456"});
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_TRUE(o->verbose);
    EXPECT_FALSE(o->reload);
    EXPECT_FALSE(o->dbus);
    EXPECT_EQ(o->listen_path, "/run/fp");
    EXPECT_EQ(o->state_dir, "/s");
    EXPECT_EQ(o->classes_file, "");
    EXPECT_EQ(o->presets_file, "/p.json");
    EXPECT_EQ(o->log_target, LogTarget::Stderr);
    EXPECT_EQ(o->heartbeat_interval_ms, 10000u);
    EXPECT_EQ(o->overflow_threshold, 0u);
    EXPECT_EQ(o->overflow_window_ms, 100u);
    EXPECT_EQ(o->debug_consume_interval_ms, 60000u);
    EXPECT_EQ(o->ring_bytes, 268435456u);
}
