// Replaces a small state file atomically: after a crash it holds either the old or the new
// text, never half of one, and no temporary file is left beside it on any failure.
#pragma once

#include <filesystem>
#include <string_view>
#include <cstdio>
#include <sys/types.h>
#include <unistd.h>

#include "common/expected.h"

namespace framepace {

// The system calls the write goes through; tests swap one for a failing one.
struct FileSystemCalls {
    ssize_t (*write)(int fd, const void* data, size_t size) = ::write;
    int (*fsync)(int fd) = ::fsync;
    int (*rename)(const char* from, const char* to) = ::rename;
};

// Writes "<path>.tmp", fsyncs it, renames it over path and fsyncs the directory. Every
// failure (the directory's fsync too: the rename may then not survive a power loss) is an
// error naming the step and the file; the temporary file is removed whenever it is not
// renamed.
Status write_file_atomically(const std::filesystem::path& path, std::string_view text,
                             const FileSystemCalls& calls = {});

}  // namespace framepace
