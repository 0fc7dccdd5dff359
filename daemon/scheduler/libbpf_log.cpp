#include "daemon/scheduler/libbpf_log.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "common/log.h"

namespace framepace {
namespace {

// A journal entry holds this much of a libbpf message; the verifier's reason fits in the tail.
constexpr size_t kMaxMessageBytes = 24 * 1024;

bool libbpf_verbose = false;

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
    if (level == LIBBPF_DEBUG && !libbpf_verbose)
        return 0;
    va_list measure;
    va_copy(measure, args);
    int n = std::vsnprintf(nullptr, 0, format, measure);
    va_end(measure);
    if (n <= 0)
        return 0;
    std::string text(static_cast<size_t>(n) + 1, '\0');
    std::vsnprintf(text.data(), text.size(), format, args);
    text.resize(static_cast<size_t>(n));
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    log_message(level == LIBBPF_WARN ? LOG_WARNING : LOG_DEBUG,
                "libbpf: " + clip_keeping_tail(text, kMaxMessageBytes));
    return 0;
}

}  // namespace

void route_libbpf_logs(bool verbose) {
    libbpf_verbose = verbose;
    libbpf_set_print(libbpf_print);
}

std::string clip_keeping_tail(std::string_view text, size_t max_bytes) {
    if (text.size() <= max_bytes)
        return std::string(text);
    size_t first_line = text.find('\n');
    std::string_view head = text.substr(
        0, first_line == std::string_view::npos ? 0 : std::min(first_line + 1, max_bytes / 4));
    size_t tail_bytes = max_bytes - head.size();
    size_t tail_start = text.size() - tail_bytes;
    // Start the tail at a line of its own.
    if (size_t next = text.find('\n', tail_start); next != std::string_view::npos)
        tail_start = next + 1;
    std::string clipped(head);
    clipped += "[... " + std::to_string(tail_start - head.size()) + " bytes left out ...]\n";
    clipped += text.substr(tail_start);
    return clipped;
}

}  // namespace framepace
