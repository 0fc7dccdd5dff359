// framepaced: loads the framepace sched_ext scheduler and keeps it running.
#include <cstdio>

#include "framepaced/daemon.h"
#include "common/log.h"
#include "framepaced/options.h"

int main(int argc, char** argv) {
    using namespace framepace;

    auto options = parse_options(argc, argv);
    if (!options) {
        std::fprintf(stderr, "framepaced: %s\n", options.error().message.c_str());
        return kExitLoadFailed;
    }
    if (options->show_help) {
        std::fputs(usage_text().c_str(), stdout);
        return 0;
    }
    if (options->show_version) {
        std::printf("framepaced %s (BPF layout %d)\n", FRAMEPACE_VERSION, FP_LAYOUT_VERSION);
        return 0;
    }
    log_setup(options->log_target, options->verbose ? LOG_DEBUG : LOG_INFO);

    auto daemon = Daemon::start(*options);
    if (!daemon) {
        log_printf(LOG_ERR, "%s", daemon.error().message.c_str());
        return kExitLoadFailed;
    }
    return (*daemon)->run();
}
