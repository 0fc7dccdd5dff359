#include "framepaced/options.h"

#include <charconv>
#include <cstdlib>
#include <getopt.h>
#include <string_view>
#include <vector>

#include "daemon/tunables/tunables.h"

namespace framepace {
namespace {

struct OptionSpec;
// Takes an option's argument (nullptr for a flag) into the options; the error names the option.
using ApplyOption = Status (*)(const OptionSpec& spec, Options& options, const char* argument);

// One command-line option: getopt's table, the parsing and --help are all made from these.
struct OptionSpec {
    std::string_view name;           // --name
    char short_name;                 // -c, or 0 for none
    std::string_view argument;       // --name=ARGUMENT in --help; "" for a flag
    std::string_view help;           // '\n' continues it on the next line of --help
    ApplyOption apply;
    // For options that are a number: where it goes, what it may be, and what it counts.
    uint64_t Options::* number = nullptr;
    uint64_t min = 0;
    uint64_t max = UINT64_MAX;
    std::string_view unit = {};
    // For options that set tunables: every tunable whose name starts with this.
    std::string_view tunables = {};
};

bool parse_u64(std::string_view text, uint64_t& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

Error bad_value(const OptionSpec& spec, std::string_view what) {
    return invalid_input("--" + std::string(spec.name) + ": " + std::string(what));
}

template <bool Options::* member, bool value>
Status set_flag(const OptionSpec&, Options& options, const char*) {
    options.*member = value;
    return Ok{};
}

// A number into spec.number, within [spec.min, spec.max].
Status set_number(const OptionSpec& spec, Options& options, const char* argument) {
    uint64_t value = 0;
    bool ranged = spec.min != 0 || spec.max != UINT64_MAX;
    if (!parse_u64(argument, value) || value < spec.min || value > spec.max) {
        std::string what = "'" + std::string(argument) + "' is not a ";
        if (ranged)
            what += "number of " + std::string(spec.unit) + " in " + std::to_string(spec.min) +
                    ".." + std::to_string(spec.max);
        else
            what += "whole number" + (spec.unit.empty() ? "" : " of " + std::string(spec.unit));
        return bad_value(spec, what);
    }
    options.*spec.number = value;
    return Ok{};
}

// 0 turns the counter lines off; any other value must leave the log readable.
Status set_stats_interval(const OptionSpec& spec, Options& options, const char* argument) {
    if (auto status = set_number(spec, options, argument); !status)
        return status;
    if (options.stats_interval_ms != 0 && options.stats_interval_ms < 10)
        return bad_value(spec, "below 10 ms the log is the load");
    return Ok{};
}

template <std::string Options::* member, bool may_be_empty>
Status set_path(const OptionSpec& spec, Options& options, const char* argument) {
    if (!may_be_empty && !*argument)
        return bad_value(spec, "empty path");
    options.*member = argument;
    return Ok{};
}

Status set_log_target(const OptionSpec& spec, Options& options, const char* argument) {
    std::string_view target = argument;
    if (target == "auto")
        options.log_target = LogTarget::Auto;
    else if (target == "journal")
        options.log_target = LogTarget::Journal;
    else if (target == "stderr")
        options.log_target = LogTarget::Stderr;
    else
        return bad_value(spec, "'" + std::string(target) + "' is not one of auto, journal, stderr");
    return Ok{};
}

Status set_ring_bytes(const OptionSpec& spec, Options& options, const char* argument) {
    uint64_t bytes = 0;
    if (!parse_u64(argument, bytes) || bytes < FP_RING_BYTES_MIN || bytes > FP_RING_BYTES_MAX ||
        (bytes & (bytes - 1)) != 0)
        return bad_value(spec, "'" + std::string(argument) + "' is not a power of two from " +
                                   std::to_string(FP_RING_BYTES_MIN) + " to " +
                                   std::to_string(FP_RING_BYTES_MAX));
    options.ring_bytes = static_cast<uint32_t>(bytes);
    return Ok{};
}

// Microseconds on the command line (humans), nanoseconds in BPF, into every tunable the
// option names. Their ranges are checked once all options are in (validate_tunables), so
// that the error names the tunable.
Status set_tunables_us(const OptionSpec& spec, Options& options, const char* argument) {
    uint64_t us = 0;
    if (!parse_u64(argument, us) || us > UINT64_MAX / 1000)
        return bad_value(spec,
                         "'" + std::string(argument) + "' is not a whole number of microseconds");
    for (size_t i = 0; i < std::size(kTunableRanges); i++)
        if (kTunableRanges[i].name.starts_with(spec.tunables))
            options.tunable_overrides[i] = us * 1000;
    return Ok{};
}

// In --help order.
constexpr OptionSpec kOptions[] = {
    {"help", 'h', "", "show this help and exit", set_flag<&Options::show_help, true>},
    {"version", 0, "", "show the version and exit", set_flag<&Options::show_version, true>},
    {"verbose", 'v', "", "debug logging, libbpf's included", set_flag<&Options::verbose, true>},
    {"log-target", 0, "TARGET",
     "auto (journal under systemd, else stderr), journal,\n"
     "or stderr",
     set_log_target},
    {"stats-interval", 0, "MS",
     "log the scheduler's counters every MS milliseconds\n"
     "(0, the default: never)",
     set_stats_interval, &Options::stats_interval_ms, 0, UINT64_MAX, "milliseconds"},
    {"slice-us",
     0,
     "US",
     "time slice of every role (default 3000 except batch\n"
     "6000 and audio 1000; range 50..100000)",
     // One base slice for every role; the per-role tunables refine it.
     set_tunables_us,
     nullptr,
     0,
     UINT64_MAX,
     {},
     "slice_"},
    {"sleep-budget-us",
     0,
     "US",
     "virtual time a sleeper may bank (default 3000,\n"
     "range 0..1000000)",
     set_tunables_us,
     nullptr,
     0,
     UINT64_MAX,
     {},
     "sleep_budget_ns"},
    {"listen", 0, "PATH",
     "serve the Varlink interface on this socket (without\n"
     "systemd; under systemd the socket unit provides it)",
     set_path<&Options::listen_path, false>},
    {"state-dir", 0, "DIR",
     "where stored tunables and marks live (default\n"
     "$STATE_DIRECTORY, else /var/lib/framepace)",
     set_path<&Options::state_dir, false>},
    {"heartbeat-interval", 0, "MS",
     "how often the daemon tells BPF it is alive, at\n"
     "most (default 1000; more often when a quarter of\n"
     "heartbeat_limit_ns is shorter: boosts need a\n"
     "fresh heartbeat)",
     set_number, &Options::heartbeat_interval_ms, 10, 10000, "milliseconds"},
    {"classes-file", 0, "PATH",
     "rules that mark games, compositors and audio servers\n"
     "(default /etc/framepace/classes.conf; see\n"
     "framepaced(8))",
     set_path<&Options::classes_file, true>},
    {"presets-file", 0, "PATH",
     "tunable presets and the power profiles that select them\n"
     "(default /etc/framepace/presets.json; see framepaced(8))",
     set_path<&Options::presets_file, true>},
    {"no-dbus", 0, "",
     "do not follow power profiles or suspend/resume on the\n"
     "system bus",
     set_flag<&Options::dbus, false>},
    {"no-reload", 0, "",
     "exit with status 2 when the kernel ejects the\n"
     "scheduler, instead of reloading it with back-off",
     set_flag<&Options::reload, false>},
    {"ringbuf-bytes", 0, "N",
     "size of each of the 16 event rings, a power of two\n"
     "from 4096 to 268435456 (default 262144)",
     set_ring_bytes},
    {"overflow-threshold", 0, "N",
     "alert when a ring drops more than N events within\n"
     "--overflow-window-ms (default 10)",
     set_number, &Options::overflow_threshold},
    {"overflow-window-ms", 0, "MS",
     "the window of --overflow-threshold\n"
     "(default 1000)",
     set_number, &Options::overflow_window_ms, 100, 600000, "milliseconds"},
    {"debug-consume-interval-ms", 0, "MS",
     "drain events only every MS ms (testing\n"
     "overflow handling; 0, the default, drains at once)",
     set_number, &Options::debug_consume_interval_ms, 0, 60000, "milliseconds"},
};

// getopt_long's value for kOptions[i]: past every short option's character.
constexpr int kLongOptionBase = 0x100;

const OptionSpec* find_option(int getopt_value) {
    int index = getopt_value - kLongOptionBase;
    if (index >= 0 && index < static_cast<int>(std::size(kOptions)))
        return &kOptions[index];
    for (const auto& spec : kOptions)
        if (spec.short_name && spec.short_name == getopt_value)
            return &spec;
    return nullptr;   // '?': unknown, or an argument missing or given to a flag
}

// One option's lines of --help: "  -c, --name=ARG" then its help from column 29.
std::string usage_lines(const OptionSpec& spec) {
    constexpr size_t kHelpColumn = 29;
    std::string line = spec.short_name ? std::string("  -") + spec.short_name + ", " : "      ";
    line += "--" + std::string(spec.name);
    if (!spec.argument.empty())
        line += "=" + std::string(spec.argument);
    line.append(line.size() + 2 <= kHelpColumn ? kHelpColumn - line.size() : 2, ' ');
    for (std::string_view help = spec.help;;) {
        size_t newline = help.find('\n');
        line += std::string(help.substr(0, newline)) + "\n";
        if (newline == std::string_view::npos)
            return line;
        help.remove_prefix(newline + 1);
        line.append(kHelpColumn, ' ');
    }
}

}  // namespace

std::string usage_text() {
    std::string text =
        "Usage: framepaced [OPTIONS]\n"
        "\n"
        "Loads the framepace sched_ext scheduler, keeps it attached and reports on it.\n"
        "Stops (and detaches the scheduler) on SIGTERM or SIGINT.\n"
        "\n";
    for (const auto& spec : kOptions)
        text += usage_lines(spec);
    text +=
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
    return text;
}

Expected<Options> parse_options(int argc, char** argv) {
    // getopt keeps pointers to the names: they live in kOptions, whose string_views point
    // at NUL-terminated literals.
    std::vector<option> long_options;
    std::string short_options;
    for (size_t i = 0; i < std::size(kOptions); i++) {
        const OptionSpec& spec = kOptions[i];
        long_options.push_back({spec.name.data(),
                                spec.argument.empty() ? no_argument : required_argument, nullptr,
                                kLongOptionBase + static_cast<int>(i)});
        if (spec.short_name)
            short_options += spec.short_name;   // short options are all flags
    }
    long_options.push_back({nullptr, 0, nullptr, 0});

    Options options;
    const char* state_directory = std::getenv("STATE_DIRECTORY");
    // systemd may pass several, colon-separated; ours is the first.
    options.state_dir =
        state_directory && *state_directory
            ? std::string(state_directory).substr(0, std::string(state_directory).find(':'))
            : "/var/lib/framepace";
    optind = 0;  // getopt keeps global state; reset it so that parsing can run more than once
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, short_options.c_str(), long_options.data(), nullptr)) !=
           -1) {
        const OptionSpec* spec = find_option(c);
        if (!spec)
            return invalid_input(std::string("unknown or incomplete option '") + argv[optind - 1] +
                                 "' (see --help)");
        if (auto status = spec->apply(*spec, options, optarg); !status)
            return status.error();
    }
    if (optind < argc)
        return invalid_input(std::string("unexpected argument '") + argv[optind] +
                             "' (see --help)");
    if (auto status =
            validate_tunables(apply_overrides(default_tunables(), options.tunable_overrides));
        !status)
        return status.error();
    return options;
}

}  // namespace framepace
