// A /proc of a few processes in a temporary folder, for tests that run the real GameTracker
// (MarkGame/UnmarkGame need a process to exist and to have a start time).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <system_error>

namespace framepace::testing {

// Each pid gets comm, cmdline, an exe link (to /opt/games/COMM, which need not exist), a
// status with uid 1000 and a stat line with start time 100. The folder goes with its owner:
// test runs must not leave one in /tmp each.
class FakeProc {
public:
    explicit FakeProc(std::initializer_list<uint32_t> pids, const std::string& comm = "game.exe") {
        char dir[] = "/tmp/framepace-fake-proc-XXXXXX";
        if (!mkdtemp(dir))
            std::abort();
        root_ = dir;
        for (uint32_t pid : pids) {
            auto base = root_ / std::to_string(pid);
            std::filesystem::create_directories(base);
            std::ofstream(base / "comm") << comm << "\n";
            std::ofstream(base / "cmdline") << comm;
            std::filesystem::create_symlink("/opt/games/" + comm, base / "exe");
            std::ofstream(base / "status")
                << "Name:\t" << comm << "\nUid:\t1000\t1000\t1000\t1000\n";
            std::ofstream(base / "stat")
                << pid << " (" << comm << ") S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n";
        }
    }
    ~FakeProc() {
        std::error_code ignored;
        std::filesystem::remove_all(root_, ignored);
    }
    FakeProc(const FakeProc&) = delete;
    FakeProc& operator=(const FakeProc&) = delete;

    const std::filesystem::path& root() const { return root_; }

private:
    std::filesystem::path root_;
};

}  // namespace framepace::testing
