// Reading small files whole or by their first line: sysfs and procfs values, state and
// configuration files. Errors carry errno and name the file, so that the caller decides
// whether a missing file is a fault (it can test code == -ENOENT) without guessing.
#pragma once

#include <filesystem>
#include <string>

#include "common/expected.h"

namespace framepace {

// The first line, without its newline. A file that cannot be opened or read, or that holds
// no byte at all (so has no line), is an error naming it.
Expected<std::string> read_first_line(const std::filesystem::path& path);

// Every byte of the file.
Expected<std::string> read_whole_file(const std::filesystem::path& path);

}  // namespace framepace
