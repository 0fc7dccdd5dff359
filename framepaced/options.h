// framepaced's command line.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "common/expected.h"
#include "bpf/framepace_shared.h"
#include "common/log.h"
#include "daemon/tunables/tunables.h"

namespace framepace {

struct Options {
    bool show_help = false;
    bool show_version = false;
    bool verbose = false;
    LogTarget log_target = LogTarget::Auto;
    uint64_t stats_interval_ms = 0;   // 0: no periodic counter lines
    uint64_t heartbeat_interval_ms = 1000;
    bool reload = true;               // reload after a kernel ejection (else exit 2)
    uint32_t ring_bytes = FP_RING_BYTES_DEFAULT;   // size of each event ring
    uint64_t overflow_threshold = 10;             // drops per window that raise an alert
    uint64_t overflow_window_ms = 1000;
    uint64_t debug_consume_interval_ms = 0;       // 0: drain events as they come
    std::string listen_path;          // --listen: serve Varlink here (outside systemd)
    std::string state_dir;            // where persisted tunables live
    std::string classes_file = "/etc/framepace/classes.conf";  // user classification rules
    std::string presets_file = "/etc/framepace/presets.json";  // power-profile presets
    bool dbus = true;                 // follow power profiles and suspend/resume
    // Tunables given on the command line, indexed like kTunableRanges; they win over the
    // persisted ones.
    TunableOverrides tunable_overrides{};
};

// Never exits the process; --help and --version only set flags.
Expected<Options> parse_options(int argc, char** argv);

std::string usage_text();

}  // namespace framepace
