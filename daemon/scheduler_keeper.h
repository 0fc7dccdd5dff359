// Keeps the attached scheduler's link and maps where a restarted framepaced finds them:
// systemd's file descriptor store when running under systemd, bpffs pins otherwise. A crash
// or a watchdog kill then leaves the scheduler running; only a requested stop detaches it.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "expected.h"
#include "scheduler_handle.h"
#include "unique_fd.h"

namespace framepace {

// Descriptors systemd passed at start (sockets and fd store entries), by name.
using PassedFds = std::vector<std::pair<std::string, UniqueFd>>;

// Takes what sd_listen_fds_with_names() offers; empty outside systemd.
Expected<PassedFds> take_passed_fds();

class SchedulerKeeper {
public:
    enum class Store { FdStore, Bpffs };

    SchedulerKeeper(Store store, std::filesystem::path pin_dir);

    // FdStore under systemd ($NOTIFY_SOCKET set), else Bpffs in /sys/fs/bpf/framepace.
    static SchedulerKeeper for_environment();

    // Moves the kept descriptors out of passed (fd store) or opens the pins.
    KeptFds take_kept(PassedFds& passed);

    Status keep(const SchedulerHandle& scheduler);

    // Nothing kept any more: fd store entries removed, pins unlinked.
    void forget();

    const char* store_name() const { return store_ == Store::FdStore ? "fdstore" : "bpffs"; }

private:
    Store store_;
    std::filesystem::path pin_dir_;
    std::vector<std::string> kept_names_;
};

}  // namespace framepace
