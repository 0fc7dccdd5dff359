// A Varlink server on a real sd-event loop and socketpairs, driven from the test's thread.
#pragma once

#include <gtest/gtest.h>
#include <string>
#include <sys/socket.h>
#include <time.h>
#include <vector>

#include "varlink/server/varlink_server.h"

namespace framepace::varlink::testing {

class LoopFixture : public ::testing::Test {
protected:
    void SetUp() override {
        sd_event* raw = nullptr;
        ASSERT_GE(sd_event_new(&raw), 0);
        loop_.reset(raw);
    }

    // Runs the loop until it has nothing left to do right now.
    void pump(int rounds = 20) {
        for (int i = 0; i < rounds; i++)
            if (sd_event_run(loop_.get(), 1000) <= 0)
                break;
    }

    // Runs the loop for about usec of wall time (timers fire).
    void run_for(uint64_t usec) {
        uint64_t end = now_usec() + usec;
        while (now_usec() < end)
            sd_event_run(loop_.get(), 1000);
    }

    static uint64_t now_usec() {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 +
               static_cast<uint64_t>(ts.tv_nsec) / 1000;
    }

    // Every reply of one "more" call, up to and including the one without "continues"
    // (reads as the server writes; gives up after `rounds` empty reads).
    std::vector<json> receive_stream(int fd, int rounds = 1000) {
        std::vector<json> replies;
        for (int idle = 0; idle < rounds;) {
            auto batch = receive(fd);
            if (batch.empty()) {
                idle++;
                continue;
            }
            for (auto& reply : batch) {
                bool last = !reply.contains("continues");
                replies.push_back(std::move(reply));
                if (last)
                    return replies;
            }
        }
        return replies;
    }

    // A connected client; the server side is handed to server as peer uid.
    int connect(Server& server, uid_t uid = 0) {
        int fds[2];
        EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        auto status = server.add_connection(UniqueFd(fds[0]), Peer{uid, 1});
        clients_.emplace_back(fds[1]);
        if (!status)
            return -1;
        return fds[1];
    }

    static void send_raw(int fd, std::string_view bytes) {
        ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(bytes.size()));
    }

    // Every complete message received so far, parsed.
    std::vector<json> receive(int fd) {
        pump();
        char buffer[64 * 1024];
        for (;;) {
            ssize_t n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
            if (n <= 0)
                break;
            pending_.append(buffer, static_cast<size_t>(n));
        }
        std::vector<json> messages;
        size_t end;
        while ((end = pending_.find('\0')) != std::string::npos) {
            messages.push_back(json::parse(pending_.substr(0, end)));
            pending_.erase(0, end + 1);
        }
        return messages;
    }

    // True when the server closed its end.
    bool closed(int fd) {
        pump();
        char c;
        return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
    }

    static std::string framed(const json& message) { return message.dump() + std::string(1, '\0'); }

    json call(int fd, const json& message) {
        send_raw(fd, message.dump() + std::string(1, '\0'));
        auto replies = receive(fd);
        EXPECT_EQ(replies.size(), 1u) << message.dump();
        return replies.empty() ? json() : replies.front();
    }

    EventLoop loop_;
    std::vector<UniqueFd> clients_;
    std::string pending_;
};

}  // namespace framepace::varlink::testing
