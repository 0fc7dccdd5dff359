#include "daemon/scheduler/ops_flags.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <memory>
#include <string_view>

namespace framepace {
namespace {

constexpr std::string_view kWanted[] = {"SCX_OPS_ENQ_EXITING", "SCX_OPS_ENQ_MIGRATION_DISABLED",
                                        "SCX_OPS_ALLOW_QUEUED_WAKEUP"};

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
    for (std::string_view name : kWanted) {
        auto it = kernel.find(name);
        if (it == kernel.end()) {
            append(flags.missing, name);
            continue;
        }
        flags.value |= it->second;
        append(flags.names, name);
    }
    return flags;
}

}  // namespace framepace
