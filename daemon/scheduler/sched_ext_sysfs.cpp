#include "daemon/scheduler/sched_ext_sysfs.h"

#include <fstream>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace framepace {
namespace {

std::optional<std::string> read_line(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line))
        return std::nullopt;
    return line;
}

bool has_effective_capability(int cap) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (syscall(SYS_capget, &header, data) < 0)
        return false;
    return data[cap / 32].effective & (1u << (cap % 32));
}

}  // namespace

Expected<SchedExtState> read_sched_ext_state(const std::filesystem::path& root) {
    auto state = read_line(root / "state");
    if (!state)
        return Error{-ENOENT,
                     "this kernel has no sched_ext (" + (root / "state").string() +
                         " is missing; a kernel with CONFIG_SCHED_CLASS_EXT=y, 6.12 or "
                         "newer, is required)"};
    SchedExtState result;
    result.state = *state;
    result.ops = read_line(root / "root" / "ops");
    if (auto seq = read_line(root / "enable_seq"))
        result.enable_seq = std::stoull(*seq);
    return result;
}

Status check_can_load(const std::filesystem::path& root) {
    auto state = read_sched_ext_state(root);
    if (!state)
        return state.error();
    // CAP_BPF alone cannot attach struct_ops; loading a scheduler needs CAP_SYS_ADMIN.
    if (!has_effective_capability(CAP_SYS_ADMIN))
        return Error{-EPERM, "loading a sched_ext scheduler needs root (CAP_SYS_ADMIN and "
                             "CAP_BPF); run framepaced as root or through its systemd unit"};
    if (state->state == "enabled" && state->ops && *state->ops != "framepace")
        return Error{-EBUSY, "another sched_ext scheduler ('" + *state->ops +
                                 "') is attached; stop it first"};
    return Ok{};
}

}  // namespace framepace
