#include "common/read_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace framepace {
namespace {

// Reads into text until EOF, or until a newline has arrived when stop_at_newline is set (a
// procfs or sysfs value is one line, and /proc/PID/stat's is all we want of it).
Status read_into(const std::filesystem::path& path, std::string& text, bool stop_at_newline) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        return make_error(-errno, "cannot read " + path.string());
    char buffer[4096];
    for (;;) {
        ssize_t n = read(fd.get(), buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return make_error(-errno, "cannot read " + path.string());
        if (n == 0)
            return Ok{};
        text.append(buffer, static_cast<size_t>(n));
        if (stop_at_newline && std::memchr(buffer, '\n', static_cast<size_t>(n)))
            return Ok{};
    }
}

}  // namespace

Expected<std::string> read_first_line(const std::filesystem::path& path) {
    std::string text;
    if (auto status = read_into(path, text, /*stop_at_newline=*/true); !status)
        return status.error();
    if (text.empty())
        return Error{-ENODATA, path.string() + " is empty"};
    text.resize(std::min(text.find('\n'), text.size()));
    return text;
}

Expected<std::string> read_whole_file(const std::filesystem::path& path) {
    std::string text;
    if (auto status = read_into(path, text, /*stop_at_newline=*/false); !status)
        return status.error();
    return text;
}

}  // namespace framepace
