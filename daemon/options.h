// framepaced's command line.
#pragma once

#include <cstdint>
#include <string>

#include "expected.h"
#include "framepace_shared.h"
#include "log.h"

namespace framepace {

struct Options {
    bool show_help = false;
    bool show_version = false;
    bool verbose = false;
    LogTarget log_target = LogTarget::Auto;
    uint64_t stats_interval_ms = 0;   // 0: no periodic counter lines
    fp_tunables tunables{};
};

// Never exits the process; --help and --version only set flags.
Expected<Options> parse_options(int argc, char** argv);

std::string usage_text();

}  // namespace framepace
