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

TEST_F(Store, NoFileMeansNothingStored) {
    auto loaded = store().load(default_tunables());
    ASSERT_TRUE(loaded);
    EXPECT_FALSE(*loaded);
}

TEST_F(Store, SaveThenLoadRoundTripsAndLeavesNoTemporary) {
    fp_tunables t = default_tunables();
    t.role_slice_ns[FP_ROLE_BATCH] = 4'000'000;
    ASSERT_TRUE(store().save(t));
    auto loaded = store().load(default_tunables());
    ASSERT_TRUE(loaded && *loaded);
    EXPECT_EQ((*loaded)->role_slice_ns[FP_ROLE_BATCH], 4'000'000u);
    EXPECT_FALSE(fs::exists(dir_ / "tunables.json.tmp"));
}

TEST_F(Store, MissingKeysKeepDefaults) {
    write(R"({"slice_batch_ns": 2000000})");
    auto loaded = store().load(default_tunables());
    ASSERT_TRUE(loaded && *loaded);
    EXPECT_EQ((*loaded)->role_slice_ns[FP_ROLE_BATCH], 2'000'000u);
    EXPECT_EQ((*loaded)->sleep_budget_ns, FP_SLEEP_BUDGET_NS_DEFAULT);
}

TEST_F(Store, BadFilesAreErrorsNamingFileAndProblem) {
    for (const char* text : {"not json", "[1]", R"({"slice_batch_ns": "x"})", R"({"slice_batch_ns": -1})",
                             R"({"slice_batch_ns": 1})", R"({"colour": 3})"}) {
        write(text);
        auto loaded = store().load(default_tunables());
        ASSERT_FALSE(loaded) << text;
        EXPECT_NE(loaded.error().message.find("tunables.json"), std::string::npos) << text;
    }
}
