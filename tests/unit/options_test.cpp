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
    for (const char* name : {"--help", "--version", "--verbose", "--log-target",
                             "--stats-interval", "--slice-us", "--sleep-budget-us", "--listen",
                             "--state-dir", "--heartbeat-interval", "--no-reload",
                             "--ringbuf-bytes", "--overflow-threshold", "--overflow-window-ms",
                             "--debug-consume-interval-ms"})
        EXPECT_NE(usage.find(name), std::string::npos) << name;
}
