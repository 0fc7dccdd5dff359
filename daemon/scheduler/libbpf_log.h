// libbpf's messages in framepaced's log, the verifier's refusals whole enough to act on.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace framepace {

// Routes libbpf's warnings (and with verbose its debug lines) to log_printf's destination.
void route_libbpf_logs(bool verbose);

// A verifier log can run to megabytes, and its reason is in the last lines (the instruction
// it stopped at and why). Over max_bytes, keeps the first line (which program) and the tail,
// and says how much was left out between them.
std::string clip_keeping_tail(std::string_view text, size_t max_bytes);

}  // namespace framepace
