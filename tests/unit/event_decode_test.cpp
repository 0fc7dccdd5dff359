#include "event_consumer.h"

#include <cstring>
#include <gtest/gtest.h>
#include <vector>

using namespace framepace;

namespace {

std::vector<uint8_t> bytes_of(const fp_event& ev) {
    std::vector<uint8_t> out(sizeof(ev));
    std::memcpy(out.data(), &ev, sizeof(ev));
    return out;
}

}  // namespace

TEST(EventDecode, ExecCarriesCommAndFilename) {
    fp_event raw{};
    raw.version = FP_EVENT_VERSION;
    raw.type = FP_EV_EXEC;
    raw.pid = 42;
    std::strcpy(raw.comm, "game.exe");
    std::strcpy(raw.exec.filename, "/games/game.exe");
    auto ev = decode_event(bytes_of(raw));
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->type, FP_EV_EXEC);
    EXPECT_EQ(ev->pid, 42u);
    EXPECT_EQ(ev->comm, "game.exe");
    EXPECT_EQ(ev->filename, "/games/game.exe");
}

TEST(EventDecode, UnknownTypeVersionOrShortRecordIsRefused) {
    fp_event raw{};
    raw.version = FP_EVENT_VERSION;
    raw.type = FP_NR_EVENT_TYPES;
    EXPECT_FALSE(decode_event(bytes_of(raw)));
    raw.type = FP_EV_EXIT;
    raw.version = FP_EVENT_VERSION + 1;
    EXPECT_FALSE(decode_event(bytes_of(raw)));
    raw.version = FP_EVENT_VERSION;
    auto bytes = bytes_of(raw);
    bytes.resize(10);
    EXPECT_FALSE(decode_event(bytes));
}

TEST(EventDecode, UnterminatedStringsStayInBounds) {
    fp_event raw{};
    raw.version = FP_EVENT_VERSION;
    raw.type = FP_EV_EXEC;
    std::memset(raw.comm, 'c', sizeof(raw.comm));
    std::memset(raw.exec.filename, 'f', sizeof(raw.exec.filename));
    auto ev = decode_event(bytes_of(raw));
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->comm.size(), sizeof(raw.comm));
    EXPECT_EQ(ev->filename.size(), sizeof(raw.exec.filename));
}
