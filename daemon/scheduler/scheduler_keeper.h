// Keeps the attached scheduler's link and maps where a restarted framepaced finds them:
// systemd's file descriptor store when running under systemd, bpffs pins otherwise. A crash
// or a watchdog kill then leaves the scheduler running; only a requested stop detaches it.
//
// fd store entries are named "fp.<link id>.<name>" (<name> as in KeptFds), so that a new
// scheduler's entries never share a name with an old one's: the new ones are stored first
// and only then are the old names removed (FDSTOREREMOVE removes every fd of a name), and
// no crash in between leaves the store without a scheduler. An adopted scheduler is already
// in the store under its names and is not stored again: systemd ignores a descriptor it
// already holds, so storing it under a new name and removing the old would lose it.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/expected.h"
#include "daemon/scheduler/scheduler_handle.h"
#include "common/unique_fd.h"

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

    // Moves the kept descriptors out of passed (fd store) or opens the pins. Should a crash
    // have left two schedulers' entries, the newest (highest link id) with a link is taken
    // and the others are removed by the next keep() or keep_adopted().
    KeptFds take_kept(PassedFds& passed);

    // Stores a newly loaded scheduler, then removes what was stored before.
    Status keep(const SchedulerHandle& scheduler);
    // The same with the descriptors given: tag names the entries (the link id).
    Status keep(const std::string& tag, const std::vector<std::pair<std::string, int>>& fds);
    // The scheduler taken from the store was adopted: it stays stored as it is; entries of
    // any other scheduler are removed.
    void keep_adopted();

    // Nothing kept any more: fd store entries removed, pins unlinked.
    void forget();

    const char* store_name() const { return store_ == Store::FdStore ? "fdstore" : "bpffs"; }

private:
    Store store_;
    std::filesystem::path pin_dir_;
    void remove_names(const std::vector<std::string>& names);

    std::vector<std::string> kept_names_;    // the current scheduler's fd store entries
    std::vector<std::string> stale_names_;   // entries of other schedulers, to remove
};

}  // namespace framepace
