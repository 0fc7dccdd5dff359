// SPDX-License-Identifier: GPL-2.0-only (follows the GPL-2.0 userspace of sched-ext/scx; bench only)
// lavd_loader: loads scx_lavd's BPF scheduler (sched-ext/scx, GPL-2.0) the way its Rust
// userspace (scheds/rust/scx_lavd/src/main.rs, cpu_order.rs, scx_utils' ArenaLib) does with no
// options given (autopilot), for the topology at hand, attaches it and stays until
// SIGINT/SIGTERM. A benchmark tool: see README.md for what differs from the Rust original.
//
//   lavd_loader    attach, print "attached"; SIGUSR1 prints the counters (sys_stat and the
//                  time spent per power mode) as one JSON line, SIGINT/SIGTERM detach, print
//                  them once more and exit 0
//   lavd_loader --plan   print the CPU order, compute domains and capacity table the set-up
//                  would write (no BPF; works without sched_ext and with $PEER_SYSFS_ROOT)
#include "peer_loader.h"

#include <climits>
#include <iostream>
#include <tuple>

namespace lavd_bpf {
#include "lavd.types.h"
#include "lavd.skel.h"
}  // namespace lavd_bpf

// The peer's own constants (LAVD_CPU_ID_MAX, LAVD_CPDOM_MAX_*, LAVD_PCO_STATE_MAX, LAVD_PM_*):
// its intf.h, as the Rust side's bpf_intf.
// Seen as userspace sees it (its own integer typedefs), not after the BPF types' vmlinux guard.
#pragma push_macro("__VMLINUX_H__")
#undef __VMLINUX_H__
namespace lavd_intf {
#include "intf.h"
}  // namespace lavd_intf
#pragma pop_macro("__VMLINUX_H__")

namespace {

using Skel = lavd_bpf::lavd;

using peer::LoaderError;

// The defaults of main.rs's Opts once Opts::proc() has run with no options (README.md).
struct Options {
    bool autopilot = true;  // proc(): on when no conflicting option is given
    bool autopower = false;
    bool performance = false;
    bool powersave = false;
    bool balanced = false;
    uint64_t slice_max_us = 5000;
    uint64_t slice_min_us = 500;
    uint16_t lat_load_target_pct = 100;
    uint8_t mig_delta_pct = 0;
    uint64_t warm_cpu_us = 0;
    uint8_t lb_low_util_pct = 25;
    uint8_t lb_local_dsq_util_pct = 10;
    uint64_t pinned_slice_us = 5000;
    uint8_t preempt_shift = 6;
    bool no_use_em = true;  // proc(): forced on when the kernel has no energy model (README.md)
    bool no_futex_boost = false;
    bool no_fast_lb = false;
    bool no_preemption = false;
    bool no_wake_sync = false;
    bool no_slice_boost = false;
    bool per_cpu_dsq = false;
    bool enable_cpu_bw = false;
    bool partial = false;
    bool no_core_compaction = false;
    bool no_freq_scaling = false;
    uint8_t verbose = 0;  // --log-level info
};

// ---------------------------------------------------------------------------------------------
// CpuOrder (cpu_order.rs) for machines without an energy model.

struct CpuId {
    size_t numa_adx, pd_adx, llc_adx, llc_rdx, llc_kernel_id, core_rdx, cpu_rdx, cpu_adx;
    size_t smt_level, cache_size, cpu_cap;
    bool big_core, turbo_core;
    uint32_t cpu_sibling;  // usize::MAX as u32 when none, as main.rs stores it
};

// ComputeDomainId, ordered field by field like the derived Ord.
using CpdomKey = std::tuple<size_t /*numa*/, size_t /*llc_adx*/, size_t /*llc_rdx*/,
                            size_t /*llc_kernel_id*/, bool /*big*/>;

struct ComputeDomain {
    size_t id = 0;
    size_t alt_id = 0;
    std::vector<size_t> cpu_ids;
    std::map<size_t, std::vector<size_t>> neighbors;  // distance -> domain ids
};

struct PerfCpuOrder {
    size_t perf_cap = 0;
    std::vector<size_t> cpus_perf, cpus_ovflw;
};

struct CpuOrder {
    std::vector<CpuId> cpuids;  // performance order
    std::map<size_t, PerfCpuOrder> perf_cpu_order;
    std::map<CpdomKey, ComputeDomain> cpdoms;
    size_t nr_llcs = 0;
    bool smt_enabled = false;
};

std::vector<CpuId> build_topo_order(const peer::Topology& topo, bool prefer_powersave) {
    std::vector<int> siblings = topo.sibling_cpus();
    std::vector<CpuId> ids;
    for (auto& [numa, llcs] : topo.tree) {
        size_t llc_rdx = 0;
        for (auto& [llc, cores] : llcs) {
            size_t core_rdx = 0;
            for (auto& [core, cpus] : cores) {
                size_t cpu_rdx = 0;
                for (int cpu : cpus) {
                    const peer::Cpu& c = topo.cpus.at(cpu);
                    ids.push_back(CpuId{size_t(numa), llc /* pd_adx: no energy model */, llc,
                                        llc_rdx, c.llc_kernel_id, core_rdx, cpu_rdx, size_t(cpu),
                                        c.smt_level, c.cache_size, c.capacity, c.big, c.turbo,
                                        siblings[cpu] < 0 ? UINT32_MAX : uint32_t(siblings[cpu])});
                    cpu_rdx++;
                }
                core_rdx++;
            }
            llc_rdx++;
        }
    }
    auto key = [&](const CpuId& a) {
        if (prefer_powersave && !topo.has_little_cores())  // 1. powersave, no big/little
            return std::make_tuple(a.numa_adx, a.llc_rdx, SIZE_MAX - a.cpu_cap,
                                   SIZE_MAX - a.cache_size, a.pd_adx, a.core_rdx,
                                   SIZE_MAX - a.smt_level, a.cpu_rdx, a.cpu_adx);
        if (prefer_powersave)  // 2. powersave, big/little: LITTLE (lower capacity) first
            return std::make_tuple(a.numa_adx, a.llc_rdx, a.cpu_cap, SIZE_MAX - a.cache_size,
                                   a.pd_adx, a.core_rdx, SIZE_MAX - a.smt_level, a.cpu_rdx,
                                   a.cpu_adx);
        // 3./4. performance
        return std::make_tuple(a.cpu_rdx, a.numa_adx, a.llc_rdx, SIZE_MAX - a.cpu_cap,
                               SIZE_MAX - a.cache_size, a.smt_level, a.pd_adx, a.core_rdx,
                               a.cpu_adx);
    };
    std::stable_sort(ids.begin(), ids.end(),
                     [&](const CpuId& a, const CpuId& b) { return key(a) < key(b); });
    return ids;
}

size_t cpdom_distance(const CpdomKey& from, const CpdomKey& to) {
    size_t d = 0;
    if (std::get<4>(from) != std::get<4>(to))
        d += 100;
    if (std::get<0>(from) != std::get<0>(to)) {
        d += 10;
    } else {
        if (std::get<2>(from) != std::get<2>(to))
            d += 1;
        if (std::get<3>(from) != std::get<3>(to))
            d += 1;
    }
    return d;
}

// Circular order of domains at one distance, starting after START (see cpu_order.rs).
std::vector<size_t> circular_sort(size_t start, std::vector<size_t> list) {
    list.push_back(start);
    std::sort(list.begin(), list.end());
    size_t n = list.size();
    size_t s = size_t(std::lower_bound(list.begin(), list.end(), start) - list.begin());
    auto dist = [&](size_t x) {
        size_t d = (x + n - s) % n;
        return std::min(d, n - d);
    };
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return std::make_pair(dist(a), a) < std::make_pair(dist(b), b);
    });
    std::vector<size_t> out;
    for (size_t i = 1; i < n; i++)
        out.push_back(list[order[i]]);
    return out;
}

PerfCpuOrder fake_pco(size_t tot_perf, const std::vector<CpuId>& ids, bool powersave) {
    PerfCpuOrder p;
    p.perf_cap = powersave ? ids[0].cpu_cap : tot_perf;
    p.cpus_perf.push_back(ids[0].cpu_adx);
    for (size_t i = 1; i < ids.size(); i++)
        p.cpus_ovflw.push_back(ids[i].cpu_adx);
    return p;
}

CpuOrder build_cpu_order(const peer::Topology& topo) {
    CpuOrder order;
    order.cpuids = build_topo_order(topo, false);
    std::vector<CpuId> cpus_ps = build_topo_order(topo, true);
    order.nr_llcs = topo.nr_llcs();
    order.smt_enabled = topo.smt_active;

    // build_cpdom(): domain ids in the order the performance order meets them.
    std::map<size_t, bool> cpdom_big;
    for (const CpuId& c : order.cpuids) {
        CpdomKey key{c.numa_adx, c.llc_adx, c.llc_rdx, c.llc_kernel_id, c.big_core};
        auto [it, added] = order.cpdoms.try_emplace(key);
        if (added) {
            it->second.id = it->second.alt_id = order.cpdoms.size() - 1;
            cpdom_big[it->second.id] = c.big_core;
        }
        it->second.cpu_ids.push_back(c.cpu_adx);
    }
    for (auto& [from_key, from] : order.cpdoms)
        for (auto& [to_key, to] : order.cpdoms)
            if (from_key != to_key)
                from.neighbors[cpdom_distance(from_key, to_key)].push_back(to.id);
    for (auto& [key, dom] : order.cpdoms)
        for (auto& [d, ids] : dom.neighbors)
            ids = circular_sort(dom.id, ids);
    for (auto& [key, dom] : order.cpdoms) {
        CpdomKey alt = key;
        std::get<4>(alt) = !std::get<4>(key);
        if (auto it = order.cpdoms.find(alt); it != order.cpdoms.end()) {
            dom.alt_id = it->second.id;
            continue;
        }
        bool found = false;
        for (auto& [d, ids] : dom.neighbors) {
            for (size_t id : ids)
                if (cpdom_big[id] == std::get<4>(alt)) {
                    dom.alt_id = id;
                    found = true;
                    break;
                }
            if (found)
                break;
        }
    }

    // get_fake_perf_cpu_order_table(): a BTreeMap by capacity bound, the later insert wins.
    size_t tot_perf = 0;
    for (const CpuId& c : order.cpuids)
        tot_perf += c.cpu_cap;
    PerfCpuOrder pf = fake_pco(tot_perf, order.cpuids, false);
    PerfCpuOrder ps = fake_pco(tot_perf, cpus_ps, true);
    order.perf_cpu_order[pf.perf_cap] = pf;
    order.perf_cpu_order[ps.perf_cap] = ps;
    return order;
}

// ---------------------------------------------------------------------------------------------
// Scheduler::init() steps.

void enable_futex_boost(Skel* skel) {
    // attach_futex_ftraces(), else attach_futex_tracepoints(): all of a set or none.
    std::vector<std::pair<const char*, bpf_program*>> ftraces = {
        {"__futex_wait", skel->progs.fexit___futex_wait},
        {"futex_wait_multiple", skel->progs.fexit_futex_wait_multiple},
        {"futex_wait_requeue_pi", skel->progs.fexit_futex_wait_requeue_pi},
        {"futex_wake", skel->progs.fexit_futex_wake},
        {"futex_wake_op", skel->progs.fexit_futex_wake_op},
        {"futex_lock_pi", skel->progs.fexit_futex_lock_pi},
        {"futex_unlock_pi", skel->progs.fexit_futex_unlock_pi},
    };
    if (peer::tracer_available("function")) {
        std::set<std::string> wanted;
        for (auto& [sym, prog] : ftraces)
            wanted.insert(sym);
        std::ifstream kallsyms("/proc/kallsyms");
        std::string addr, type, sym, line;
        std::set<std::string> found;
        while (kallsyms >> addr >> type >> sym && std::getline(kallsyms, line))
            if (wanted.count(sym))
                found.insert(sym);
        if (found.size() == wanted.size()) {
            for (auto& [s, prog] : ftraces)
                bpf_program__set_autoload(prog, true);
            std::fprintf(stderr, "lavd_loader: futex boost through fexit\n");
            return;
        }
    }
    std::vector<std::pair<const char*, bpf_program*>> tracepoints = {
        {"syscalls:sys_enter_futex", skel->progs.rtp_sys_enter_futex},
        {"syscalls:sys_exit_futex", skel->progs.rtp_sys_exit_futex},
        {"syscalls:sys_exit_futex_wait", skel->progs.rtp_sys_exit_futex_wait},
        {"syscalls:sys_exit_futex_waitv", skel->progs.rtp_sys_exit_futex_waitv},
        {"syscalls:sys_exit_futex_wake", skel->progs.rtp_sys_exit_futex_wake},
    };
    for (auto& [tp, prog] : tracepoints)
        if (!peer::tracepoint_exists(tp)) {
            std::fprintf(stderr, "lavd_loader: no futex boost (tracepoint %s missing)\n", tp);
            return;
        }
    for (auto& [tp, prog] : tracepoints)
        bpf_program__set_autoload(prog, true);
    std::fprintf(stderr, "lavd_loader: futex boost through tracepoints\n");
}

void enable_execve_tracepoints(Skel* skel) {
    std::vector<std::pair<const char*, bpf_program*>> tracepoints = {
        {"syscalls:sys_enter_execve", skel->progs.cond_hook_sys_enter_execve},
        {"syscalls:sys_enter_execveat", skel->progs.cond_hook_sys_enter_execveat},
    };
    for (auto& [tp, prog] : tracepoints)
        if (!peer::tracepoint_exists(tp))
            return;
    for (auto& [tp, prog] : tracepoints)
        bpf_program__set_autoload(prog, true);
}

void init_pco_tuple(Skel* skel, size_t i, const PerfCpuOrder& pco) {
    auto* rodata = skel->rodata;
    rodata->pco_bounds[i] = uint32_t(pco.perf_cap);
    rodata->pco_nr_primary[i] = uint16_t(pco.cpus_perf.size());
    size_t j = 0;
    for (size_t cpu : pco.cpus_perf)
        rodata->pco_table[i][j++] = uint16_t(cpu);
    for (size_t cpu : pco.cpus_ovflw)
        rodata->pco_table[i][j++] = uint16_t(cpu);
}

void init_cpus(Skel* skel, const CpuOrder& order) {
    auto* rodata = skel->rodata;
    for (const CpuId& c : order.cpuids) {
        rodata->cpu_capacity[c.cpu_adx] = uint16_t(c.cpu_cap);
        rodata->cpu_big[c.cpu_adx] = c.big_core;
        rodata->cpu_turbo[c.cpu_adx] = c.turbo_core;
        rodata->cpu_sibling[c.cpu_adx] = c.cpu_sibling;
    }
    size_t nr_pco_states = order.perf_cpu_order.size();
    if (nr_pco_states > lavd_intf::LAVD_PCO_STATE_MAX)
        throw LoaderError("too many performance vs. CPU order states");
    rodata->nr_pco_states = uint8_t(nr_pco_states);
    size_t i = 0;
    for (auto& [cap, pco] : order.perf_cpu_order) {
        init_pco_tuple(skel, i++, pco);
        std::fprintf(stderr, "lavd_loader: capacity bound %zu: primary %zu CPU(s), overflow %zu\n",
                     cap, pco.cpus_perf.size(), pco.cpus_ovflw.size());
    }
    for (; i < lavd_intf::LAVD_PCO_STATE_MAX; i++)
        init_pco_tuple(skel, i, order.perf_cpu_order.rbegin()->second);
}

void init_cpdoms(Skel* skel, const CpuOrder& order) {
    for (auto& [key, dom] : order.cpdoms) {
        auto& ctx = skel->bss->cpdom_ctxs[dom.id];
        ctx.id = dom.id;
        ctx.alt_id = dom.alt_id;
        ctx.numa_id = uint8_t(std::get<0>(key));
        ctx.llc_id = uint8_t(std::get<1>(key));
        ctx.is_big = std::get<4>(key);
        ctx.is_valid = 1;
        for (size_t cpu : dom.cpu_ids)
            ctx.__cpumask[cpu / 64] |= 1ull << (cpu % 64);
        if (dom.neighbors.size() > lavd_intf::LAVD_CPDOM_MAX_DIST)
            throw LoaderError("the processor topology is too complex to handle in BPF");
        size_t k = 0;
        for (auto& [d, ids] : dom.neighbors) {
            if (ids.size() > lavd_intf::LAVD_CPDOM_MAX_NR)
                throw LoaderError("the processor topology is too complex to handle in BPF");
            ctx.nr_neighbors[k] = uint8_t(ids.size());
            for (size_t i = 0; i < ids.size(); i++)
                ctx.neighbor_ids[k * lavd_intf::LAVD_CPDOM_MAX_NR + i] = uint8_t(ids[i]);
            k++;
        }
    }
}

void init_globals(Skel* skel, const Options& opts, const CpuOrder& order, int nr_cpu_ids) {
    auto* bss = skel->bss;
    bss->no_preemption = opts.no_preemption;
    bss->no_core_compaction = opts.no_core_compaction;
    bss->no_freq_scaling = opts.no_freq_scaling;
    bss->is_powersave_mode = opts.powersave;
    auto* rodata = skel->rodata;
    rodata->nr_llcs = order.nr_llcs;
    rodata->nr_cpu_ids = uint32_t(nr_cpu_ids);
    rodata->is_smt_active = order.smt_enabled;
    rodata->is_autopilot_on = opts.autopilot;
    rodata->verbose = opts.verbose;
    rodata->slice_max_ns = opts.slice_max_us * 1000;
    rodata->slice_min_ns = opts.slice_min_us * 1000;
    rodata->pinned_slice_ns = opts.pinned_slice_us * 1000;
    rodata->preempt_shift = opts.preempt_shift;
    rodata->lat_load_target_pct = opts.lat_load_target_pct;
    rodata->mig_delta_pct = opts.mig_delta_pct;
    rodata->warm_cpu_ns = opts.warm_cpu_us * 1000;
    rodata->lb_low_util_wall = (uint64_t(opts.lb_low_util_pct) << 10) / 100;
    rodata->lb_local_dsq_util_wall = (uint64_t(opts.lb_local_dsq_util_pct) << 10) / 100;
    rodata->no_use_em = opts.no_use_em;
    rodata->no_fast_lb = opts.no_fast_lb;
    rodata->no_wake_sync = opts.no_wake_sync;
    rodata->no_slice_boost = opts.no_slice_boost;
    rodata->per_cpu_dsq = opts.per_cpu_dsq;
    rodata->enable_cpu_bw = opts.enable_cpu_bw;

    auto* ops = skel->struct_ops.lavd_ops;
    if (!peer::ksym_exists("scx_group_set_bandwidth")) {
        ops->cgroup_set_bandwidth = nullptr;
        std::fprintf(
            stderr,
            "lavd_loader: kernel does not support ops.cgroup_set_bandwidth(), so disable it\n");
    }
    // Kernels with the call-from-anywhere reenqueue: sched_switch hook instead of cpu_release.
    if (peer::ksym_exists("scx_bpf_reenqueue_local___v2")) {
        ops->cpu_release = nullptr;
        bpf_program__set_autoload(skel->progs.lavd_sched_switch, true);
    }
    ops->flags = SCX_OPS_ENQ_EXITING | SCX_OPS_ENQ_LAST | SCX_OPS_ENQ_MIGRATION_DISABLED |
                 SCX_OPS_KEEP_BUILTIN_IDLE;
    if (opts.partial)
        ops->flags |= SCX_OPS_SWITCH_PARTIAL;
}

// resize_cgroup_bw_llc_map(): one cbw_cgrp_llc_map entry per (cgroup, LLC).
void resize_cgroup_bw_llc_map(Skel* skel, size_t nr_llcs) {
    uint32_t cgrp_max = bpf_map__max_entries(skel->maps.cbw_cgrp_map);
    if (int err =
            bpf_map__set_max_entries(skel->maps.cbw_cgrp_llc_map, uint32_t(cgrp_max * nr_llcs)))
        throw LoaderError("cannot size cbw_cgrp_llc_map: " + peer::errno_text(err));
}

// --plan: what init_cpus()/init_cpdoms() would write for this topology.
void print_plan(const peer::Topology& topo) {
    CpuOrder order = build_cpu_order(topo);
    std::vector<size_t> pf, sib;
    for (auto& c : order.cpuids) {
        pf.push_back(c.cpu_adx);
        sib.push_back(c.cpu_sibling);
    }
    std::vector<size_t> ps;
    for (auto& c : build_topo_order(topo, true))
        ps.push_back(c.cpu_adx);
    std::cout << std::boolalpha << "{\"nr_cpu_ids\":" << topo.nr_cpu_ids
              << ",\"nr_llcs\":" << order.nr_llcs << ",\"smt\":" << order.smt_enabled
              << ",\"performance_order\":" << peer::json_list(pf)
              << ",\"powersave_order\":" << peer::json_list(ps)
              << ",\"sibling_of_performance_order\":" << peer::json_list(sib) << ",\"cpdoms\":[";
    bool first = true;
    for (auto& [key, dom] : order.cpdoms) {
        std::cout << (first ? "" : ",") << "{\"id\":" << dom.id << ",\"alt_id\":" << dom.alt_id
                  << ",\"numa\":" << std::get<0>(key) << ",\"llc\":" << std::get<1>(key)
                  << ",\"llc_kernel_id\":" << std::get<3>(key) << ",\"big\":" << std::get<4>(key)
                  << ",\"cpus\":" << peer::json_list(dom.cpu_ids) << ",\"neighbors\":{";
        bool f2 = true;
        for (auto& [d, ids] : dom.neighbors) {
            std::cout << (f2 ? "" : ",") << "\"" << d << "\":" << peer::json_list(ids);
            f2 = false;
        }
        std::cout << "}}";
        first = false;
    }
    std::cout << "],\"pco\":[";
    first = true;
    for (auto& [cap, pco] : order.perf_cpu_order) {
        std::cout << (first ? "" : ",") << "{\"bound\":" << cap
                  << ",\"primary\":" << peer::json_list(pco.cpus_perf)
                  << ",\"overflow\":" << peer::json_list(pco.cpus_ovflw) << "}";
        first = false;
    }
    std::cout << "]}" << std::endl;
}

void print_counters(Skel* skel, const char* when) {
    static const std::set<std::string_view> wanted = {
        "sys_stat",   "performance_mode_ns", "balanced_mode_ns", "powersave_mode_ns",
        "power_mode", "nr_cpus_onln",        "nr_cpdoms"};
    peer::JsonDump dump(skel->obj);
    std::string counters =
        dump.section(".bss", skel->bss, [](std::string_view n) { return wanted.count(n) > 0; });
    std::cout << "{\"peer\":\"lavd\",\"when\":\"" << when << "\",\"counters\":" << counters << "}"
              << std::endl;
}

int run(bool plan_only) {
    Options opts;
    if (plan_only) {
        print_plan(peer::read_topology());
        // The counters' JSON shape, from the opened (not loaded) object's zeroed .bss.
        print_counters(peer::open_skeleton<Skel>("lavd").get(), "plan");
        return 0;
    }
    // The folder exists on any kernel with the EM framework; a model has performance domains
    // (pd0, pd1...) in it. x86 and the QEMU guest have none.
    if (access("/sys/kernel/debug/energy_model/pd0", F_OK) == 0)
        std::fprintf(stderr,
                     "lavd_loader: this kernel has an energy model; it is not used (README.md)\n");
    peer::raise_memlock_rlimit();
    uint64_t hotplug_seq = peer::require_sched_ext();

    peer::Topology topo = peer::read_topology();
    if (topo.nr_cpu_ids > lavd_intf::LAVD_CPU_ID_MAX)
        throw LoaderError("possible CPU ids (" + std::to_string(topo.nr_cpu_ids) +
                          ") exceed LAVD_CPU_ID_MAX");

    auto skel = peer::open_skeleton<Skel>("lavd");
    auto* ops = skel->struct_ops.lavd_ops;
    ops->hotplug_seq = hotplug_seq;
    peer_enum_init(skel.get());
    peer_ops_compat(ops);

    if (!opts.no_futex_boost)
        enable_futex_boost(skel.get());
    CpuOrder order = build_cpu_order(topo);
    init_cpus(skel.get(), order);
    init_cpdoms(skel.get(), order);
    if (order.cpdoms.size() > 1)
        enable_execve_tracepoints(skel.get());
    init_globals(skel.get(), opts, order, topo.nr_cpu_ids);
    resize_cgroup_bw_llc_map(skel.get(), order.nr_llcs);
    std::fprintf(
        stderr,
        "lavd_loader: %zu CPUs, %zu LLC(s), %zu compute domain(s), SMT %s, scheduler flags %#llx\n",
        topo.cpus.size(), order.nr_llcs, order.cpdoms.size(), order.smt_enabled ? "on" : "off",
        (unsigned long long)ops->flags);

    peer_set_uei_size(skel.get(), 0);
    peer::load_skeleton(skel.get(), "lavd");
    peer::ArenaSetup<Skel, lavd_bpf::arena_init_args, lavd_bpf::arena_topology_init_args,
                     lavd_bpf::arena_alloc_mask_args, lavd_bpf::arena_topology_node_init_args>(
        skel.get(), topo)
        .run(peer::btf_struct_size(skel->obj, "task_ctx"));

    // Scheduler::run(): neither --performance nor --powersave, so the balanced profile (the
    // Rust loader ignores the result too).
    auto set_power_profile = [&] {
        lavd_bpf::power_arg power{};
        power.power_mode = lavd_intf::LAVD_PM_BALANCED;
        if (int ret = peer::run_syscall_prog(skel->progs.set_power_profile, &power, sizeof(power)))
            std::fprintf(stderr, "lavd_loader: set_power_profile(balanced) returned %d\n", ret);
    };
    return peer::attach_until_stopped(
        skel.get(), skel->maps.lavd_ops, "lavd",
        [&](const char* when) { print_counters(skel.get(), when); }, set_power_profile);
}

}  // namespace

int main(int argc, char** argv) { return peer::loader_main(argc, argv, "lavd", run); }
