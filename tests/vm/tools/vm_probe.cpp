// framepace-vm-probe: reaches into a running framepace from outside the daemon, for the VM
// tests. It finds framepace's BPF objects among everything loaded in the kernel.
//   framepace-vm-probe boost                    ask the running scheduler for an input-boost
//                                               window, as its input hook does; prints
//                                               "opened" or "refused"
//   framepace-vm-probe set-layout-version N     rewrite the layout version in the meta map
//                                               (makes the next daemon see an "old" scheduler)
//   framepace-vm-probe prog-stats PREFIX        one JSON object: run count and total run time
//                                               of every loaded program whose name starts
//                                               with PREFIX (needs kernel.bpf_stats_enabled=1)
//   framepace-vm-probe first-drop               one JSON array, per event ring: the
//                                               CLOCK_MONOTONIC ns of its first dropped event
//                                               (the earliest over CPUs), 0 if none
//   framepace-vm-probe detach                   detach the running scheduler's struct_ops
//                                               link (an unregistration, as on a stop)
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

#include "bpf/framepace_shared.h"
#include "common/unique_fd.h"
#include "tests/bpf/test_object.h"

using framepace::UniqueFd;

namespace {

// The newest (highest id) map with this name and value size.
UniqueFd find_map(const char* name, __u32 value_size) {
    UniqueFd found;
    __u32 id = 0;
    while (bpf_map_get_next_id(id, &id) == 0) {
        UniqueFd fd(bpf_map_get_fd_by_id(id));
        bpf_map_info info{};
        __u32 len = sizeof(info);
        if (fd.valid() && bpf_map_get_info_by_fd(fd.get(), &info, &len) == 0 &&
            std::strcmp(info.name, name) == 0 && info.value_size == value_size)
            found = std::move(fd);
    }
    return found;
}

// The framepace meta map: named "meta" and holding FP_META_MAGIC.
UniqueFd find_meta_map() {
    UniqueFd fd = find_map("meta", sizeof(fp_meta));
    fp_meta meta{};
    __u32 key = 0;
    if (fd.valid() && bpf_map_lookup_elem(fd.get(), &key, &meta) == 0 &&
        meta.magic == FP_META_MAGIC)
        return fd;
    return UniqueFd();
}

// The live struct_ops link of the scheduler the kernel runs (a detached link reports map id
// 0), and its map, framepace_ops. The newest, should there be two.
struct RunningOps {
    UniqueFd link;
    UniqueFd map;
};

RunningOps find_running_ops() {
    RunningOps found;
    __u32 id = 0;
    while (bpf_link_get_next_id(id, &id) == 0) {
        UniqueFd link(bpf_link_get_fd_by_id(id));
        bpf_link_info info{};
        __u32 len = sizeof(info);
        if (!link.valid() || bpf_link_get_info_by_fd(link.get(), &info, &len) != 0 ||
            info.type != BPF_LINK_TYPE_STRUCT_OPS || info.struct_ops.map_id == 0)
            continue;
        UniqueFd map(bpf_map_get_fd_by_id(info.struct_ops.map_id));
        bpf_map_info map_info{};
        len = sizeof(map_info);
        if (map.valid() && bpf_map_get_info_by_fd(map.get(), &map_info, &len) == 0 &&
            std::strcmp(map_info.name, "framepace_ops") == 0)
            found = {std::move(link), std::move(map)};
    }
    return found;
}

struct BtfDeleter {
    void operator()(btf* b) const { btf__free(b); }
};

// The ids of the programs in a struct_ops map. Looked up, the map's value (for sched_ext,
// struct bpf_struct_ops_sched_ext_ops: a common header, then "data", a struct sched_ext_ops)
// holds in each callback slot the id of the program there; the kernel's BTF says where the
// slots are.
framepace::Expected<std::vector<__u32>> struct_ops_prog_ids(int map_fd) {
    bpf_map_info info{};
    __u32 len = sizeof(info);
    if (int err = bpf_map_get_info_by_fd(map_fd, &info, &len))
        return framepace::make_error(err, "failed to inspect framepace_ops");
    std::vector<unsigned char> value(info.value_size);
    __u32 key = 0;
    if (int err = bpf_map_lookup_elem(map_fd, &key, value.data()))
        return framepace::make_error(err, "failed to read framepace_ops");
    std::unique_ptr<btf, BtfDeleter> kernel(btf__load_vmlinux_btf());
    if (!kernel)
        return framepace::make_error(-errno, "failed to load the kernel's BTF");
    const btf_type* outer = btf__type_by_id(kernel.get(), info.btf_vmlinux_value_type_id);
    if (!outer || !btf_is_struct(outer))
        return framepace::invalid_input("framepace_ops has no struct_ops value type");
    std::vector<__u32> ids;
    const btf_member* data = btf_members(outer);
    for (int i = 0; i < btf_vlen(outer); i++, data++) {
        if (std::strcmp(btf__name_by_offset(kernel.get(), data->name_off), "data") != 0)
            continue;
        size_t data_offset = btf_member_bit_offset(outer, i) / 8;
        const btf_type* ops =
            btf__type_by_id(kernel.get(), btf__resolve_type(kernel.get(), data->type));
        if (!ops || !btf_is_struct(ops))
            break;
        const btf_member* slot = btf_members(ops);
        for (int j = 0; j < btf_vlen(ops); j++, slot++) {
            const btf_type* type =
                btf__type_by_id(kernel.get(), btf__resolve_type(kernel.get(), slot->type));
            if (!type || !btf_is_ptr(type))
                continue;
            const btf_type* target =
                btf__type_by_id(kernel.get(), btf__resolve_type(kernel.get(), type->type));
            size_t offset = data_offset + btf_member_bit_offset(ops, j) / 8;
            __u64 prog_id = 0;
            if (!target || !btf_is_func_proto(target) || offset + sizeof(prog_id) > value.size())
                continue;
            std::memcpy(&prog_id, value.data() + offset, sizeof(prog_id));
            if (prog_id)
                ids.push_back(static_cast<__u32>(prog_id));
        }
    }
    if (ids.empty())
        return framepace::invalid_input("framepace_ops holds no programs");
    return ids;
}

// The maps of the running scheduler: every map its callbacks use. (meta, which only
// userspace touches, is not among them; the boost path does not use it.)
struct RunningMaps {
    std::vector<UniqueFd> fds;
    std::vector<framepace::testing::SchedulerMap> maps;
};

framepace::Expected<RunningMaps> running_scheduler_maps() {
    RunningOps ops = find_running_ops();
    if (!ops.map.valid())
        return framepace::Error{-ENOENT, "no framepace scheduler is attached"};
    auto prog_ids = struct_ops_prog_ids(ops.map.get());
    if (!prog_ids)
        return prog_ids.error();
    std::set<__u32> map_ids;
    for (__u32 prog_id : *prog_ids) {
        UniqueFd prog(bpf_prog_get_fd_by_id(prog_id));
        if (!prog.valid())
            return framepace::make_error(-errno, "failed to open a program of framepace_ops");
        auto used = framepace::testing::program_map_ids(prog.get());
        if (!used)
            return used.error();
        map_ids.insert(used->begin(), used->end());
    }
    RunningMaps running;
    for (__u32 map_id : map_ids) {
        UniqueFd map(bpf_map_get_fd_by_id(map_id));
        bpf_map_info info{};
        __u32 len = sizeof(info);
        if (!map.valid() || bpf_map_get_info_by_fd(map.get(), &info, &len) != 0)
            return framepace::make_error(-errno, "failed to open a map of the scheduler");
        running.maps.push_back({info.name, map.get()});
        running.fds.push_back(std::move(map));
    }
    return running;
}

// The running scheduler has no test programs: its object ships without them. So the probe
// loads fp_test_boost of the test object (the same scheduler source with test programs
// added, from this build) onto the running scheduler's own maps, .bss with the heartbeat
// and the boost window, tunables, counters and event rings, and runs it once. That is the
// live scheduler's boost path as its input hook takes it: heartbeat gate, window, counters
// and the boost event to framepaced. A map of another shape (another build) or a map of
// the probe's own stops it (test_object.h). The VM cases (30-recovery, 55-dbus) need to
// know whether this one request opened or was refused (stale heartbeat); an input event
// from framepace-vm-uinput opens a window the same way, but cannot tell them that.
int boost() {
    auto running = running_scheduler_maps();
    if (!running) {
        std::fprintf(stderr, "framepace-vm-probe: %s\n", running.error().message.c_str());
        return 2;
    }
    auto test = framepace::testing::load_onto_scheduler(running->maps, "fp_test_boost");
    if (!test) {
        std::fprintf(stderr, "framepace-vm-probe: %s\n", test.error().message.c_str());
        return 2;
    }
    auto opened = framepace::testing::run_test_program((*test)->progs.fp_test_boost);
    if (!opened) {
        std::fprintf(stderr, "framepace-vm-probe: %s\n", opened.error().message.c_str());
        return 2;
    }
    std::puts(*opened ? "opened" : "refused");
    return 0;
}

int set_layout_version(unsigned long long version) {
    UniqueFd map = find_meta_map();
    if (!map.valid()) {
        std::fprintf(stderr, "framepace-vm-probe: no framepace meta map loaded\n");
        return 2;
    }
    fp_meta meta{FP_META_MAGIC, version};
    __u32 key = 0;
    if (bpf_map_update_elem(map.get(), &key, &meta, BPF_ANY) != 0) {
        std::perror("framepace-vm-probe: update meta");
        return 2;
    }
    return 0;
}

// Detaches the running scheduler's link as its own daemon does on a stop, while the link's
// owner (a stopped framepaced, the fd store) still holds it: the kernel records an
// unregistration, not an ejection.
int detach() {
    RunningOps ops = find_running_ops();
    if (!ops.link.valid()) {
        std::fprintf(stderr, "framepace-vm-probe: no framepace scheduler is attached\n");
        return 2;
    }
    if (bpf_link_detach(ops.link.get()) != 0) {
        std::perror("framepace-vm-probe: detach");
        return 2;
    }
    return 0;
}

int first_drop() {
    UniqueFd map = find_map("ring_counters", sizeof(fp_ring_counters));
    int cpus = libbpf_num_possible_cpus();
    if (!map.valid() || cpus <= 0) {
        std::fprintf(stderr, "framepace-vm-probe: no framepace ring_counters map loaded\n");
        return 2;
    }
    std::vector<fp_ring_counters> per_cpu(static_cast<size_t>(cpus));
    __u32 key = 0;
    if (bpf_map_lookup_elem(map.get(), &key, per_cpu.data()) != 0) {
        std::perror("framepace-vm-probe: ring_counters");
        return 2;
    }
    std::string out = "[";
    for (int ring = 0; ring < FP_NR_RINGS; ring++) {
        unsigned long long first = 0;
        for (const auto& c : per_cpu)
            if (c.first_drop_ns[ring] && (!first || c.first_drop_ns[ring] < first))
                first = c.first_drop_ns[ring];
        out += (ring ? "," : "") + std::to_string(first);
    }
    std::puts((out + "]").c_str());
    return 0;
}

int prog_stats(const char* prefix) {
    std::string out = "{";
    __u32 id = 0;
    while (bpf_prog_get_next_id(id, &id) == 0) {
        UniqueFd fd(bpf_prog_get_fd_by_id(id));
        bpf_prog_info info{};
        __u32 len = sizeof(info);
        if (!fd.valid() || bpf_prog_get_info_by_fd(fd.get(), &info, &len) != 0 ||
            std::strncmp(info.name, prefix, std::strlen(prefix)) != 0)
            continue;
        if (out.size() > 1)
            out += ",";
        out += "\"" + std::string(info.name) + "\":{\"run_cnt\":" + std::to_string(info.run_cnt) +
               ",\"run_time_ns\":" + std::to_string(info.run_time_ns) + "}";
    }
    std::puts((out + "}").c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && std::strcmp(argv[1], "boost") == 0)
        return boost();
    if (argc == 3 && std::strcmp(argv[1], "set-layout-version") == 0)
        return set_layout_version(std::strtoull(argv[2], nullptr, 10));
    if (argc == 3 && std::strcmp(argv[1], "prog-stats") == 0)
        return prog_stats(argv[2]);
    if (argc == 2 && std::strcmp(argv[1], "first-drop") == 0)
        return first_drop();
    if (argc == 2 && std::strcmp(argv[1], "detach") == 0)
        return detach();
    std::fprintf(stderr,
                 "usage: framepace-vm-probe boost | set-layout-version N | prog-stats PREFIX | "
                 "first-drop | detach\n");
    return 2;
}
