// SPDX-License-Identifier: GPL-2.0-only (follows the GPL-2.0 userspace of sched-ext/scx; bench only)
// What the peer loaders (bpfland_loader, lavd_loader, cake_loader) share: the CPU topology as
// scx_utils reads it from sysfs, the sched_ext checks scx_utils' scx_ops_open!/load!/attach!
// make, running SEC("syscall") programs, dumping a data section's variables as JSON, opening,
// loading and attaching a skeleton, the signal loop and main().
// Benchmark tools only (see README.md); the peers' BPF code stays in the shared sources.
#pragma once

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <scx/common.h>  // the peers' own compat helpers: enum and ops-flag lookups in kernel BTF

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace peer {

// Thrown for every set-up failure; main() prints it once and exits non-zero.
struct LoaderError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

// sysfs paths, under $PEER_SYSFS_ROOT when set (a copied or made-up tree, for --plan checks).
inline std::string sysfs(const std::string& path) {
    const char* root = std::getenv("PEER_SYSFS_ROOT");
    return root ? std::string(root) + path : path;
}

inline std::optional<std::string> read_text(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
        s.pop_back();
    size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return s.substr(i);
}

// A sysfs value without its surrounding blanks; none when the file is missing or blank.
inline std::optional<std::string> read_value(const std::string& path) {
    auto text = read_text(path);
    if (!text)
        return std::nullopt;
    std::string t = trim(*text);
    if (t.empty())
        return std::nullopt;
    return t;
}

// A decimal number and nothing after it.
inline std::optional<uint64_t> parse_u64(const std::string& text) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (errno || *end)
        return std::nullopt;
    return v;
}

inline std::optional<uint64_t> read_u64(const std::string& path) {
    auto value = read_value(path);
    return value ? parse_u64(*value) : std::nullopt;
}

// "32K", "1M", "512" -> bytes (scx_utils read_file_byte).
inline std::optional<uint64_t> read_bytes(const std::string& path) {
    auto value = read_value(path);
    if (!value)
        return std::nullopt;
    std::string t = std::move(*value);
    uint64_t mult = 1;
    switch (t.back()) {
    case 'K':
        mult = 1ull << 10;
        t.pop_back();
        break;
    case 'M':
        mult = 1ull << 20;
        t.pop_back();
        break;
    case 'G':
        mult = 1ull << 30;
        t.pop_back();
        break;
    default: break;
    }
    auto v = parse_u64(t);
    return v ? std::optional<uint64_t>(*v * mult) : std::nullopt;
}

// "0-3,6,8-9" -> {0,1,2,3,6,8,9}
inline std::vector<int> parse_cpulist(std::string_view text) {
    std::vector<int> cpus;
    std::string s(text);
    std::stringstream ss(s);
    std::string group;
    while (std::getline(ss, group, ',')) {
        group = trim(group);
        if (group.empty())
            continue;
        int lo = 0, hi = 0;
        if (std::sscanf(group.c_str(), "%d-%d", &lo, &hi) == 2) {
        } else if (std::sscanf(group.c_str(), "%d", &lo) == 1) {
            hi = lo;
        } else {
            throw LoaderError("cannot parse CPU list '" + s + "'");
        }
        for (int c = lo; c <= hi; c++)
            cpus.push_back(c);
    }
    return cpus;
}

// Directory entries named PREFIX<number>, in the lexicographic order of Rust's glob().
inline std::vector<std::pair<std::string, int>> numbered_entries(const std::string& dir,
                                                                 const std::string& prefix) {
    std::vector<std::pair<std::string, int>> out;
    DIR* d = opendir(dir.c_str());
    if (!d)
        return out;
    while (dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0)
            continue;
        std::string num = name.substr(prefix.size());
        if (!std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; }))
            continue;
        out.emplace_back(name, std::stoi(num));
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

// ---------------------------------------------------------------------------------------------
// CPU topology, built the way scx_utils::Topology::new() builds it: NUMA nodes from
// /sys/devices/system/node (else one node 0), LLC = L3 (else L2) told apart by
// cache/index{3,2}/shared_cpu_list, LLC and core ids numbered in first-seen order per
// (node, package, kernel id), capacities scaled to 1024 from the most precise sysfs source.

struct Cpu {
    int id = 0;
    int node = 0;
    size_t llc_id = 0;  // topology-wide LLC index (scx_utils Llc::id)
    size_t llc_kernel_id = 0;  // cache id from sysfs (scx_utils Llc::kernel_id)
    size_t core_id = 0;  // topology-wide core index (scx_utils Core::id)
    unsigned capacity = 1024;
    size_t cache_size = 0;  // sum over cache levels of size / CPUs sharing it
    size_t smt_level = 1;  // CPUs in this core
    bool big = true;  // CoreType::Big
    bool turbo = false;  // CoreType::Big { turbo: true }
};

struct Topology {
    std::vector<int> online;
    int nr_cpu_ids = 0;  // highest cpuN under /sys/devices/system/cpu + 1 (NR_CPU_IDS)
    int nr_cpus_possible = 0;  // libbpf_num_possible_cpus() (NR_CPUS_POSSIBLE)
    bool smt_active = false;  // /sys/devices/system/cpu/smt/active
    size_t nr_nodes = 1;  // NUMA nodes, memory-only ones included (Topology::nodes.len())
    std::map<int, Cpu> cpus;
    // node -> llc_id -> core_id -> CPU ids (all ascending, like the BTreeMaps)
    std::map<int, std::map<size_t, std::map<size_t, std::vector<int>>>> tree;

    std::vector<int> cpus_of_core(size_t core_id) const {
        for (auto& [node, llcs] : tree)
            for (auto& [llc, cores] : llcs)
                if (auto it = cores.find(core_id); it != cores.end())
                    return it->second;
        return {};
    }
    size_t nr_llcs() const {
        size_t n = 0;
        for (auto& [node, llcs] : tree)
            n += llcs.size();
        return n;
    }
    bool has_little_cores() const {
        return std::any_of(cpus.begin(), cpus.end(), [](auto& c) { return !c.second.big; });
    }
    // Topology::sibling_cpus(): the other CPU of each two-CPU core, -1 where none.
    std::vector<int> sibling_cpus() const {
        std::vector<int> sib(std::max(nr_cpus_possible, nr_cpu_ids), -1);
        for (auto& [node, llcs] : tree)
            for (auto& [llc, cores] : llcs)
                for (auto& [core, ids] : cores)
                    if (ids.size() >= 2) {
                        sib[ids[0]] = ids[1];
                        sib[ids[1]] = ids[0];
                    }
        return sib;
    }
};

inline Topology read_topology() {
    const std::string sys = sysfs("/sys/devices/system/cpu");
    Topology topo;
    auto online = read_text(sys + "/online");
    if (!online)
        throw LoaderError("cannot read " + sys + "/online: " + errno_text(errno));
    topo.online = parse_cpulist(*online);
    std::set<int> online_set(topo.online.begin(), topo.online.end());

    auto cpu_dirs = numbered_entries(sys, "cpu");
    if (cpu_dirs.empty())
        throw LoaderError("no cpuN directories under " + sys);
    for (auto& [name, id] : cpu_dirs)
        topo.nr_cpu_ids = std::max(topo.nr_cpu_ids, id + 1);
    // libbpf_num_possible_cpus(), from the same tree
    auto possible = read_text(sys + "/possible");
    if (!possible)
        throw LoaderError("cannot read " + sys + "/possible");
    for (int c : parse_cpulist(*possible))
        topo.nr_cpus_possible = std::max(topo.nr_cpus_possible, c + 1);
    topo.smt_active = read_u64(sys + "/smt/active").value_or(0) == 1;

    // cpu_capacity_source(): the first source cpu0 has, scaled by its maximum over all CPUs.
    std::string cap_suffix;
    uint64_t max_rcap = 1024;
    for (const char* src : {"cpufreq/amd_pstate_highest_perf", "acpi_cppc/highest_perf",
                            "cpu_capacity", "cpufreq/cpuinfo_max_freq"}) {
        if (read_u64(sys + "/cpu0/" + src).value_or(0) > 0) {
            cap_suffix = src;
            break;
        }
    }
    if (!cap_suffix.empty()) {
        uint64_t m = 0;
        for (auto& [name, id] : cpu_dirs)
            m = std::max(m, read_u64(sys + "/" + name + "/" + cap_suffix).value_or(0));
        if (m > 0)
            max_rcap = m;
        else
            cap_suffix.clear();
    }

    // Core types: only told apart on hybrid parts (several clusters) with cpufreq.
    std::set<uint64_t> clusters;
    uint64_t top_max_freq = 0, sum_base = 0, nr_base = 0;
    for (auto& [name, id] : cpu_dirs) {
        clusters.insert(read_u64(sys + "/" + name + "/topology/cluster_id").value_or(0));
        uint64_t max_freq = read_u64(sys + "/" + name + "/cpufreq/scaling_max_freq").value_or(0);
        uint64_t base = read_u64(sys + "/" + name + "/cpufreq/base_frequency").value_or(max_freq);
        if (base > 0) {
            top_max_freq = std::max(top_max_freq, max_freq);
            sum_base += base;
            nr_base++;
        }
    }
    bool big_little = clusters.size() > 1;

    std::map<std::string, size_t> l2_ids, l3_ids;
    auto cache_id = [](std::map<std::string, size_t>& ids, const std::string& index) -> size_t {
        auto key = read_text(index + "/shared_cpu_list");
        if (!key)
            return SIZE_MAX;
        if (auto it = ids.find(*key); it != ids.end())
            return it->second;
        size_t id = read_u64(index + "/id").value_or(ids.size());
        ids[*key] = id;
        return id;
    };
    std::map<std::tuple<int, uint64_t, size_t>, size_t> llc_index, core_index;

    auto insert_cpu = [&](int id, int node) {
        if (!online_set.count(id))
            return;
        std::string cpu = sys + "/cpu" + std::to_string(id);
        auto core_kernel_id = read_u64(cpu + "/topology/core_id");
        auto package_id = read_u64(cpu + "/topology/physical_package_id");
        if (!core_kernel_id || !package_id)
            throw LoaderError("cannot read the topology of " + cpu);
        size_t l2 = cache_id(l2_ids, cpu + "/cache/index2");
        size_t l3 = cache_id(l3_ids, cpu + "/cache/index3");
        Cpu c;
        c.id = id;
        c.node = node;
        c.llc_kernel_id = l3 == SIZE_MAX ? l2 : l3;
        for (auto& [iname, idx] : numbered_entries(cpu + "/cache", "index")) {
            auto shared = read_text(cpu + "/cache/" + iname + "/shared_cpu_list");
            if (!shared)
                continue;
            size_t n = std::max<size_t>(1, parse_cpulist(*shared).size());
            c.cache_size += read_bytes(cpu + "/cache/" + iname + "/size").value_or(1024) / n;
        }
        uint64_t rcap =
            cap_suffix.empty() ? max_rcap : read_u64(cpu + "/" + cap_suffix).value_or(max_rcap);
        c.capacity = unsigned(rcap * 1024 / max_rcap);
        if (big_little && nr_base > 0) {
            uint64_t max_freq = read_u64(cpu + "/cpufreq/scaling_max_freq").value_or(0);
            uint64_t base = read_u64(cpu + "/cpufreq/base_frequency").value_or(max_freq);
            if (max_freq == top_max_freq)
                c.turbo = true;
            else if (base < sum_base / nr_base)
                c.big = false;
        }
        auto [llc_it, llc_new] =
            llc_index.try_emplace({node, *package_id, c.llc_kernel_id}, llc_index.size());
        auto [core_it, core_new] =
            core_index.try_emplace({node, *package_id, *core_kernel_id}, core_index.size());
        c.llc_id = llc_it->second;
        c.core_id = core_it->second;
        topo.tree[node][c.llc_id][c.core_id].push_back(id);
        topo.cpus[id] = c;
    };

    const std::string node_dir = sysfs("/sys/devices/system/node");
    auto nodes = numbered_entries(node_dir, "node");
    if (!nodes.empty()) {
        topo.nr_nodes = nodes.size();
        for (auto& [nname, node] : nodes)
            for (auto& [cname, id] : numbered_entries(node_dir + "/" + nname, "cpu"))
                insert_cpu(id, node);
    } else {
        for (auto& [name, id] : cpu_dirs)
            insert_cpu(id, 0);
    }
    if (topo.cpus.empty())
        throw LoaderError("no online CPU found in sysfs");
    for (auto& [node, llcs] : topo.tree)
        for (auto& [llc, cores] : llcs)
            for (auto& [core, ids] : cores) {
                std::sort(ids.begin(), ids.end());
                for (int id : ids)
                    topo.cpus[id].smt_level = ids.size();
            }
    return topo;
}

// ---------------------------------------------------------------------------------------------
// Kernel checks, as scx_utils::compat does them.

struct BtfDeleter {
    void operator()(btf* b) const { btf__free(b); }
};

inline btf* vmlinux_btf() {
    static std::unique_ptr<btf, BtfDeleter> b(btf__load_vmlinux_btf());
    if (!b)
        throw LoaderError("cannot load the kernel's BTF (/sys/kernel/btf/vmlinux): " +
                          errno_text(errno));
    return b.get();
}

inline bool ksym_exists(const char* name) { return btf__find_by_name(vmlinux_btf(), name) >= 0; }

inline bool struct_has_field(const char* type, const char* field) {
    btf* b = vmlinux_btf();
    int id = btf__find_by_name_kind(b, type, BTF_KIND_STRUCT);
    if (id < 0)
        return false;
    const btf_type* t = btf__type_by_id(b, id);
    const btf_member* m = btf_members(t);
    for (int i = 0; i < btf_vlen(t); i++)
        if (std::strcmp(btf__name_by_offset(b, m[i].name_off), field) == 0)
            return true;
    return false;
}

// check_min_requirements() and the hotplug_seq read of scx_ops_open!().
inline uint64_t require_sched_ext() {
    if (btf__find_by_name_kind(vmlinux_btf(), "sched_ext_ops", BTF_KIND_STRUCT) < 0)
        throw LoaderError(
            "struct sched_ext_ops is not found in kernel BTF: this kernel has no sched_ext "
            "(CONFIG_SCHED_CLASS_EXT)");
    if (!struct_has_field("sched_ext_ops", "dump"))
        throw LoaderError("sched_ext_ops.dump() missing, kernel too old?");
    auto seq = read_u64("/sys/kernel/sched_ext/hotplug_seq");
    if (!seq)
        throw LoaderError("cannot read /sys/kernel/sched_ext/hotplug_seq");
    return *seq;
}

inline std::string sched_ext_state() {
    return read_value("/sys/kernel/sched_ext/state").value_or("");
}

// try_set_rlimit_infinity()
inline void raise_memlock_rlimit() {
    rlimit r{RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_MEMLOCK, &r);
}

inline bool word_in_file(const std::string& path, std::string_view word) {
    std::ifstream in(path);
    std::string w;
    while (in >> w)
        if (w == word)
            return true;
    return false;
}

inline std::string tracefs_root() {
    std::ifstream mounts("/proc/mounts");
    std::string dev, dir, type, rest, debugfs;
    while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
        if (type == "tracefs")
            return dir;
        if (type == "debugfs" && debugfs.empty())
            debugfs = dir + "/tracing";
    }
    return debugfs;
}

inline bool tracer_available(std::string_view tracer) {
    return word_in_file(tracefs_root() + "/available_tracers", tracer);
}
inline bool tracepoint_exists(std::string_view tp) {
    return word_in_file(tracefs_root() + "/available_events", tp);
}
inline bool in_kallsyms(std::string_view sym) { return word_in_file("/proc/kallsyms", sym); }

// ---------------------------------------------------------------------------------------------
// SEC("syscall") programs: what libbpf-rs' Program::test_run() does. The kernel copies the
// context back, so outputs in *ctx are seen by the caller.

inline int run_syscall_prog(bpf_program* prog, void* ctx, size_t ctx_size) {
    if (!prog)
        throw LoaderError("SEC(\"syscall\") program missing from the object");
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.ctx_in = ctx;
    opts.ctx_size_in = unsigned(ctx_size);
    if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts))
        throw LoaderError(std::string("cannot run ") + bpf_program__name(prog) + ": " +
                          errno_text(errno));
    return int(opts.retval);
}

// The size of a type of the object's BTF (e.g. struct task_ctx), as Rust's size_of::<types::X>().
inline size_t btf_struct_size(bpf_object* obj, const char* name) {
    btf* b = bpf_object__btf(obj);
    int id = b ? btf__find_by_name_kind(b, name, BTF_KIND_STRUCT) : -1;
    long sz = id < 0 ? -1 : btf__resolve_size(b, id);
    if (sz < 0)
        throw LoaderError(std::string("struct ") + name + " is not in the object's BTF");
    return size_t(sz);
}

// ---------------------------------------------------------------------------------------------
// Counters as JSON: the variables of a data section (.bss), walked through the object's BTF, so
// the loader prints whatever the peer itself counts without a copy of its structs.

class JsonDump {
public:
    explicit JsonDump(bpf_object* obj) : btf_(bpf_object__btf(obj)) {}

    // "name": value for each variable of SECTION whose name passes KEEP; DATA is the section's
    // memory (the skeleton's mmap'ed .bss, so the values are live).
    std::string section(const char* sec_name, const void* data,
                        const std::function<bool(std::string_view)>& keep) const {
        std::string out = "{";
        int sec_id = btf_ ? btf__find_by_name_kind(btf_, sec_name, BTF_KIND_DATASEC) : -1;
        if (sec_id < 0 || !data)
            return out + "}";
        const btf_type* sec = btf__type_by_id(btf_, sec_id);
        const btf_var_secinfo* vs = btf_var_secinfos(sec);
        bool first = true;
        for (int i = 0; i < btf_vlen(sec); i++) {
            const btf_type* var = btf__type_by_id(btf_, vs[i].type);
            if (!btf_is_var(var))
                continue;
            std::string_view name = btf__name_by_offset(btf_, var->name_off);
            if (!keep(name))
                continue;
            std::string value =
                this->value(var->type, static_cast<const char*>(data) + vs[i].offset, 0);
            if (value.empty())
                continue;
            out += std::string(first ? "" : ",") + "\"" + std::string(name) + "\":" + value;
            first = false;
        }
        return out + "}";
    }

private:
    // Integers, bools, enums, structs of them and small arrays; empty for anything else.
    std::string value(uint32_t type_id, const char* p, int depth) const {
        const btf_type* t = btf__type_by_id(btf_, type_id);
        while (t && (btf_is_typedef(t) || btf_is_mod(t))) {
            type_id = t->type;
            t = btf__type_by_id(btf_, type_id);
        }
        if (!t || depth > 4)
            return {};
        if (btf_is_int(t)) {
            uint8_t enc = btf_int_encoding(t);
            if (enc & BTF_INT_BOOL)
                return *p ? "true" : "false";
            bool sgn = enc & BTF_INT_SIGNED;
            switch (t->size) {
            case 1:
                return sgn ? std::to_string(*(const int8_t*)p) : std::to_string(*(const uint8_t*)p);
            case 2:
                return sgn ? std::to_string(*(const int16_t*)p)
                           : std::to_string(*(const uint16_t*)p);
            case 4:
                return sgn ? std::to_string(*(const int32_t*)p)
                           : std::to_string(*(const uint32_t*)p);
            case 8:
                return sgn ? std::to_string(*(const int64_t*)p)
                           : std::to_string(*(const uint64_t*)p);
            default: return {};
            }
        }
        if (btf_is_enum(t))
            return std::to_string(*(const int32_t*)p);
        if (btf_is_array(t)) {
            const struct btf_array* a = btf_array(t);
            long esz = btf__resolve_size(btf_, a->type);
            if (esz <= 0 || a->nelems > 64)
                return {};
            std::string out = "[";
            for (uint32_t i = 0; i < a->nelems; i++) {
                std::string v = value(a->type, p + i * esz, depth + 1);
                if (v.empty())
                    return {};
                out += (i ? "," : "") + v;
            }
            return out + "]";
        }
        if (btf_is_struct(t)) {
            std::string out = "{";
            const btf_member* m = btf_members(t);
            bool first = true;
            for (int i = 0; i < btf_vlen(t); i++) {
                if (btf_member_bitfield_size(t, i))
                    continue;
                const char* name = btf__name_by_offset(btf_, m[i].name_off);
                if (!name || !*name)
                    continue;
                std::string v = value(m[i].type, p + btf_member_bit_offset(t, i) / 8, depth + 1);
                if (v.empty())
                    continue;
                out += std::string(first ? "" : ",") + "\"" + name + "\":" + v;
                first = false;
            }
            return out + "}";
        }
        return {};
    }

    const btf* btf_;
};

// ---------------------------------------------------------------------------------------------
// The loader's life once attached: SIGUSR1 dumps counters, SIGINT/SIGTERM end it, and a
// scheduler that exits on its own (uei kind set by the kernel) ends it too.

enum class StopReason { Signal, SchedulerExited };

inline void block_loader_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, nullptr);
}

inline StopReason wait_until_stopped(const std::function<bool()>& scheduler_exited,
                                     const std::function<void()>& on_usr1) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        if (scheduler_exited())
            return StopReason::SchedulerExited;
        timespec one_second{1, 0};
        int sig = sigtimedwait(&set, nullptr, &one_second);
        if (sig == SIGUSR1)
            on_usr1();
        else if (sig == SIGINT || sig == SIGTERM)
            return StopReason::Signal;
    }
}

// ---------------------------------------------------------------------------------------------
// ArenaLib::setup(): the arena allocators, then one topology node per system, NUMA node, LLC,
// core and CPU, each with its CPU mask written into an arena bitmap the BPF side allocates.
template <class Skel, class InitArgs, class TopoInitArgs, class AllocMaskArgs, class NodeInitArgs>
class ArenaSetup {
public:
    ArenaSetup(Skel* skel, const Topology& topo) : skel_(skel), topo_(topo) {
        // libbpf maps the whole arena (max_entries pages) at load; the size it reports with the
        // address is only that of the arena's static data, so the extent comes from the map.
        size_t static_size = 0;
        base_ = static_cast<char*>(bpf_map__initial_value(skel->maps.arena, &static_size));
        size_ = size_t(bpf_map__max_entries(skel->maps.arena)) * size_t(sysconf(_SC_PAGESIZE));
        if (!base_)
            throw LoaderError("the arena map is not mapped into this process");
        words_ = (size_t(topo.nr_cpu_ids) + 63) / 64;
    }

    // TASK_CTX_SIZE: the size of the scheduler's per-task arena context.
    void run(size_t task_ctx_size) {
        InitArgs init{};
        init.static_pages = 8;  // ArenaLib::STATIC_ALLOC_PAGES_GRANULARITY
        init.task_ctx_size = task_ctx_size;
        if (int ret = run_syscall_prog(skel_->progs.arena_init, &init, sizeof(init)))
            throw LoaderError("arena_init returned " + std::to_string(ret));

        TopoInitArgs max{};
        max.max_children[0] = uint32_t(topo_.nr_nodes);
        for (auto& [node, llcs] : topo_.tree) {
            max.max_children[1] = std::max(max.max_children[1], uint32_t(llcs.size()));
            for (auto& [llc, cores] : llcs) {
                max.max_children[2] = std::max(max.max_children[2], uint32_t(cores.size()));
                for (auto& [core, cpus] : cores)
                    max.max_children[3] = std::max(max.max_children[3], uint32_t(cpus.size()));
            }
        }
        if (int ret = run_syscall_prog(skel_->progs.arena_topology_init, &max, sizeof(max)))
            throw LoaderError("arena_topology_init returned " + std::to_string(ret));

        node(topo_.online, 0);
        for (auto& [id, llcs] : topo_.tree) {
            std::vector<int> cpus;
            for (auto& [llc, cores] : llcs)
                for (auto& [core, ids] : cores)
                    cpus.insert(cpus.end(), ids.begin(), ids.end());
            node(cpus, size_t(id));
        }
        std::map<size_t, std::vector<int>> llcs, cores;  // all_llcs, all_cores: by id
        for (auto& [id, c] : topo_.cpus) {
            llcs[c.llc_id].push_back(id);
            cores[c.core_id].push_back(id);
        }
        for (auto& [id, cpus] : llcs)
            node(cpus, id);
        for (auto& [id, cpus] : cores)
            node(cpus, id);
        for (auto& [id, c] : topo_.cpus)
            node({id}, size_t(id));
    }

private:
    void node(const std::vector<int>& cpus, size_t id) {
        if (cpus.empty())  // memory-only NUMA nodes
            return;
        AllocMaskArgs alloc{};
        if (int ret = run_syscall_prog(skel_->progs.arena_alloc_mask, &alloc, sizeof(alloc)))
            throw LoaderError("arena_alloc_mask returned " + std::to_string(ret));
        char* bits = reinterpret_cast<char*>(uintptr_t(alloc.bitmap));
        if (bits < base_ || bits + words_ * 8 > base_ + size_)
            throw LoaderError("arena_alloc_mask returned an address outside the mapped arena");
        std::vector<uint64_t> mask(words_, 0);
        for (int cpu : cpus)
            mask[size_t(cpu) / 64] |= 1ull << (cpu % 64);
        std::memcpy(bits, mask.data(), words_ * 8);

        NodeInitArgs init{};
        init.bitmap = alloc.bitmap;
        init.data_size = 0;
        init.id = id;
        if (int ret = run_syscall_prog(skel_->progs.arena_topology_node_init, &init, sizeof(init)))
            throw LoaderError("arena_topology_node_init returned " + std::to_string(ret));
    }

    Skel* skel_;
    const Topology& topo_;
    char* base_ = nullptr;
    size_t size_ = 0;
    size_t words_ = 0;
};

template <class Seq>
std::string json_list(const Seq& seq) {
    std::string out = "[";
    for (auto& v : seq)
        out += (out.size() > 1 ? "," : "") + std::to_string(v);
    return out + "]";
}

struct LinkDeleter {
    void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

// ---------------------------------------------------------------------------------------------
// What every loader does the same way around its peer's own set-up: own the skeleton, open and
// load it, attach and wait for the end, and main() itself.

template <class Skel>
struct SkelDeleter {
    void operator()(Skel* s) const { Skel::destroy(s); }
};
template <class Skel>
using SkelPtr = std::unique_ptr<Skel, SkelDeleter<Skel>>;

// Skel::open(): the object parsed, nothing in the kernel yet (what --plan reads, too).
template <class Skel>
SkelPtr<Skel> open_skeleton(const char* peer_name) {
    SkelPtr<Skel> skel(Skel::open());
    if (!skel)
        throw LoaderError(std::string("cannot open the ") + peer_name +
                          " BPF object: " + errno_text(errno));
    return skel;
}

template <class Skel>
void load_skeleton(Skel* skel, const char* peer_name) {
    if (int err = Skel::load(skel))
        throw LoaderError(std::string("cannot load the ") + peer_name +
                          " BPF programs: " + errno_text(err));
}

// scx_ops_attach!(), then the loader's life: refuse while another sched_ext scheduler is
// enabled, attach the other programs, then the struct_ops map; after_attach (what the Rust
// loader does once attached) and "attached" on stdout. Then SIGUSR1 prints the counters,
// SIGINT/SIGTERM detach, and the counters are printed once more. Returns the exit status: 0
// after a signal, 2 when the scheduler exited on its own (the kernel's reason on stderr).
template <class Skel>
int attach_until_stopped(Skel* skel, bpf_map* struct_ops, const char* peer_name,
                         const std::function<void(const char* when)>& print_counters,
                         const std::function<void()>& after_attach = {}) {
    if (sched_ext_state() == "enabled")
        throw LoaderError("another sched_ext scheduler is already running");
    bpf_map__set_autoattach(struct_ops, false);
    if (int err = Skel::attach(skel))
        throw LoaderError("cannot attach the non-struct_ops BPF programs: " + errno_text(err));
    LinkPtr link(bpf_map__attach_struct_ops(struct_ops));
    if (!link)
        throw LoaderError(std::string("cannot attach the ") + peer_name +
                          " struct_ops: " + errno_text(errno));
    if (after_attach)
        after_attach();
    std::cout << "attached" << std::endl;

    auto exited = [&] { return UEI_EXITED(skel, uei) != 0; };
    StopReason why = wait_until_stopped(exited, [&] { print_counters("usr1"); });
    link.reset();
    print_counters("exit");
    if (why == StopReason::SchedulerExited) {
        const auto& uei = skel->data->uei;
        std::fprintf(stderr,
                     "%s_loader: the scheduler exited on its own: %s (%s), exit code %lld\n",
                     peer_name, uei.reason, uei.msg, (long long)uei.exit_code);
        return 2;
    }
    return 0;
}

// A loader's main(): no options but --plan (the peer's defaults are built in), the signals
// blocked before anything runs (the loop takes them with sigtimedwait), and a set-up failure
// printed once as "<peer>_loader: <what failed>" with exit status 1.
inline int loader_main(int argc, char** argv, const char* peer_name, int (*run)(bool plan_only)) {
    bool plan_only = argc == 2 && std::string_view(argv[1]) == "--plan";
    if (argc > 1 && !plan_only) {
        std::fprintf(stderr,
                     "usage: %s [--plan]  (scx_%s's defaults are built in, see README.md)\n",
                     argv[0], peer_name);
        return 1;
    }
    block_loader_signals();
    try {
        return run(plan_only);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s_loader: %s\n", peer_name, e.what());
        return 1;
    }
}

}  // namespace peer

// The scx C headers' SCX_ENUM_INIT/UEI_SET_SIZE, for a skeleton whose types live in a C++
// namespace (the header versions need C's implicit void* and u64 conversions).
#undef SCX_ENUM_SET
#define SCX_ENUM_SET(skel, type, name)                                             \
    do {                                                                           \
        u64 v_ = 0;                                                                \
        (skel)->rodata->__##name = __COMPAT_read_enum(#type, #name, &v_) ? v_ : 0; \
    } while (0)
#define peer_enum_init(skel) SCX_ENUM_INIT(skel)

template <class Skel>
void peer_set_uei_size(Skel* skel, uint32_t exit_dump_len) {
    uint32_t len = exit_dump_len ? exit_dump_len : 32768;  // UEI_DUMP_DFL_LEN
    skel->rodata->uei_dump_len = len;
    if (int err = bpf_map__set_value_size(skel->maps.data_uei_dump, len))
        throw peer::LoaderError("cannot size the exit dump buffer: " + peer::errno_text(err));
    size_t sz = 0;
    skel->data_uei_dump = static_cast<decltype(skel->data_uei_dump)>(
        bpf_map__initial_value(skel->maps.data_uei_dump, &sz));
}

// The rest of scx_ops_open!()/SCX_OPS_OPEN(): $SCX_TIMEOUT_MS, and ops members this kernel's
// struct sched_ext_ops lacks are cleared (as the peers' compat.h does) instead of failing.
template <class Ops>
void peer_ops_compat(Ops* ops) {
    if (const char* ms = std::getenv("SCX_TIMEOUT_MS"))
        ops->timeout_ms = uint32_t(std::strtoul(ms, nullptr, 10));
    auto drop = [](auto& member, const char* field) {
        if (member && !peer::struct_has_field("sched_ext_ops", field)) {
            std::fprintf(stderr, "peer loader: kernel doesn't support ops.%s(), cleared\n", field);
            member = {};
        }
    };
    drop(ops->cgroup_set_bandwidth, "cgroup_set_bandwidth");
    drop(ops->cgroup_set_idle, "cgroup_set_idle");
    drop(ops->sub_attach, "sub_attach");
    drop(ops->sub_detach, "sub_detach");
    if (ops->sub_cgroup_id > 1 && !peer::struct_has_field("sched_ext_ops", "sub_cgroup_id"))
        ops->sub_cgroup_id = 1;
}
