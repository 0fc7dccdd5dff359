#include "daemon/tunables/presets.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace framepace;
namespace fs = std::filesystem;

namespace {

class PresetsFile : public ::testing::Test {
protected:
    void SetUp() override {
        path_ =
            fs::temp_directory_path() / ("framepace-presets-" + std::to_string(getpid()) + ".json");
    }
    void TearDown() override { fs::remove(path_); }
    void write(const std::string& text) { std::ofstream(path_) << text; }
    fs::path path_;
};

uint64_t preset_value(const TunablePreset& preset, const char* name) {
    return preset.values[tunable_index(*find_tunable(name))].value_or(0);
}

}  // namespace

TEST(Presets, BuiltInsMapTheThreeProfilesToValidValues) {
    PresetTable table = builtin_presets();
    ASSERT_TRUE(table.for_profile("performance"));
    EXPECT_EQ(table.for_profile("performance")->name, "low-latency");
    EXPECT_EQ(table.for_profile("balanced")->name, "default");
    EXPECT_EQ(table.for_profile("power-saver")->name, "power-saving");
    EXPECT_EQ(table.for_profile("quiet"), nullptr);
    for (const auto& preset : table.presets) {
        fp_tunables t = apply_overrides(default_tunables(), preset.values);
        EXPECT_TRUE(validate_tunables(t)) << preset.name;
    }
    // balanced changes nothing; power-saving preempts less than low-latency.
    for (const auto& value : table.find("default")->values)
        EXPECT_FALSE(value);
    EXPECT_GT(preset_value(*table.find("power-saving"), "slice_batch_ns"),
              preset_value(*table.find("low-latency"), "slice_batch_ns"));
}

TEST_F(PresetsFile, MissingFileIsTheBuiltIns) {
    auto table = load_presets(path_.string());
    ASSERT_TRUE(table);
    EXPECT_EQ(table->presets.size(), builtin_presets().presets.size());
}

TEST_F(PresetsFile, FileAddsReplacesAndRemaps) {
    write(R"({"presets": {"handheld": {"slice_batch_ns": 30000000},
                          "low-latency": {"slice_normal_ns": 1000000}},
              "profiles": {"power-saver": "handheld", "turbo": "low-latency"}})");
    auto table = load_presets(path_.string());
    ASSERT_TRUE(table) << table.error().message;
    EXPECT_EQ(table->for_profile("power-saver")->name, "handheld");
    EXPECT_EQ(preset_value(*table->for_profile("power-saver"), "slice_batch_ns"), 30'000'000u);
    EXPECT_EQ(table->for_profile("turbo")->name, "low-latency");
    // Replaced, not merged: the built-in low-latency's other values are gone.
    EXPECT_EQ(preset_value(*table->find("low-latency"), "slice_normal_ns"), 1'000'000u);
    EXPECT_EQ(preset_value(*table->find("low-latency"), "slice_batch_ns"), 0u);
    EXPECT_EQ(table->for_profile("balanced")->name, "default");
}

TEST_F(PresetsFile, BadFilesAreErrorsNamingFileAndProblem) {
    struct Case {
        const char* text;
        const char* says;
    } cases[] = {
        {"not json", "not JSON"},
        {R"({"preset": {}})", "unknown key 'preset'"},
        {R"({"presets": []})", "presets is not an object"},
        {R"({"presets": {"x": {"colour": 1}}})", "preset x: unknown tunable 'colour'"},
        {R"({"presets": {"x": {"slice_batch_ns": 1}}})",
         "preset x: slice_batch_ns=1 is out of range"},
        {R"({"presets": {"x": {"slice_batch_ns": -5}}})", "not a non-negative integer"},
        {R"({"presets": {"a b": {}}})", "preset name 'a b'"},
        {R"({"profiles": {"power-saver": "nothing"}})", "profile power-saver maps to \"nothing\""},
        {R"({"profiles": {"power-saver": 3}})", "which is not a preset"},
    };
    for (const auto& c : cases) {
        write(c.text);
        auto table = load_presets(path_.string());
        ASSERT_FALSE(table) << c.text;
        EXPECT_NE(table.error().message.find(path_.string()), std::string::npos)
            << table.error().message;
        EXPECT_NE(table.error().message.find(c.says), std::string::npos) << table.error().message;
    }
}
