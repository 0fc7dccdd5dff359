#include "daemon/scheduler/scheduler_keeper.h"

#include <algorithm>
#include <bpf/bpf.h>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "common/log.h"

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

// "fp.<tag>.<name>" -> (tag, name); names stored by daemons before tags had none:
// "fp.<name>" -> ("", name). A tag is all digits; no kept name starts with a digit.
std::pair<std::string, std::string> split_fd_name(std::string_view fdname) {
    std::string_view rest = fdname.substr(kFdPrefix.size());
    size_t dot = rest.find('.');
    std::string_view tag = rest.substr(0, dot);
    if (dot == std::string_view::npos || tag.empty() ||
        !std::all_of(tag.begin(), tag.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return {"", std::string(rest)};
    return {std::string(tag), std::string(rest.substr(dot + 1))};
}

// Higher link ids are newer (the kernel hands them out in increasing order).
bool newer_tag(const std::string& a, const std::string& b) {
    if (a.size() != b.size())
        return a.size() > b.size();
    return a > b;
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
    struct Group {
        KeptFds fds;
        std::vector<std::string> names;
    };
    std::map<std::string, Group> groups;   // by tag
    for (auto it = passed.begin(); it != passed.end();) {
        if (it->first.compare(0, kFdPrefix.size(), kFdPrefix) == 0) {
            auto [tag, name] = split_fd_name(it->first);
            Group& group = groups[tag];
            group.names.push_back(it->first);
            group.fds.emplace(std::move(name), std::move(it->second));
            it = passed.erase(it);
        } else {
            ++it;
        }
    }
    KeptFds kept;
    const std::string* chosen = nullptr;
    for (const auto& [tag, group] : groups)
        if (group.fds.contains("link") && (!chosen || newer_tag(tag, *chosen)))
            chosen = &tag;
    for (auto& [tag, group] : groups) {
        auto& names = chosen && tag == *chosen ? kept_names_ : stale_names_;
        names.insert(names.end(), group.names.begin(), group.names.end());
        if (chosen && tag == *chosen)
            kept = std::move(group.fds);
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
    std::string tag;
    if (store_ == Store::FdStore) {
        auto id = scheduler.link_id();
        if (!id)
            return id.error();
        tag = std::to_string(*id);
    }
    return keep(tag, scheduler.keepable_fds());
}

void SchedulerKeeper::keep_adopted() {
    remove_names(stale_names_);
    stale_names_.clear();
}

void SchedulerKeeper::remove_names(const std::vector<std::string>& names) {
    for (const auto& name : names) {
        std::string message = "FDSTOREREMOVE=1\nFDNAME=" + name;
        sd_notify(0, message.c_str());
    }
}

Status SchedulerKeeper::keep(const std::string& tag,
                             const std::vector<std::pair<std::string, int>>& fds) {
    if (store_ == Store::FdStore) {
        // What was stored before is removed only once the new scheduler is stored in full.
        std::vector<std::string> old = std::move(kept_names_);
        old.insert(old.end(), stale_names_.begin(), stale_names_.end());
        kept_names_.clear();
        stale_names_.clear();
        for (const auto& [name, fd] : fds) {
            std::string fdname = std::string(kFdPrefix) + tag + "." + name;
            // Map fds cannot be polled (EPOLLERR); the link can, and systemd drops it on
            // EPOLLHUP, i.e. once the kernel has detached the scheduler.
            std::string message =
                "FDSTORE=1\nFDNAME=" + fdname + (name == "link" ? "" : "\nFDPOLL=0");
            int r = sd_pid_notify_with_fds(0, 0, message.c_str(), &fd, 1);
            if (r <= 0) {
                // Keep the old entries: forget() removes them with the new ones.
                stale_names_ = std::move(old);
                return make_error(r < 0 ? r : -ENOTCONN,
                                  "failed to put " + fdname +
                                      " into systemd's fd store "
                                      "(FileDescriptorStoreMax= too small?)");
            }
            kept_names_.push_back(fdname);
        }
        std::erase_if(old, [&](const std::string& name) {
            return std::find(kept_names_.begin(), kept_names_.end(), name) != kept_names_.end();
        });
        remove_names(old);
        return Ok{};
    }
    // bpffs: only a new scheduler is pinned here (an adopted one stays pinned), and the old
    // pins belong to one that is gone (ejected or replaced on purpose).
    forget();
    std::error_code ec;
    std::filesystem::create_directories(pin_dir_, ec);
    if (ec)
        return make_error(-ec.value(), "failed to create " + pin_dir_.string() +
                                           " (is bpffs mounted on /sys/fs/bpf?)");
    for (const auto& [name, fd] : fds) {
        std::string path = (pin_dir_ / pin_name(name)).string();
        if (bpf_obj_pin(fd, path.c_str()) < 0)
            return make_error(-errno, "failed to pin " + path);
    }
    return Ok{};
}

void SchedulerKeeper::forget() {
    if (store_ == Store::FdStore) {
        remove_names(kept_names_);
        remove_names(stale_names_);
        kept_names_.clear();
        stale_names_.clear();
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(pin_dir_, ec);
}

}  // namespace framepace
