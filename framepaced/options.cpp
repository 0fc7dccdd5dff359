#include "framepaced/options.h"

#include <charconv>
#include <cstdlib>
#include <getopt.h>
#include <string_view>

#include "daemon/tunables/tunables.h"

namespace framepace {
namespace {

enum : int {
    kOptStatsInterval = 0x100,
    kOptSliceUs,
    kOptSleepBudgetUs,
    kOptLogTarget,
    kOptListen,
    kOptStateDir,
    kOptHeartbeatInterval,
    kOptNoReload,
    kOptRingbufBytes,
    kOptOverflowThreshold,
    kOptOverflowWindow,
    kOptDebugConsumeInterval,
    kOptClassesFile,
    kOptPresetsFile,
    kOptNoDbus,
};

bool parse_u64(std::string_view text, uint64_t& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// Microseconds on the command line (humans), nanoseconds in BPF.
Status parse_us_to_ns(std::string_view option, const char* text, std::optional<uint64_t>& out_ns) {
    uint64_t us = 0;
    if (!parse_u64(text, us) || us > UINT64_MAX / 1000)
        return invalid_input("--" + std::string(option) + ": '" + text +
                             "' is not a whole number of microseconds");
    out_ns = us * 1000;
    return Ok{};
}

size_t tunable_index(std::string_view name) {
    for (size_t i = 0; i < std::size(kTunableRanges); i++)
        if (kTunableRanges[i].name == name)
            return i;
    return 0;
}

}  // namespace

std::string usage_text() {
    return "Usage: framepaced [OPTIONS]\n"
           "\n"
           "Loads the framepace sched_ext scheduler, keeps it attached and reports on it.\n"
           "Stops (and detaches the scheduler) on SIGTERM or SIGINT.\n"
           "\n"
           "  -h, --help                 show this help and exit\n"
           "      --version              show the version and exit\n"
           "  -v, --verbose              debug logging, libbpf's included\n"
           "      --log-target=TARGET    auto (journal under systemd, else stderr), journal,\n"
           "                             or stderr\n"
           "      --stats-interval=MS    log the scheduler's counters every MS milliseconds\n"
           "                             (0, the default: never)\n"
           "      --slice-us=US          time slice of every role (default 3000 except batch\n"
           "                             6000 and audio 1000; range 50..100000)\n"
           "      --sleep-budget-us=US   virtual time a sleeper may bank (default 3000,\n"
           "                             range 0..1000000)\n"
           "      --listen=PATH          serve the Varlink interface on this socket (without\n"
           "                             systemd; under systemd the socket unit provides it)\n"
           "      --state-dir=DIR        where stored tunables and marks live (default\n"
           "                             $STATE_DIRECTORY, else /var/lib/framepace)\n"
           "      --heartbeat-interval=MS  how often the daemon tells BPF it is alive\n"
           "                             (default 100; boosts need a fresh heartbeat)\n"
           "      --classes-file=PATH    rules that mark games, compositors and audio servers\n"
           "                             (default /etc/framepace/classes.conf; see\n"
           "                             framepaced(8))\n"
           "      --presets-file=PATH    tunable presets and the power profiles that select them\n"
           "                             (default /etc/framepace/presets.json; see framepaced(8))\n"
           "      --no-dbus              do not follow power profiles or suspend/resume on the\n"
           "                             system bus\n"
           "      --no-reload            exit with status 2 when the kernel ejects the\n"
           "                             scheduler, instead of reloading it with back-off\n"
           "      --ringbuf-bytes=N      size of each of the 16 event rings, a power of two\n"
           "                             from 4096 to 268435456 (default 262144)\n"
           "      --overflow-threshold=N   alert when a ring drops more than N events ...\n"
           "      --overflow-window-ms=MS  ... within MS milliseconds (defaults 10, 1000)\n"
           "      --debug-consume-interval-ms=MS  drain events only every MS ms (testing\n"
           "                             overflow handling; 0, the default, drains at once)\n"
           "\n"
           "Tunables given here win over stored ones when the scheduler is loaded; an\n"
           "adopted scheduler keeps the values it runs with. All can be changed live\n"
           "through io.framepace.Scheduler.SetTunables (varlinkctl).\n"
           "\n"
           "A scheduler kept by an earlier framepaced (systemd's fd store, or pins in\n"
           "/sys/fs/bpf/framepace) is adopted without a reload when its layout matches.\n"
           "\n"
           "Exit status: 0 after a requested stop, 1 if the scheduler could not be loaded,\n"
           "2 if the kernel ejected it and --no-reload was given.\n";
}

Expected<Options> parse_options(int argc, char** argv) {
    static const option long_options[] = {
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {"verbose", no_argument, nullptr, 'v'},
        {"log-target", required_argument, nullptr, kOptLogTarget},
        {"stats-interval", required_argument, nullptr, kOptStatsInterval},
        {"slice-us", required_argument, nullptr, kOptSliceUs},
        {"sleep-budget-us", required_argument, nullptr, kOptSleepBudgetUs},
        {"listen", required_argument, nullptr, kOptListen},
        {"state-dir", required_argument, nullptr, kOptStateDir},
        {"heartbeat-interval", required_argument, nullptr, kOptHeartbeatInterval},
        {"no-reload", no_argument, nullptr, kOptNoReload},
        {"classes-file", required_argument, nullptr, kOptClassesFile},
        {"presets-file", required_argument, nullptr, kOptPresetsFile},
        {"no-dbus", no_argument, nullptr, kOptNoDbus},
        {"ringbuf-bytes", required_argument, nullptr, kOptRingbufBytes},
        {"overflow-threshold", required_argument, nullptr, kOptOverflowThreshold},
        {"overflow-window-ms", required_argument, nullptr, kOptOverflowWindow},
        {"debug-consume-interval-ms", required_argument, nullptr, kOptDebugConsumeInterval},
        {nullptr, 0, nullptr, 0},
    };
    Options options;
    const char* state_directory = std::getenv("STATE_DIRECTORY");
    // systemd may pass several, colon-separated; ours is the first.
    options.state_dir = state_directory && *state_directory
                            ? std::string(state_directory).substr(0, std::string(state_directory).find(':'))
                            : "/var/lib/framepace";
    optind = 0;  // getopt keeps global state; reset it so that parsing can run more than once
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "hv", long_options, nullptr)) != -1) {
        switch (c) {
        case 'h':
            options.show_help = true;
            break;
        case 'V':
            options.show_version = true;
            break;
        case 'v':
            options.verbose = true;
            break;
        case kOptLogTarget: {
            std::string_view target = optarg;
            if (target == "auto")
                options.log_target = LogTarget::Auto;
            else if (target == "journal")
                options.log_target = LogTarget::Journal;
            else if (target == "stderr")
                options.log_target = LogTarget::Stderr;
            else
                return invalid_input("--log-target: '" + std::string(target) +
                                     "' is not one of auto, journal, stderr");
            break;
        }
        case kOptStatsInterval:
            if (!parse_u64(optarg, options.stats_interval_ms))
                return invalid_input(std::string("--stats-interval: '") + optarg +
                                     "' is not a whole number of milliseconds");
            if (options.stats_interval_ms != 0 && options.stats_interval_ms < 10)
                return invalid_input("--stats-interval: below 10 ms the log is the load");
            break;
        case kOptSliceUs: {
            // One base slice for every role; the per-role tunables refine it.
            std::optional<uint64_t> slice;
            if (auto s = parse_us_to_ns("slice-us", optarg, slice); !s)
                return s.error();
            for (size_t i = 0; i < std::size(kTunableRanges); i++)
                if (kTunableRanges[i].name.starts_with("slice_"))
                    options.tunable_overrides[i] = slice;
            break;
        }
        case kOptSleepBudgetUs:
            if (auto s = parse_us_to_ns(
                    "sleep-budget-us", optarg,
                    options.tunable_overrides[tunable_index("sleep_budget_ns")]);
                !s)
                return s.error();
            break;
        case kOptListen:
            if (!*optarg)
                return invalid_input("--listen: empty path");
            options.listen_path = optarg;
            break;
        case kOptHeartbeatInterval:
            if (!parse_u64(optarg, options.heartbeat_interval_ms) ||
                options.heartbeat_interval_ms < 10 || options.heartbeat_interval_ms > 10000)
                return invalid_input(std::string("--heartbeat-interval: '") + optarg +
                                     "' is not a number of milliseconds in 10..10000");
            break;
        case kOptNoReload:
            options.reload = false;
            break;
        case kOptClassesFile:
            options.classes_file = optarg;
            break;
        case kOptPresetsFile:
            options.presets_file = optarg;
            break;
        case kOptNoDbus:
            options.dbus = false;
            break;
        case kOptRingbufBytes: {
            uint64_t bytes = 0;
            if (!parse_u64(optarg, bytes) || bytes < FP_RING_BYTES_MIN || bytes > FP_RING_BYTES_MAX ||
                (bytes & (bytes - 1)) != 0)
                return invalid_input(std::string("--ringbuf-bytes: '") + optarg +
                                     "' is not a power of two from " +
                                     std::to_string(FP_RING_BYTES_MIN) + " to " +
                                     std::to_string(FP_RING_BYTES_MAX));
            options.ring_bytes = static_cast<uint32_t>(bytes);
            break;
        }
        case kOptOverflowThreshold:
            if (!parse_u64(optarg, options.overflow_threshold))
                return invalid_input(std::string("--overflow-threshold: '") + optarg +
                                     "' is not a whole number");
            break;
        case kOptOverflowWindow:
            if (!parse_u64(optarg, options.overflow_window_ms) || options.overflow_window_ms < 100 ||
                options.overflow_window_ms > 600000)
                return invalid_input(std::string("--overflow-window-ms: '") + optarg +
                                     "' is not a number of milliseconds in 100..600000");
            break;
        case kOptDebugConsumeInterval:
            if (!parse_u64(optarg, options.debug_consume_interval_ms) ||
                options.debug_consume_interval_ms > 60000)
                return invalid_input(std::string("--debug-consume-interval-ms: '") + optarg +
                                     "' is not a number of milliseconds in 0..60000");
            break;
        case kOptStateDir:
            if (!*optarg)
                return invalid_input("--state-dir: empty path");
            options.state_dir = optarg;
            break;
        case '?':
        default:
            return invalid_input(std::string("unknown or incomplete option '") +
                                 argv[optind - 1] + "' (see --help)");
        }
    }
    if (optind < argc)
        return invalid_input(std::string("unexpected argument '") + argv[optind] +
                             "' (see --help)");
    if (auto status = validate_tunables(apply_overrides(default_tunables(),
                                                        options.tunable_overrides));
        !status)
        return status.error();
    return options;
}

}  // namespace framepace
