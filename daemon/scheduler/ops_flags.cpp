#include "daemon/scheduler/ops_flags.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <memory>
#include <string_view>

namespace framepace {
namespace {

struct WantedFlag {
    std::string_view name;
    std::string_view cost;  // what a kernel without it does instead (ops_flags.h)
};

constexpr WantedFlag kWanted[] = {
    {"SCX_OPS_ENQ_EXITING",
     "exiting tasks bypass framepace's policy (the kernel runs them first, for 20 ms)"},
    {"SCX_OPS_ENQ_MIGRATION_DISABLED",
     "migration-disabled tasks bypass framepace's policy (the kernel runs them first, for 20 ms)"},
    {"SCX_OPS_ALLOW_QUEUED_WAKEUP",
     "a task woken onto an idle CPU is queued there by its waker, not through that CPU's wake "
     "list, and may start only after the waker's CPU has run (milliseconds under a game)"},
};

struct BtfDeleter {
    void operator()(btf* b) const { btf__free(b); }
};

void append(std::string& list, std::string_view name) {
    if (!list.empty())
        list += ' ';
    list += name;
}

}  // namespace

Expected<KernelOpsFlags> read_kernel_ops_flags() {
    std::unique_ptr<btf, BtfDeleter> vmlinux(btf__load_vmlinux_btf());
    if (!vmlinux)
        return make_error(-errno, "failed to read the kernel's BTF (/sys/kernel/btf/vmlinux)");
    KernelOpsFlags flags;
    // The enum's values are 1LLU << n: BTF may hold it as a 64-bit enum.
    int id = btf__find_by_name_kind(vmlinux.get(), "scx_ops_flags", BTF_KIND_ENUM64);
    if (id < 0)
        id = btf__find_by_name_kind(vmlinux.get(), "scx_ops_flags", BTF_KIND_ENUM);
    if (id < 0)
        return flags;
    const btf_type* type = btf__type_by_id(vmlinux.get(), id);
    for (int i = 0; i < btf_vlen(type); i++) {
        if (btf_is_enum64(type)) {
            const struct btf_enum64* e = btf_enum64(type) + i;
            flags[btf__name_by_offset(vmlinux.get(), e->name_off)] = btf_enum64_value(e);
        } else {
            const struct btf_enum* e = btf_enum(type) + i;
            flags[btf__name_by_offset(vmlinux.get(), e->name_off)] = uint32_t(e->val);
        }
    }
    return flags;
}

OpsFlags wanted_ops_flags(const KernelOpsFlags& kernel) {
    OpsFlags flags;
    for (const WantedFlag& wanted : kWanted) {
        auto it = kernel.find(wanted.name);
        if (it == kernel.end()) {
            append(flags.missing, wanted.name);
            flags.missing_costs.push_back(std::string(wanted.name) +
                                          " unavailable: " + std::string(wanted.cost));
            continue;
        }
        flags.value |= it->second;
        append(flags.names, wanted.name);
    }
    return flags;
}

}  // namespace framepace
