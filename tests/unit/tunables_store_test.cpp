#include "daemon/tunables/store.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "daemon/tunables/tunables.h"

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
    for (const auto& value : loaded->values)
        EXPECT_FALSE(value);
    EXPECT_TRUE(loaded->rejected.empty());
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
    EXPECT_EQ(loaded->values[index_of("slice_batch_ns")], 4'000'000u);
    EXPECT_FALSE(loaded->values[index_of("sleep_budget_ns")]);
    EXPECT_TRUE(loaded->rejected.empty());
    EXPECT_FALSE(fs::exists(dir_ / "tunables.json.tmp"));
}

TEST_F(Store, EmptySaveStoresNothing) {
    ASSERT_TRUE(store().save({}));
    auto loaded = store().load();
    ASSERT_TRUE(loaded);
    for (const auto& value : loaded->values)
        EXPECT_FALSE(value);
    EXPECT_TRUE(loaded->rejected.empty());
}

TEST_F(Store, FilesThatAreNoObjectAreErrorsNamingFileAndProblem) {
    for (const char* text : {"not json", "[1]", "3"}) {
        write(text);
        auto loaded = store().load();
        ASSERT_FALSE(loaded) << text;
        EXPECT_NE(loaded.error().message.find("tunables.json"), std::string::npos) << text;
    }
}

// A file written by another version (a range narrowed since, as shared_util_pct's to 95; a
// tunable new or gone) or edited by hand: what this version cannot take is left out and
// named, and the other choices stay.
TEST_F(Store, EntriesThisVersionDoesNotTakeAreLeftOutAndNamedTheOthersStay) {
    struct Case {
        const char* entry;
        const char* named;
    };
    for (const Case& c : {Case{R"("shared_util_pct": 100)", "shared_util_pct=100 is out of range"},
                          Case{R"("slice_batch_ns": "x")", "slice_batch_ns"},
                          Case{R"("slice_batch_ns": -1)", "slice_batch_ns"},
                          Case{R"("slice_batch_ns": 1)", "slice_batch_ns=1 is out of range"},
                          Case{R"("colour": 3)", "unknown tunable 'colour'"}}) {
        write(std::string(R"({"sleep_budget_ns": 2000000, )") + c.entry + "}");
        auto loaded = store().load();
        ASSERT_TRUE(loaded) << c.entry;
        EXPECT_EQ(loaded->values[index_of("sleep_budget_ns")], 2'000'000u) << c.entry;
        EXPECT_FALSE(loaded->values[index_of("shared_util_pct")]) << c.entry;
        EXPECT_FALSE(loaded->values[index_of("slice_batch_ns")]) << c.entry;
        ASSERT_EQ(loaded->rejected.size(), 1u) << c.entry;
        EXPECT_NE(loaded->rejected[0].find("tunables.json: "), std::string::npos);
        EXPECT_NE(loaded->rejected[0].find(c.named), std::string::npos) << loaded->rejected[0];
    }
}

namespace {

// Stand-ins for one failing system call each.
ssize_t failing_write(int, const void*, size_t) {
    errno = ENOSPC;
    return -1;
}
ssize_t short_write(int fd, const void* data, size_t size) {
    // Half, then nothing: a disk that fills up mid-write.
    static bool first = true;
    if (!first) {
        first = true;
        return 0;
    }
    first = false;
    return ::write(fd, data, size / 2);
}
int failing_fsync(int) {
    errno = EIO;
    return -1;
}
int failing_rename(const char*, const char*) {
    errno = EXDEV;
    return -1;
}
// Fails on directories only: the file's own fsync passes.
int failing_dir_fsync(int fd) {
    struct stat st{};
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        errno = EIO;
        return -1;
    }
    return ::fsync(fd);
}

std::string contents(const fs::path& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_F(Store, EveryFailedStepIsAnErrorAndLeavesNoTemporaryNorAHalfFile) {
    TunableOverrides first{};
    first[index_of("slice_batch_ns")] = 4'000'000;
    ASSERT_TRUE(store().save(first));
    const std::string before = contents(dir_ / "tunables.json");
    TunableOverrides second{};
    second[index_of("slice_batch_ns")] = 5'000'000;

    struct Case {
        const char* name;
        FileSystemCalls calls;
        const char* says;
    };
    FileSystemCalls write_fails, short_write_fails, fsync_fails, rename_fails;
    write_fails.write = failing_write;
    short_write_fails.write = short_write;
    fsync_fails.fsync = failing_fsync;
    rename_fails.rename = failing_rename;
    for (const Case& c : {Case{"write", write_fails, "cannot write"},
                          Case{"short write", short_write_fails, "cannot write"},
                          Case{"fsync", fsync_fails, "cannot sync"},
                          Case{"rename", rename_fails, "cannot replace"}}) {
        auto status = store().save(second, c.calls);
        ASSERT_FALSE(status) << c.name;
        EXPECT_NE(status.error().message.find(c.says), std::string::npos)
            << c.name << ": " << status.error().message;
        EXPECT_FALSE(fs::exists(dir_ / "tunables.json.tmp")) << c.name;
        EXPECT_EQ(contents(dir_ / "tunables.json"), before) << c.name;
    }
}

TEST_F(Store, AFailedDirectorySyncIsReported) {
    FileSystemCalls calls;
    calls.fsync = failing_dir_fsync;
    TunableOverrides values{};
    values[index_of("slice_batch_ns")] = 4'000'000;
    auto status = store().save(values, calls);
    ASSERT_FALSE(status) << "the rename may not survive a power loss";
    EXPECT_NE(status.error().message.find("cannot sync " + dir_.string()), std::string::npos)
        << status.error().message;
    EXPECT_FALSE(fs::exists(dir_ / "tunables.json.tmp"));
    auto loaded = store().load();
    ASSERT_TRUE(loaded) << "the new file is in place";
    EXPECT_EQ(loaded->values[index_of("slice_batch_ns")], 4'000'000u);
}

TEST_F(Store, AnUnusableDirectoryIsAnError) {
    // A regular file where the directory should be stops root as well as anyone.
    fs::create_directories(dir_);
    std::ofstream(dir_ / "file") << "x";
    TunablesStore blocked(dir_ / "file" / "tunables.json");
    auto status = blocked.save({});
    ASSERT_FALSE(status);
    EXPECT_FALSE(fs::exists(dir_ / "file" / "tunables.json.tmp"));
}
