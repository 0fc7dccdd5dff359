#include "daemon/tunables/layers.h"

#include <gtest/gtest.h>

using namespace framepace;

namespace {

size_t at(const char* name) { return tunable_index(*find_tunable(name)); }

TunableOverrides one(const char* name, uint64_t value) {
    TunableOverrides values{};
    values[at(name)] = value;
    return values;
}

uint64_t value_of(const TunableLayers& layers, const char* name) {
    return tunable_value(layers.effective(), *find_tunable(name));
}

}  // namespace

TEST(TunableLayers, NothingSetIsTheDefaults) {
    TunableLayers layers;
    fp_tunables t = layers.effective();
    fp_tunables d = default_tunables();
    for (const auto& range : kTunableRanges) {
        EXPECT_EQ(tunable_value(t, range), tunable_value(d, range)) << range.name;
        EXPECT_EQ(layers.source(tunable_index(range)), TunableSource::Default);
    }
    EXPECT_EQ(t.user_set_mask, 0u);
}

TEST(TunableLayers, ExplicitChoicesWinOverThePresetUntilReset) {
    TunableLayers layers;
    layers.set_preset("power-saving", one("slice_batch_ns", 20'000'000));
    EXPECT_EQ(value_of(layers, "slice_batch_ns"), 20'000'000u);
    EXPECT_EQ(layers.source(at("slice_batch_ns")), TunableSource::Preset);

    layers.set_explicit(one("slice_batch_ns", 5'000'000));
    EXPECT_EQ(value_of(layers, "slice_batch_ns"), 5'000'000u);
    EXPECT_EQ(layers.source(at("slice_batch_ns")), TunableSource::Set);
    // A profile change later does not undo the choice...
    layers.set_preset("low-latency", one("slice_batch_ns", 3'000'000));
    EXPECT_EQ(value_of(layers, "slice_batch_ns"), 5'000'000u);
    // ... a reset does, and the active preset applies at once.
    layers.reset_explicit();
    EXPECT_EQ(value_of(layers, "slice_batch_ns"), 3'000'000u);
    EXPECT_EQ(layers.source(at("slice_batch_ns")), TunableSource::Preset);
    layers.set_preset("", {});
    EXPECT_EQ(value_of(layers, "slice_batch_ns"),
              kTunableRanges[at("slice_batch_ns")].default_value);
}

TEST(TunableLayers, OrderIsPresetStoredCommandLineSet) {
    TunableLayers layers;
    layers.set_preset("p", one("boost_window_ns", 1'000'000));
    layers.set_stored(one("boost_window_ns", 2'000'000));
    EXPECT_EQ(value_of(layers, "boost_window_ns"), 2'000'000u);
    EXPECT_EQ(layers.source(at("boost_window_ns")), TunableSource::Stored);
    layers.set_command_line(one("boost_window_ns", 3'000'000));
    EXPECT_EQ(value_of(layers, "boost_window_ns"), 3'000'000u);
    EXPECT_EQ(layers.source(at("boost_window_ns")), TunableSource::CommandLine);
    layers.set_explicit(one("boost_window_ns", 4'000'000));
    EXPECT_EQ(value_of(layers, "boost_window_ns"), 4'000'000u);
    // Reset drops stored and set choices; the command line is configuration and stays.
    layers.reset_explicit();
    EXPECT_EQ(value_of(layers, "boost_window_ns"), 3'000'000u);
    EXPECT_EQ(layers.source(at("boost_window_ns")), TunableSource::CommandLine);
}

TEST(TunableLayers, PersistentIsStoredPlusSetButNotPresetOrCommandLine) {
    TunableLayers layers;
    layers.set_preset("p", one("shared_util_pct", 90));
    layers.set_command_line(one("slice_normal_ns", 2'000'000));
    layers.set_stored(one("boost_window_ns", 2'000'000));
    layers.set_explicit(one("slice_batch_ns", 7'000'000));
    TunableOverrides stored = layers.persistent();
    for (size_t i = 0; i < stored.size(); i++) {
        if (i == at("boost_window_ns"))
            EXPECT_EQ(stored[i], 2'000'000u);
        else if (i == at("slice_batch_ns"))
            EXPECT_EQ(stored[i], 7'000'000u);
        else
            EXPECT_FALSE(stored[i]) << kTunableRanges[i].name;
    }
}

TEST(TunableLayers, AdoptedSchedulerCarriesTheRunTimeChoicesInItsMask) {
    TunableLayers before;
    before.set_preset("p", one("shared_util_pct", 90));
    before.set_explicit(one("slice_batch_ns", 7'000'000));
    fp_tunables kept = before.effective();
    EXPECT_EQ(kept.user_set_mask, 1ULL << at("slice_batch_ns"));

    // A new daemon: the choice survives, the old preset's value does not become a choice.
    TunableLayers after;
    EXPECT_TRUE(after.adopt_explicit(kept).empty());
    EXPECT_EQ(after.source(at("slice_batch_ns")), TunableSource::Set);
    EXPECT_EQ(value_of(after, "slice_batch_ns"), 7'000'000u);
    EXPECT_EQ(after.source(at("shared_util_pct")), TunableSource::Default);
}

// A daemon before an upgrade that narrowed a range (shared_util_pct took up to 100) may have
// set a value this one refuses: adopting it would make every later apply fail validation.
TEST(TunableLayers, AnAdoptedChoiceOutOfRangeIsLeftOutAndNamed) {
    fp_tunables kept = default_tunables();
    tunable_ref(kept, kTunableRanges[at("shared_util_pct")]) = 100;
    tunable_ref(kept, kTunableRanges[at("slice_batch_ns")]) = 7'000'000;
    kept.user_set_mask = (1ULL << at("shared_util_pct")) | (1ULL << at("slice_batch_ns"));

    TunableLayers after;
    after.set_preset("p", one("shared_util_pct", 90));
    auto rejected = after.adopt_explicit(kept);
    ASSERT_EQ(rejected.size(), 1u);
    EXPECT_NE(rejected[0].find("shared_util_pct=100 is out of range"), std::string::npos)
        << rejected[0];
    EXPECT_EQ(after.source(at("shared_util_pct")), TunableSource::Preset);
    EXPECT_EQ(value_of(after, "shared_util_pct"), 90u);
    EXPECT_EQ(value_of(after, "slice_batch_ns"), 7'000'000u);
    EXPECT_TRUE(validate_tunables(after.effective()));
}
