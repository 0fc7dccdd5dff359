// A folder of its own for each test, empty when the test starts and removed when it ends: the
// fake sysfs or /proc a test reads through the real code.
#pragma once

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <string_view>
#include <unistd.h>

namespace framepace::testing {

class TempDirTest : public ::testing::Test {
protected:
    void SetUp() override {
        // Named after the process and the test: a leftover of a crashed run is emptied, and
        // tests that run at the same time never share a folder.
        const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
        root_ = std::filesystem::temp_directory_path() /
                ("framepace-" + std::to_string(::getpid()) + "-" + test->test_suite_name() + "-" +
                 test->name());
        std::filesystem::remove_all(root_);
        std::filesystem::create_directories(root_);
    }
    void TearDown() override { std::filesystem::remove_all(root_); }

    // Writes exactly text to root_/relative, making the folders on the way.
    void write_file(const std::filesystem::path& relative, std::string_view text) {
        std::filesystem::create_directories((root_ / relative).parent_path());
        std::ofstream(root_ / relative) << text;
    }

    std::filesystem::path root_;
};

}  // namespace framepace::testing
