// Plays systemd's notification socket ($NOTIFY_SOCKET) for a test: a datagram socket of its
// own, and every message the code under test sent to it, in order (passed fds closed).
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace framepace::testing {

class NotifySocketTest : public ::testing::Test {
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

    std::filesystem::path path_;
    UniqueFd socket_;
};

}  // namespace framepace::testing
