#include "daemon/scheduler/libbpf_log.h"

#include <gtest/gtest.h>

#include <string>

namespace framepace {
namespace {

std::string verifier_log(int lines) {
    std::string log = "prog 'framepace_init': -- BEGIN PROG LOAD LOG --\n";
    for (int i = 0; i < lines; i++)
        log += std::to_string(i) + ": (bf) r1 = r6                      ; R1_w=1 R6_w=1\n";
    log += "back-edge from insn 24 to 24\n-- END PROG LOAD LOG --";
    return log;
}

TEST(ClipKeepingTail, AShortMessageIsKeptWhole) {
    std::string log = verifier_log(10);
    EXPECT_EQ(clip_keeping_tail(log, 4096), log);
}

// The daemon once cut a verifier log at 2 KiB and lost the reason, which is in the last lines.
TEST(ClipKeepingTail, ALongLogKeepsItsProgramLineAndItsReason) {
    std::string log = verifier_log(5000);
    std::string clipped = clip_keeping_tail(log, 4096);
    EXPECT_LE(clipped.size(), 4096u + 64);
    EXPECT_EQ(clipped.rfind("prog 'framepace_init': -- BEGIN PROG LOAD LOG --\n", 0), 0u);
    EXPECT_NE(clipped.find("back-edge from insn 24 to 24\n-- END PROG LOAD LOG --"),
              std::string::npos);
    EXPECT_NE(clipped.find(" bytes left out ...]\n"), std::string::npos);
}

TEST(ClipKeepingTail, TheTailStartsAtALine) {
    std::string clipped = clip_keeping_tail(verifier_log(5000), 4096);
    size_t marker = clipped.find("left out ...]\n");
    ASSERT_NE(marker, std::string::npos);
    std::string after = clipped.substr(marker + 14);
    EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(after[0]))) << after.substr(0, 40);
}

TEST(ClipKeepingTail, TheCountSaysHowMuchWasLeftOut) {
    std::string log = verifier_log(5000);
    std::string clipped = clip_keeping_tail(log, 4096);
    size_t open = clipped.find("[... ");
    size_t count = std::stoul(clipped.substr(open + 5));
    size_t marker_end = clipped.find("left out ...]\n") + 14;
    EXPECT_EQ(count + (clipped.size() - marker_end) + open, log.size());
}

}  // namespace
}  // namespace framepace
