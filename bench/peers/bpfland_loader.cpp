// SPDX-License-Identifier: GPL-2.0-only (follows the GPL-2.0 userspace of sched-ext/scx; bench only)
// bpfland_loader: loads scx_bpfland's BPF scheduler (sched-ext/scx, GPL-2.0) the way its Rust
// userspace (scheds/rust/scx_bpfland/src/main.rs) does with no options given, for the
// topology at hand, attaches it and stays until SIGINT/SIGTERM. A benchmark tool: see
// README.md for what differs from the Rust original and why.
//
//   bpfland_loader         attach, print "attached"; SIGUSR1 prints the counters as one JSON
//                          line, SIGINT/SIGTERM detach, print them once more and exit 0
//   bpfland_loader --plan  print what the set-up would write for this topology (no BPF; works
//                          without sched_ext and with $PEER_SYSFS_ROOT)
#include "peer_loader.h"

#include <iostream>

namespace bpfland_bpf {
#include "bpfland.types.h"
#include "bpfland.skel.h"
}  // namespace bpfland_bpf

namespace {

using Skel = bpfland_bpf::bpfland;

constexpr size_t kMaxCpus = sizeof(Skel::bpfland__rodata::cpu_capacity) / sizeof(uint64_t);

// The defaults of main.rs's Opts (line numbers in README.md).
struct Options {
    uint32_t exit_dump_len = 0;
    uint64_t slice_us = 1000;
    uint64_t slice_min_us = 0;
    uint64_t slice_us_lag = 40000;
    uint64_t throttle_us = 0;
    bool local_pcpu = false;
    bool local_kthreads = false;
    bool no_wake_sync = false;
    bool sticky_tasks = false;
    bool preferred_idle_scan = false;
    bool disable_smt = false;
    bool disable_numa = false;
    bool cpufreq = false;
    bool timely = false;
    uint64_t timely_tlow_us = 5000;
    uint64_t timely_thigh_us = 50000;
    uint32_t timely_gain_min = 128;
    uint32_t timely_gain_step = 32;
    uint32_t timely_hai_thresh = 768;
    uint32_t timely_hai_multiplier = 2;
    uint32_t timely_backoff_low = 768;
    uint32_t timely_backoff_high = 960;
    uint32_t timely_backoff_gradient = 992;
    uint64_t timely_gradient_margin_us = 125;
    uint64_t timely_control_interval_us = 500;
    bool debug = false;
};

void print_counters(Skel* skel, const char* when) {
    peer::JsonDump dump(skel->obj);
    std::string counters =
        dump.section(".bss", skel->bss, [](std::string_view n) { return n.substr(0, 3) == "nr_"; });
    std::cout << "{\"peer\":\"bpfland\",\"when\":\"" << when << "\",\"counters\":" << counters
              << "}" << std::endl;
}

void enable_primary_cpu(Skel* skel, int cpu) {
    bpfland_bpf::cpu_arg arg{};
    arg.cpu_id = cpu;
    int ret = peer::run_syscall_prog(skel->progs.enable_primary_cpu, &arg, sizeof(arg));
    if (ret)
        throw peer::LoaderError("enable_primary_cpu(" + std::to_string(cpu) + ") returned " +
                                std::to_string(ret));
}

void enable_sibling_cpu(Skel* skel, int cpu, int sibling) {
    bpfland_bpf::domain_arg arg{};
    arg.cpu_id = cpu;
    arg.sibling_cpu_id = sibling;
    int ret = peer::run_syscall_prog(skel->progs.enable_sibling_cpu, &arg, sizeof(arg));
    if (ret)
        throw peer::LoaderError("enable_sibling_cpu(" + std::to_string(cpu) + ", " +
                                std::to_string(sibling) + ") returned " + std::to_string(ret));
}

// What Scheduler::init() derives from the topology before it touches the BPF object.
struct Plan {
    bool smt_enabled = false;
    bool numa_enabled = false;
    std::vector<int> domain;  // primary scheduling domain
    bool primary_all = false;  // domain.weight() == NR_CPU_IDS
    std::vector<peer::Cpu> by_capacity;  // preferred_cpus order
    std::vector<int> siblings;  // enable_sibling_cpu() arguments, when SMT is on
};

Plan make_plan(const peer::Topology& topo, const Options& opts) {
    Plan plan;
    plan.smt_enabled = !opts.disable_smt && topo.smt_active;
    size_t nr_nodes = topo.tree.size();  // only nodes with online CPUs are in the tree
    plan.numa_enabled = !opts.disable_numa && nr_nodes > 1;
    // --primary-domain auto: every CPU unless a powersave profile picks LITTLE cores (README).
    plan.domain = topo.online;
    plan.primary_all = int(plan.domain.size()) == topo.nr_cpu_ids;
    // CPUs by capacity, highest first; a stable sort keeps equal ones in id order.
    for (auto& [id, cpu] : topo.cpus)
        plan.by_capacity.push_back(cpu);
    std::stable_sort(
        plan.by_capacity.begin(), plan.by_capacity.end(),
        [](const peer::Cpu& a, const peer::Cpu& b) { return a.capacity > b.capacity; });
    if (plan.smt_enabled)
        plan.siblings = topo.sibling_cpus();
    return plan;
}

void print_plan(const Plan& plan) {
    std::vector<int> preferred, capacity;
    for (auto& c : plan.by_capacity) {
        preferred.push_back(c.id);
        capacity.push_back(int(c.capacity));
    }
    std::cout << std::boolalpha << "{\"smt_enabled\":" << plan.smt_enabled
              << ",\"numa_enabled\":" << plan.numa_enabled
              << ",\"primary_domain\":" << peer::json_list(plan.domain)
              << ",\"primary_all\":" << plan.primary_all
              << ",\"preferred_cpus\":" << peer::json_list(preferred)
              << ",\"capacity_of_preferred\":" << peer::json_list(capacity)
              << ",\"sibling_cpus\":" << peer::json_list(plan.siblings) << "}" << std::endl;
}

int run(bool plan_only) {
    const Options opts;
    if (plan_only) {
        print_plan(make_plan(peer::read_topology(), opts));
        // The counters' JSON shape, from the opened (not loaded) object's zeroed .bss.
        print_counters(peer::open_skeleton<Skel>("bpfland").get(), "plan");
        return 0;
    }
    peer::raise_memlock_rlimit();
    uint64_t hotplug_seq = peer::require_sched_ext();
    peer::Topology topo = peer::read_topology();
    const Plan plan = make_plan(topo, opts);
    const bool smt_enabled = plan.smt_enabled, numa_enabled = plan.numa_enabled;

    auto skel = peer::open_skeleton<Skel>("bpfland");
    auto* ops = skel->struct_ops.bpfland_ops;
    ops->hotplug_seq = hotplug_seq;
    peer_enum_init(skel.get());
    peer_ops_compat(ops);
    ops->exit_dump_len = opts.exit_dump_len;

    auto* rodata = skel->rodata;
    rodata->debug = opts.debug;
    rodata->smt_enabled = smt_enabled;
    rodata->numa_enabled = numa_enabled;
    rodata->local_pcpu = opts.local_pcpu;
    rodata->no_wake_sync = opts.no_wake_sync;
    rodata->sticky_tasks = opts.sticky_tasks;
    rodata->slice_max = opts.slice_us * 1000;
    rodata->slice_min = opts.slice_min_us * 1000;
    rodata->slice_lag = opts.slice_us_lag * 1000;
    rodata->throttle_ns = opts.throttle_us * 1000;
    rodata->primary_all = plan.primary_all;

    rodata->timely_enabled = opts.timely;
    rodata->timely_tlow_ns = opts.timely_tlow_us * 1000;
    rodata->timely_thigh_ns = opts.timely_thigh_us * 1000;
    rodata->timely_gain_min_fp = opts.timely_gain_min;
    rodata->timely_gain_max_fp = 1024;
    rodata->timely_gain_step_fp = opts.timely_gain_step;
    rodata->timely_hai_thresh_fp = opts.timely_hai_thresh;
    rodata->timely_hai_multiplier = opts.timely_hai_multiplier;
    rodata->timely_backoff_low_fp = opts.timely_backoff_low;
    rodata->timely_backoff_high_fp = opts.timely_backoff_high;
    rodata->timely_backoff_gradient_fp = opts.timely_backoff_gradient;
    rodata->timely_gradient_margin_ns = opts.timely_gradient_margin_us * 1000;
    rodata->timely_control_interval_ns = opts.timely_control_interval_us * 1000;

    const auto& by_capacity = plan.by_capacity;
    for (size_t i = 0; i < by_capacity.size(); i++) {
        if (size_t(by_capacity[i].id) >= kMaxCpus)
            throw peer::LoaderError("CPU " + std::to_string(by_capacity[i].id) +
                                    " beyond bpfland's MAX_CPUS");
        rodata->cpu_capacity[by_capacity[i].id] = by_capacity[i].capacity;
        rodata->preferred_cpus[i] = by_capacity[i].id;
    }
    rodata->preferred_idle_scan = opts.preferred_idle_scan;
    rodata->local_kthreads = opts.local_kthreads || opts.throttle_us > 0;

    ops->flags = SCX_OPS_ENQ_EXITING | SCX_OPS_ENQ_LAST | SCX_OPS_ENQ_MIGRATION_DISABLED |
                 SCX_OPS_ALLOW_QUEUED_WAKEUP | (numa_enabled ? SCX_OPS_BUILTIN_IDLE_PER_NODE : 0);
    std::fprintf(stderr, "bpfland_loader: %d CPUs, SMT %s, NUMA %s, scheduler flags %#llx\n",
                 int(topo.cpus.size()), smt_enabled ? "on" : "off", numa_enabled ? "on" : "off",
                 (unsigned long long)ops->flags);

    peer_set_uei_size(skel.get(), opts.exit_dump_len);
    peer::load_skeleton(skel.get(), "bpfland");

    // init_energy_domain(): reset, then every CPU of the primary domain.
    enable_primary_cpu(skel.get(), -1);
    std::set<int> in_domain(plan.domain.begin(), plan.domain.end());
    for (int cpu = 0; cpu < topo.nr_cpu_ids; cpu++)
        if (in_domain.count(cpu))
            enable_primary_cpu(skel.get(), cpu);
    // init_cpufreq_perf(): "auto" domain without --cpufreq means the maximum level.
    skel->bss->cpufreq_perf_lvl = opts.cpufreq ? -1 : 1024;
    for (size_t cpu = 0; cpu < plan.siblings.size(); cpu++)  // init_smt_domains(), SMT only
        enable_sibling_cpu(skel.get(), int(cpu), plan.siblings[cpu]);

    return peer::attach_until_stopped(skel.get(), skel->maps.bpfland_ops, "bpfland",
                                      [&](const char* when) { print_counters(skel.get(), when); });
}

}  // namespace

int main(int argc, char** argv) { return peer::loader_main(argc, argv, "bpfland", run); }
