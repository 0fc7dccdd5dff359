#include "daemon/scheduler/sched_ext_sysfs.h"

#include <charconv>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/read_file.h"

namespace framepace {
namespace {

bool has_effective_capability(int cap) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (syscall(SYS_capget, &header, data) < 0)
        return false;
    return data[cap / 32].effective & (1u << (cap % 32));
}

}  // namespace

Expected<SchedExtState> read_sched_ext_state(const std::filesystem::path& root) {
    auto state = read_first_line(root / "state");
    if (!state)
        return Error{-ENOENT, "this kernel has no sched_ext (" + (root / "state").string() +
                                  " is missing; a kernel with CONFIG_SCHED_CLASS_EXT=y, 6.12 or "
                                  "newer, is required)"};
    SchedExtState result;
    result.state = std::move(*state);
    if (auto ops = read_first_line(root / "root" / "ops"))
        result.ops = std::move(*ops);
    // Parsed without exceptions: this runs inside sd-event callbacks. A value that is not a
    // number (no kernel writes one) is left out like a missing one.
    if (auto seq = read_first_line(root / "enable_seq")) {
        uint64_t value = 0;
        auto [end, ec] = std::from_chars(seq->data(), seq->data() + seq->size(), value);
        if (ec == std::errc() && end != seq->data())
            result.enable_seq = value;
    }
    return result;
}

bool framepace_running(const Expected<SchedExtState>& state) {
    return state && state->state == "enabled" && state->ops && *state->ops == kFramepaceOps;
}

std::string sched_ext_state_text(const Expected<SchedExtState>& state) {
    return state ? state->state : "unsupported";
}

std::string enable_seq_text(const Expected<SchedExtState>& state) {
    return state && state->enable_seq ? std::to_string(*state->enable_seq) : "";
}

Status check_can_load(const std::filesystem::path& root) {
    auto state = read_sched_ext_state(root);
    if (!state)
        return state.error();
    // CAP_BPF alone cannot attach struct_ops; loading a scheduler needs CAP_SYS_ADMIN.
    if (!has_effective_capability(CAP_SYS_ADMIN))
        return Error{-EPERM,
                     "loading a sched_ext scheduler needs root (CAP_SYS_ADMIN and "
                     "CAP_BPF); run framepaced as root or through its systemd unit"};
    if (state->state == "enabled" && state->ops && *state->ops != kFramepaceOps)
        return Error{-EBUSY, "another sched_ext scheduler ('" + *state->ops +
                                 "') is attached; stop it first"};
    return Ok{};
}

}  // namespace framepace
