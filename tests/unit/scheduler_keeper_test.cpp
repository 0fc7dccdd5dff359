#include "daemon/scheduler/scheduler_keeper.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "notify_socket_test.h"

using namespace framepace;

namespace {

// Collects what the keeper sends to systemd, in order.
class NotifySocket : public framepace::testing::NotifySocketTest {
protected:
    static UniqueFd any_fd() { return UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC)); }
};

}  // namespace

// A crash at any moment must leave the store with a scheduler: the new one is stored before
// the old one is removed, under names the removal does not touch.
TEST_F(NotifySocket, ANewSchedulerIsStoredBeforeTheOldIsRemoved) {
    SchedulerKeeper keeper(SchedulerKeeper::Store::FdStore, "/nonexistent");
    PassedFds passed;
    passed.emplace_back("fp.7.link", any_fd());
    passed.emplace_back("fp.7.map.meta", any_fd());
    passed.emplace_back("varlink", any_fd());
    KeptFds kept = keeper.take_kept(passed);
    EXPECT_EQ(kept.size(), 2u);
    EXPECT_TRUE(kept.contains("link"));
    EXPECT_TRUE(kept.contains("map.meta"));
    ASSERT_EQ(passed.size(), 1u) << "the socket stays for Varlink";

    UniqueFd link = any_fd(), meta = any_fd();
    ASSERT_TRUE(keeper.keep("9", {{"link", link.get()}, {"map.meta", meta.get()}}));
    auto sent = messages();
    ASSERT_EQ(sent.size(), 4u);
    EXPECT_EQ(sent[0], "FDSTORE=1\nFDNAME=fp.9.link");
    EXPECT_EQ(sent[1], "FDSTORE=1\nFDNAME=fp.9.map.meta\nFDPOLL=0");
    EXPECT_EQ(sent[2], "FDSTOREREMOVE=1\nFDNAME=fp.7.link");
    EXPECT_EQ(sent[3], "FDSTOREREMOVE=1\nFDNAME=fp.7.map.meta");

    keeper.forget();
    sent = messages();
    EXPECT_EQ(sent, (std::vector<std::string>{"FDSTOREREMOVE=1\nFDNAME=fp.9.link",
                                              "FDSTOREREMOVE=1\nFDNAME=fp.9.map.meta"}));
}

// An adopted scheduler's descriptors are the very ones in the store: systemd would ignore
// them stored again, so nothing may be removed.
TEST_F(NotifySocket, AnAdoptedSchedulerStaysStoredAsItIs) {
    SchedulerKeeper keeper(SchedulerKeeper::Store::FdStore, "/nonexistent");
    PassedFds passed;
    passed.emplace_back("fp.link", any_fd());       // stored by a daemon before tags
    passed.emplace_back("fp.map.meta", any_fd());
    KeptFds kept = keeper.take_kept(passed);
    EXPECT_TRUE(kept.contains("link"));
    EXPECT_TRUE(kept.contains("map.meta"));
    keeper.keep_adopted();
    EXPECT_TRUE(messages().empty());
}

// A crash between storing and removing leaves two schedulers' entries: the newest with a
// link is taken, the other's entries go.
TEST_F(NotifySocket, AfterACrashMidReplacementTheNewestIsTaken) {
    SchedulerKeeper keeper(SchedulerKeeper::Store::FdStore, "/nonexistent");
    PassedFds passed;
    passed.emplace_back("fp.12.link", any_fd());
    passed.emplace_back("fp.12.map.meta", any_fd());
    passed.emplace_back("fp.100.map.meta", any_fd());   // its link is gone: systemd dropped it
    passed.emplace_back("fp.99.link", any_fd());
    passed.emplace_back("fp.99.map.meta", any_fd());
    KeptFds kept = keeper.take_kept(passed);
    ASSERT_EQ(kept.size(), 2u);
    keeper.keep_adopted();
    auto sent = messages();
    EXPECT_EQ(sent, (std::vector<std::string>{"FDSTOREREMOVE=1\nFDNAME=fp.100.map.meta",
                                              "FDSTOREREMOVE=1\nFDNAME=fp.12.link",
                                              "FDSTOREREMOVE=1\nFDNAME=fp.12.map.meta"}));
}

TEST_F(NotifySocket, AFailedStoreKeepsTheOldEntries) {
    SchedulerKeeper keeper(SchedulerKeeper::Store::FdStore, "/nonexistent");
    PassedFds passed;
    passed.emplace_back("fp.7.link", any_fd());
    keeper.take_kept(passed);
    unsetenv("NOTIFY_SOCKET");   // systemd is gone: nothing can be stored
    ASSERT_FALSE(keeper.keep("9", {{"link", 0}}));
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    keeper.forget();
    auto sent = messages();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0], "FDSTOREREMOVE=1\nFDNAME=fp.7.link");
}
