// /sys/kernel/sched_ext as the daemon reads and reports it, over a folder that stands in for
// it: the small files common/read_file reads, and what is concluded from them.
#include "daemon/scheduler/sched_ext_sysfs.h"

#include <cerrno>
#include <filesystem>
#include <gtest/gtest.h>

#include "common/read_file.h"
#include "temp_dir_test.h"

namespace fs = std::filesystem;
using namespace framepace;

namespace {

class FakeSchedExt : public framepace::testing::TempDirTest {
protected:
    void write(const fs::path& rel, const std::string& text) { write_file(rel, text); }
};

}  // namespace

TEST_F(FakeSchedExt, FirstLineStopsAtTheNewlineAndWholeFileDoesNot) {
    write("two", "first\nsecond\n");
    EXPECT_EQ(read_first_line(root_ / "two").value_or("?"), "first");
    EXPECT_EQ(read_whole_file(root_ / "two").value_or("?"), "first\nsecond\n");
    write("unterminated", "value");
    EXPECT_EQ(read_first_line(root_ / "unterminated").value_or("?"), "value");
    write("blank", "\n");
    EXPECT_EQ(read_first_line(root_ / "blank").value_or("?"), "");
}

TEST_F(FakeSchedExt, ReadErrorsCarryErrnoAndTheFile) {
    auto missing = read_first_line(root_ / "missing");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, -ENOENT);
    EXPECT_NE(missing.error().message.find((root_ / "missing").string()), std::string::npos);
    EXPECT_EQ(read_whole_file(root_ / "missing").error().code, -ENOENT);
    EXPECT_EQ(read_whole_file(root_).error().code, -EISDIR);
    // No byte, no first line; a whole file may be empty.
    write("empty", "");
    EXPECT_EQ(read_first_line(root_ / "empty").error().code, -ENODATA);
    EXPECT_EQ(read_whole_file(root_ / "empty").value_or("?"), "");
}

TEST_F(FakeSchedExt, FramepaceRunsOnlyWhenEnabledWithItsOps) {
    write("state", "enabled\n");
    write("root/ops", "framepace\n");
    write("enable_seq", "7\n");
    auto state = read_sched_ext_state(root_);
    ASSERT_TRUE(state) << state.error().message;
    EXPECT_TRUE(framepace_running(state));
    EXPECT_EQ(sched_ext_state_text(state), "enabled");
    EXPECT_EQ(enable_seq_text(state), "7");

    write("root/ops", "bpfland\n");
    EXPECT_FALSE(framepace_running(read_sched_ext_state(root_)));
    write("root/ops", "framepace\n");
    write("state", "disabling\n");
    EXPECT_FALSE(framepace_running(read_sched_ext_state(root_)));
}

TEST_F(FakeSchedExt, AKernelWithoutSchedExtIsUnsupported) {
    auto state = read_sched_ext_state(root_);
    ASSERT_FALSE(state);
    EXPECT_NE(state.error().message.find("CONFIG_SCHED_CLASS_EXT"), std::string::npos);
    EXPECT_FALSE(framepace_running(state));
    EXPECT_EQ(sched_ext_state_text(state), "unsupported");
    EXPECT_EQ(enable_seq_text(state), "");
}

TEST_F(FakeSchedExt, AnUnreadableSequenceIsLeftOutNotThrown) {
    write("state", "disabled\n");
    write("enable_seq", "many\n");
    auto state = read_sched_ext_state(root_);
    ASSERT_TRUE(state);
    EXPECT_FALSE(state->enable_seq);
    EXPECT_FALSE(state->ops);
    EXPECT_EQ(enable_seq_text(state), "");
}
