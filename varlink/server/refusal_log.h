// Which refused Varlink connections get a log line. A user who holds all their connections
// and keeps reconnecting is refused hundreds of times a second; logging each refusal would
// let any local user flood the journal. So the first refusal is logged at once, later ones
// at most once per interval, each line carrying how many were refused silently since the
// previous one. Pure logic with the clock passed in, tested without waiting.
#pragma once

#include <cstdint>
#include <optional>

namespace framepace::varlink {

class RefusalLog {
public:
    explicit RefusalLog(uint64_t interval_usec) : interval_usec_(interval_usec) {}

    // A refusal at now_usec (CLOCK_MONOTONIC). Returns the number of refusals suppressed
    // since the last line when this one is to be logged, nullopt to stay silent.
    std::optional<uint64_t> refused(uint64_t now_usec);

    uint64_t suppressed() const { return suppressed_; }

private:
    uint64_t interval_usec_;
    std::optional<uint64_t> last_line_usec_;
    uint64_t suppressed_ = 0;
};

}  // namespace framepace::varlink
