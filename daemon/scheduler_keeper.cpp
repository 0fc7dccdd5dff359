#include "scheduler_keeper.h"

#include <algorithm>
#include <bpf/bpf.h>
#include <cerrno>
#include <cstdlib>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "log.h"

namespace framepace {
namespace {

// fd store names carry this prefix so they never mix with sockets.
constexpr std::string_view kFdPrefix = "fp.";

// bpffs refuses names with '.', which map names (".bss", "map.x") have; no map name has '-'.
std::string pin_name(std::string name) {
    std::replace(name.begin(), name.end(), '.', '-');
    return name;
}

std::string kept_name(std::string pin) {
    std::replace(pin.begin(), pin.end(), '-', '.');
    return pin;
}

}  // namespace

Expected<PassedFds> take_passed_fds() {
    char** names = nullptr;
    int n = sd_listen_fds_with_names(1, &names);
    if (n < 0)
        return make_error(n, "failed to take the descriptors passed by systemd");
    PassedFds passed;
    for (int i = 0; i < n; i++) {
        passed.emplace_back(names && names[i] ? names[i] : "", UniqueFd(SD_LISTEN_FDS_START + i));
        if (names)
            free(names[i]);
    }
    free(names);
    return passed;
}

SchedulerKeeper::SchedulerKeeper(Store store, std::filesystem::path pin_dir)
    : store_(store), pin_dir_(std::move(pin_dir)) {}

SchedulerKeeper SchedulerKeeper::for_environment() {
    const char* notify = std::getenv("NOTIFY_SOCKET");
    return SchedulerKeeper(notify && *notify ? Store::FdStore : Store::Bpffs,
                           "/sys/fs/bpf/framepace");
}

KeptFds SchedulerKeeper::take_kept(PassedFds& passed) {
    KeptFds kept;
    for (auto it = passed.begin(); it != passed.end();) {
        if (it->first.compare(0, kFdPrefix.size(), kFdPrefix) == 0) {
            kept_names_.push_back(it->first);
            kept.emplace(it->first.substr(kFdPrefix.size()), std::move(it->second));
            it = passed.erase(it);
        } else {
            ++it;
        }
    }
    if (store_ == Store::Bpffs) {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(pin_dir_, ec)) {
            UniqueFd fd(bpf_obj_get(entry.path().c_str()));
            if (fd.valid())
                kept.emplace(kept_name(entry.path().filename().string()), std::move(fd));
        }
    }
    return kept;
}

Status SchedulerKeeper::keep(const SchedulerHandle& scheduler) {
    forget();
    if (store_ == Store::FdStore) {
        for (const auto& [name, fd] : scheduler.keepable_fds()) {
            std::string fdname = std::string(kFdPrefix) + name;
            // Map fds cannot be polled (EPOLLERR); the link can, and systemd drops it on
            // EPOLLHUP, i.e. once the kernel has detached the scheduler.
            std::string message = "FDSTORE=1\nFDNAME=" + fdname + (name == "link" ? "" : "\nFDPOLL=0");
            int r = sd_pid_notify_with_fds(0, 0, message.c_str(), &fd, 1);
            if (r <= 0)
                return make_error(r < 0 ? r : -ENOTCONN,
                                  "failed to put " + fdname + " into systemd's fd store "
                                  "(FileDescriptorStoreMax= too small?)");
            kept_names_.push_back(fdname);
        }
        return Ok{};
    }
    std::error_code ec;
    std::filesystem::create_directories(pin_dir_, ec);
    if (ec)
        return make_error(-ec.value(), "failed to create " + pin_dir_.string() +
                                           " (is bpffs mounted on /sys/fs/bpf?)");
    for (const auto& [name, fd] : scheduler.keepable_fds()) {
        std::string path = (pin_dir_ / pin_name(name)).string();
        if (bpf_obj_pin(fd, path.c_str()) < 0)
            return make_error(-errno, "failed to pin " + path);
    }
    return Ok{};
}

void SchedulerKeeper::forget() {
    if (store_ == Store::FdStore) {
        for (const auto& name : kept_names_) {
            std::string message = "FDSTOREREMOVE=1\nFDNAME=" + name;
            sd_notify(0, message.c_str());
        }
        kept_names_.clear();
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(pin_dir_, ec);
}

}  // namespace framepace
