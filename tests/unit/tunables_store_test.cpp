#include "tunables_store.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

#include "tunables.h"

using namespace framepace;
namespace fs = std::filesystem;

namespace {

class Store : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("framepace-store-" + std::to_string(getpid()));
        fs::remove_all(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    void write(const std::string& text) {
        fs::create_directories(dir_);
        std::ofstream(dir_ / "tunables.json") << text;
    }
    TunablesStore store() const { return TunablesStore(dir_ / "tunables.json"); }
    fs::path dir_;
};

}  // namespace

size_t index_of(const char* name) { return tunable_index(*find_tunable(name)); }

TEST_F(Store, NoFileMeansNothingStored) {
    auto loaded = store().load();
    ASSERT_TRUE(loaded);
    for (const auto& value : *loaded)
        EXPECT_FALSE(value);
}

TEST_F(Store, SaveThenLoadRoundTripsOnlyTheChosenAndLeavesNoTemporary) {
    TunableOverrides values{};
    values[index_of("slice_batch_ns")] = 4'000'000;
    ASSERT_TRUE(store().save(values));
    std::ifstream in(dir_ / "tunables.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "{\n  \"slice_batch_ns\": 4000000\n}\n");
    auto loaded = store().load();
    ASSERT_TRUE(loaded);
    EXPECT_EQ((*loaded)[index_of("slice_batch_ns")], 4'000'000u);
    EXPECT_FALSE((*loaded)[index_of("sleep_budget_ns")]);
    EXPECT_FALSE(fs::exists(dir_ / "tunables.json.tmp"));
}

TEST_F(Store, EmptySaveStoresNothing) {
    ASSERT_TRUE(store().save({}));
    auto loaded = store().load();
    ASSERT_TRUE(loaded);
    for (const auto& value : *loaded)
        EXPECT_FALSE(value);
}

TEST_F(Store, BadFilesAreErrorsNamingFileAndProblem) {
    for (const char* text : {"not json", "[1]", R"({"slice_batch_ns": "x"})", R"({"slice_batch_ns": -1})",
                             R"({"slice_batch_ns": 1})", R"({"colour": 3})"}) {
        write(text);
        auto loaded = store().load();
        ASSERT_FALSE(loaded) << text;
        EXPECT_NE(loaded.error().message.find("tunables.json"), std::string::npos) << text;
    }
}
