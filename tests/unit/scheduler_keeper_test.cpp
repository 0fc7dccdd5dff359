#include "daemon/scheduler/scheduler_keeper.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

using namespace framepace;

namespace {

// Plays systemd's notify socket: collects what the keeper sends, in order.
class NotifySocket : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = std::filesystem::temp_directory_path() /
                ("framepace-notify-" + std::to_string(getpid()));
        std::filesystem::remove(path_);
        socket_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        ASSERT_TRUE(socket_.valid());
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
        ASSERT_EQ(bind(socket_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    }
    void TearDown() override {
        unsetenv("NOTIFY_SOCKET");
        std::filesystem::remove(path_);
    }

    // Every message received so far, fds closed.
    std::vector<std::string> messages() {
        std::vector<std::string> out;
        for (;;) {
            char text[4096];
            char control[CMSG_SPACE(sizeof(int) * 16)];
            iovec iov{text, sizeof(text) - 1};
            msghdr msg{};
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = sizeof(control);
            ssize_t n = recvmsg(socket_.get(), &msg, MSG_CMSG_CLOEXEC);
            if (n < 0)
                return out;
            for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                    for (size_t i = 0; i < count; i++)
                        close(reinterpret_cast<int*>(CMSG_DATA(c))[i]);
                }
            out.emplace_back(text, static_cast<size_t>(n));
        }
    }

    static UniqueFd any_fd() { return UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC)); }

    std::filesystem::path path_;
    UniqueFd socket_;
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
