#include "daemon/scheduler/event_consumer.h"

#include <algorithm>
#include <cerrno>
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

// A storm on one ring must neither make a turn of the event loop long nor keep the other
// rings' records (a Steam game's exec) waiting behind it.
TEST(EventDrain, ATurnIsBoundedAndFairAcrossRings) {
    std::vector<size_t> pending(FP_NR_RINGS, 0);
    pending[0] = 100'000;   // the storm
    pending[5] = 1;         // the game
    std::vector<size_t> consumed(FP_NR_RINGS, 0);
    auto consume = [&](size_t ring, size_t max) {
        size_t n = std::min(max, pending[ring]);
        pending[ring] -= n;
        consumed[ring] += n;
        return static_cast<int>(n);
    };
    DrainTurn turn = drain_rings_fairly(FP_NR_RINGS, kRecordsPerRingPerTurn, consume);
    EXPECT_EQ(consumed[5], 1u) << "the quiet ring is served in the same turn";
    EXPECT_LE(turn.records, FP_NR_RINGS * kRecordsPerRingPerTurn);
    EXPECT_EQ(turn.records, kRecordsPerRingPerTurn + 1);
    EXPECT_TRUE(turn.more) << "ring 0 has more: another turn is queued";

    pending.assign(FP_NR_RINGS, 2);
    turn = drain_rings_fairly(FP_NR_RINGS, kRecordsPerRingPerTurn, consume);
    EXPECT_FALSE(turn.more);
    EXPECT_EQ(turn.records, 2u * FP_NR_RINGS);
}

TEST(EventDrain, AFailingRingDoesNotStopTheOthers) {
    size_t served = 0;
    DrainTurn turn = drain_rings_fairly(4, 2, [&](size_t ring, size_t) {
        if (ring == 1)
            return -EINVAL;
        served++;
        return 1;
    });
    EXPECT_EQ(turn.error, -EINVAL);
    EXPECT_EQ(served, 3u);
    EXPECT_EQ(turn.records, 3u);
}
