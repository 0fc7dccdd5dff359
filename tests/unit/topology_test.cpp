#include "daemon/scheduler/topology.h"

#include <filesystem>
#include <gtest/gtest.h>

#include "temp_dir_test.h"

namespace fs = std::filesystem;
using namespace framepace;

namespace {

class FakeSysfs : public framepace::testing::TempDirTest {
protected:
    // A sysfs value: one line.
    void write(const fs::path& rel, const std::string& text) { write_file(rel, text + "\n"); }
    void cache(int cpu, int index, int level, const std::string& shared) {
        fs::path dir = "cpu" + std::to_string(cpu) + "/cache/index" + std::to_string(index);
        write(dir / "level", std::to_string(level));
        write(dir / "shared_cpu_list", shared);
    }
};

}  // namespace

TEST(CpuList, ParsesRangesAndSingles) {
    auto cpus = parse_cpu_list("0-2,5,7-8");
    ASSERT_TRUE(cpus);
    EXPECT_EQ(*cpus, (std::vector<uint32_t>{0, 1, 2, 5, 7, 8}));
}

TEST(CpuList, RejectsGarbage) {
    EXPECT_FALSE(parse_cpu_list("0-"));
    EXPECT_FALSE(parse_cpu_list("a"));
    EXPECT_FALSE(parse_cpu_list("3-1"));
    EXPECT_FALSE(parse_cpu_list("1,,2"));
}

TEST_F(FakeSysfs, TwoL3DomainsGetDenseIdsInCpuOrder) {
    write("possible", "0-3");
    for (int cpu = 0; cpu < 4; cpu++) {
        cache(cpu, 0, 1, std::to_string(cpu));
        cache(cpu, 2, 2, std::to_string(cpu));
        cache(cpu, 3, 3, cpu < 2 ? "0-1" : "2-3");
    }
    auto topo = read_topology(root_);
    ASSERT_TRUE(topo) << topo.error().message;
    EXPECT_EQ(topo->nr_cpus, 4u);
    EXPECT_EQ(topo->nr_llcs, 2u);
    EXPECT_EQ(topo->cpu_llc, (std::vector<uint32_t>{0, 0, 1, 1}));
}

TEST_F(FakeSysfs, EachCpuNamesTheNextThreadOfItsCore) {
    // x86 numbering: the second threads of cores 0 and 1 are CPUs 2 and 3.
    write("possible", "0-3");
    for (int cpu = 0; cpu < 4; cpu++)
        write("cpu" + std::to_string(cpu) + "/topology/thread_siblings_list",
              cpu % 2 == 0 ? "0,2" : "1,3");
    auto topo = read_topology(root_);
    ASSERT_TRUE(topo) << topo.error().message;
    EXPECT_TRUE(topo->smt);
    EXPECT_EQ(topo->cpu_next_sibling, (std::vector<uint32_t>{2, 3, 0, 1}));
}

TEST_F(FakeSysfs, FourThreadsPerCoreFormOneRing) {
    write("possible", "0-4");
    for (int cpu = 0; cpu < 4; cpu++)
        write("cpu" + std::to_string(cpu) + "/topology/thread_siblings_list", "0-3");
    write("cpu4/topology/thread_siblings_list", "4");
    auto topo = read_topology(root_);
    ASSERT_TRUE(topo) << topo.error().message;
    EXPECT_EQ(topo->cpu_next_sibling, (std::vector<uint32_t>{1, 2, 3, 0, 4}));
}

TEST_F(FakeSysfs, WithoutSmtEachCpuIsItsOwnSibling) {
    write("possible", "0-1");
    auto topo = read_topology(root_);
    ASSERT_TRUE(topo) << topo.error().message;
    EXPECT_FALSE(topo->smt);
    EXPECT_EQ(topo->cpu_next_sibling, (std::vector<uint32_t>{0, 1}));
}

TEST_F(FakeSysfs, NoCacheInformationMeansOneLlc) {
    write("possible", "0-2");
    auto topo = read_topology(root_);
    ASSERT_TRUE(topo) << topo.error().message;
    EXPECT_EQ(topo->nr_llcs, 1u);
    EXPECT_EQ(topo->cpu_llc, (std::vector<uint32_t>{0, 0, 0}));
}

TEST_F(FakeSysfs, L2IsTheLastLevelWhenThereIsNoL3) {
    write("possible", "0-1");
    cache(0, 2, 2, "0");
    cache(1, 2, 2, "1");
    auto topo = read_topology(root_);
    ASSERT_TRUE(topo);
    EXPECT_EQ(topo->nr_llcs, 2u);
    EXPECT_EQ(topo->cpu_llc, (std::vector<uint32_t>{0, 1}));
}

TEST_F(FakeSysfs, MissingPossibleFileIsAnError) {
    auto topo = read_topology(root_);
    ASSERT_FALSE(topo);
    EXPECT_NE(topo.error().message.find("possible"), std::string::npos);
}
