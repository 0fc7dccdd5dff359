#include "varlink/server/refusal_log.h"

namespace framepace::varlink {

std::optional<uint64_t> RefusalLog::refused(uint64_t now_usec) {
    // A clock that went backwards (it does not, for CLOCK_MONOTONIC) must not silence us for
    // good: it counts as due.
    if (last_line_usec_ && now_usec >= *last_line_usec_ &&
        now_usec - *last_line_usec_ < interval_usec_) {
        suppressed_++;
        return std::nullopt;
    }
    last_line_usec_ = now_usec;
    uint64_t suppressed = suppressed_;
    suppressed_ = 0;
    return suppressed;
}

}  // namespace framepace::varlink
