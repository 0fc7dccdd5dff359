// framepace-vm-probe: reaches into a running framepace from outside the daemon, for the VM
// tests. It finds framepace's BPF objects by name among everything loaded in the kernel.
//   framepace-vm-probe boost                    run the boost test hook once; prints
//                                               "opened" or "refused"
//   framepace-vm-probe set-layout-version N     rewrite the layout version in the meta map
//                                               (makes the next daemon see an "old" scheduler)
//   framepace-vm-probe prog-stats PREFIX        one JSON object: run count and total run time
//                                               of every loaded program whose name starts
//                                               with PREFIX (needs kernel.bpf_stats_enabled=1)
//   framepace-vm-probe first-drop               one JSON array, per event ring: the
//                                               CLOCK_MONOTONIC ns of its first dropped event
//                                               (the earliest over CPUs), 0 if none
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "bpf/framepace_shared.h"
#include "common/unique_fd.h"

using framepace::UniqueFd;

namespace {

// The newest (highest id) program with this name.
UniqueFd find_prog(const char* name) {
    UniqueFd found;
    __u32 id = 0;
    while (bpf_prog_get_next_id(id, &id) == 0) {
        UniqueFd fd(bpf_prog_get_fd_by_id(id));
        bpf_prog_info info{};
        __u32 len = sizeof(info);
        if (fd.valid() && bpf_prog_get_info_by_fd(fd.get(), &info, &len) == 0 &&
            std::strcmp(info.name, name) == 0)
            found = std::move(fd);
    }
    return found;
}

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
    if (fd.valid() && bpf_map_lookup_elem(fd.get(), &key, &meta) == 0 && meta.magic == FP_META_MAGIC)
        return fd;
    return UniqueFd();
}

int boost() {
    UniqueFd prog = find_prog("fp_test_boost");
    if (!prog.valid()) {
        std::fprintf(stderr, "framepace-vm-probe: fp_test_boost is not loaded\n");
        return 2;
    }
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    if (bpf_prog_test_run_opts(prog.get(), &opts) != 0) {
        std::perror("framepace-vm-probe: test run");
        return 2;
    }
    std::puts(opts.retval ? "opened" : "refused");
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
        out += "\"" + std::string(info.name) + "\":{\"run_cnt\":" +
               std::to_string(info.run_cnt) + ",\"run_time_ns\":" +
               std::to_string(info.run_time_ns) + "}";
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
    std::fprintf(stderr, "usage: framepace-vm-probe boost | set-layout-version N | prog-stats PREFIX | first-drop\n");
    return 2;
}
