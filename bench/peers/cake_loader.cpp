// SPDX-License-Identifier: GPL-2.0-only (follows the GPL-2.0 userspace of sched-ext/scx; bench only)
// cake_loader: loads scx_cake's BPF scheduler (sched-ext/scx, GPL-2.0) the way its Rust
// userspace (scheds/rust/scx_cake/src/main.rs, topology.rs) does with no options given (the
// gaming profile, a release build), for the topology at hand, attaches it and stays until
// SIGINT/SIGTERM. A benchmark tool: see README.md for what differs from the Rust original.
//
//   cake_loader         attach, print "attached"; SIGUSR1 prints per-CPU state as one JSON line
//                       (a release build compiles cake's own statistics out), SIGINT/SIGTERM
//                       detach, print it once more and exit 0
//   cake_loader --plan  print what the set-up would write for this topology (no BPF)
#include "peer_loader.h"

#include <climits>
#include <iostream>

namespace cake_bpf {
#include "cake.types.h"
#include "cake.skel.h"
}  // namespace cake_bpf

// struct cake_task_ctx, as the Rust side's bpf_intf (built with the BPF flags, -DCAKE_RELEASE).
#pragma push_macro("__VMLINUX_H__")
#undef __VMLINUX_H__
#define _Static_assert static_assert  // C11 spelling in intf.h
namespace cake_intf {
#include "intf.h"
}  // namespace cake_intf
#undef _Static_assert
#pragma pop_macro("__VMLINUX_H__")

namespace {

using Skel = cake_bpf::cake;
using peer::LoaderError;

// --profile gaming (main.rs:117-120) and its values (Profile::values, main.rs:52-66).
constexpr uint64_t kQuantumUs = 2000, kNewFlowBonusUs = 8000;
constexpr size_t kMaxCpus = 64, kMaxLlcs = 8;  // topology.rs MAX_CPUS, MAX_LLCS

// topology.rs TopologyInfo: what detect() derives from scx_utils' Topology.
struct CakeTopology {
    size_t nr_cpus = 0, nr_phys_cpus = 0;
    bool smt_enabled = false, has_dual_ccd = false, has_vcache = false;
    uint8_t cpu_sibling_map[kMaxCpus];
    uint8_t cpu_llc_id[kMaxCpus] = {};
    uint64_t core_cpu_mask[32] = {};
    uint64_t llc_cpu_mask[kMaxLlcs] = {};
    uint64_t big_core_phys_mask = 0, big_core_smt_mask = 0, little_core_mask = 0,
             vcache_llc_mask = 0;
};

CakeTopology detect(const peer::Topology& topo) {
    CakeTopology info;
    info.nr_cpus = topo.cpus.size();
    std::map<size_t, std::vector<int>> llcs, cores;  // all_llcs / all_cores, by id
    for (auto& [id, c] : topo.cpus) {
        llcs[c.llc_id].push_back(id);
        cores[c.core_id].push_back(id);
    }
    info.nr_phys_cpus = cores.size();
    info.has_dual_ccd = llcs.size() > 1;
    info.smt_enabled = topo.smt_active;
    for (size_t i = 0; i < kMaxCpus; i++)
        info.cpu_sibling_map[i] = uint8_t(i);
    std::vector<int> siblings = topo.sibling_cpus();
    for (size_t cpu = 0; cpu < siblings.size() && cpu < kMaxCpus; cpu++)
        if (siblings[cpu] >= 0 && size_t(siblings[cpu]) < kMaxCpus)
            info.cpu_sibling_map[cpu] = uint8_t(siblings[cpu]);

    size_t llc_idx = 0;
    for (auto& [id, cpus] : llcs) {
        if (llc_idx >= kMaxLlcs)
            break;
        for (int cpu : cpus)
            if (size_t(cpu) < kMaxCpus) {
                info.cpu_llc_id[cpu] = uint8_t(llc_idx);
                info.llc_cpu_mask[llc_idx] |= 1ull << cpu;
            }
        llc_idx++;
    }
    for (auto& [core_id, cpus] : cores) {
        bool big = topo.cpus.at(cpus[0]).big;
        size_t thread = 0;
        for (int cpu : cpus) {
            if (size_t(cpu) >= kMaxCpus)
                continue;
            if (core_id < 32)
                info.core_cpu_mask[core_id] |= 1ull << cpu;
            if (big)
                (thread == 0 ? info.big_core_phys_mask : info.big_core_smt_mask) |= 1ull << cpu;
            else
                info.little_core_mask |= 1ull << cpu;
            thread++;
        }
    }
    // V-Cache: an LLC whose first CPU sees more than twice the cache of another LLC's.
    size_t max_size = 0, max_llc = 0;
    for (auto& [id, cpus] : llcs) {
        size_t size = topo.cpus.at(cpus[0]).cache_size;
        if (size > max_size) {
            max_size = size;
            max_llc = id;
        }
    }
    if (info.has_dual_ccd)
        for (auto& [id, cpus] : llcs) {
            size_t expected = topo.cpus.at(cpus[0]).cache_size;
            if (expected > 0 && max_size > expected * 2) {
                info.has_vcache = true;
                if (max_llc < kMaxLlcs)
                    info.vcache_llc_mask = info.llc_cpu_mask[max_llc];
            }
        }
    return info;
}

// Core steering order (main.rs): amd_pstate_prefcore_ranking, highest first, each CPU followed
// by its SMT sibling.
std::vector<uint8_t> fast_to_slow(const CakeTopology& info) {
    size_t nr = std::min<size_t>(info.nr_cpus, 256);
    std::vector<std::pair<size_t, uint64_t>> rankings;
    for (size_t cpu = 0; cpu < nr; cpu++)
        rankings.emplace_back(
            cpu, peer::read_u64(peer::sysfs("/sys/devices/system/cpu/cpu" + std::to_string(cpu) +
                                            "/cpufreq/amd_pstate_prefcore_ranking"))
                     .value_or(100));
    std::stable_sort(rankings.begin(), rankings.end(), [](auto& a, auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    std::vector<uint8_t> order;
    std::vector<bool> used(nr, false);
    for (auto& [cpu, rank] : rankings) {
        if (used[cpu])
            continue;
        order.push_back(uint8_t(cpu));
        used[cpu] = true;
        size_t sib = cpu < kMaxCpus ? info.cpu_sibling_map[cpu] : 0xff;
        if (sib < nr && !used[sib]) {
            order.push_back(uint8_t(sib));
            used[sib] = true;
        }
    }
    return order;
}

// Audio daemons, their PipeWire clients, and compositors, found by name in /proc (main.rs).
std::vector<uint32_t> pids_named(const std::set<std::string>& comms, size_t limit) {
    std::vector<uint32_t> out;
    for (auto& [name, pid] : peer::numbered_entries("/proc", "")) {
        if (out.size() >= limit)
            break;
        if (comms.count(peer::read_value("/proc/" + name + "/comm").value_or("")))
            out.push_back(uint32_t(pid));
    }
    return out;
}

std::vector<uint32_t> audio_tgids() {
    std::vector<uint32_t> tgids = pids_named(
        {"pipewire", "wireplumber", "pipewire-pulse", "pulseaudio", "jackd", "jackdbus"}, SIZE_MAX);
    // Processes holding a socket connected to this user's PipeWire socket, up to 8 in all.
    std::string socket_path = "/run/user/" + std::to_string(getuid()) + "/pipewire-0";
    std::set<std::string> inodes;
    std::ifstream unix_sockets("/proc/net/unix");
    std::string line;
    std::getline(unix_sockets, line);
    while (std::getline(unix_sockets, line)) {
        if (line.size() < socket_path.size() ||
            (line.compare(line.size() - socket_path.size(), socket_path.size(), socket_path) != 0 &&
             line.find(socket_path + " ") == std::string::npos))
            continue;
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string w; fields >> w;)
            f.push_back(w);
        if (f.size() >= 7 && f[6] != "0")
            inodes.insert(f[6]);
    }
    if (inodes.empty())
        return tgids;
    std::set<uint32_t> seen(tgids.begin(), tgids.end());
    for (auto& [name, pid] : peer::numbered_entries("/proc", "")) {
        if (tgids.size() >= 8)
            break;
        if (seen.count(uint32_t(pid)))
            continue;
        for (auto& [fd, n] : peer::numbered_entries("/proc/" + name + "/fd", "")) {
            char target[128];
            ssize_t len =
                readlink(("/proc/" + name + "/fd/" + fd).c_str(), target, sizeof(target) - 1);
            if (len <= 0)
                continue;
            std::string t(target, size_t(len));
            if (t.rfind("socket:[", 0) == 0 && t.back() == ']' &&
                inodes.count(t.substr(8, t.size() - 9))) {
                tgids.push_back(uint32_t(pid));
                seen.insert(uint32_t(pid));
                break;
            }
        }
    }
    return tgids;
}

void print_plan(const CakeTopology& info) {
    std::vector<uint64_t> llc(std::begin(info.llc_cpu_mask), std::end(info.llc_cpu_mask));
    std::vector<int> sib(info.cpu_sibling_map,
                         info.cpu_sibling_map + std::min(info.nr_cpus, kMaxCpus));
    std::cout << std::boolalpha << "{\"nr_cpus\":" << info.nr_cpus
              << ",\"nr_phys_cpus\":" << info.nr_phys_cpus
              << ",\"llc_cpu_mask\":" << peer::json_list(llc)
              << ",\"cpu_sibling_map\":" << peer::json_list(sib)
              << ",\"big_core_phys_mask\":" << info.big_core_phys_mask
              << ",\"big_core_smt_mask\":" << info.big_core_smt_mask
              << ",\"little_core_mask\":" << info.little_core_mask
              << ",\"has_vcache\":" << info.has_vcache
              << ",\"fast_to_slow\":" << peer::json_list(fast_to_slow(info)) << "}" << std::endl;
}

// A release build has no statistics: per-CPU state that moves only while cake schedules.
void print_counters(Skel* skel, const peer::Topology& topo, const char* when) {
    std::vector<uint64_t> run_start, vtime, last_pid;
    for (auto& [cpu, c] : topo.cpus) {
        run_start.push_back(skel->bss->cpu_bss[cpu].run_start);  // cake_running(), every run
        vtime.push_back(skel->bss->cpu_bss[cpu].vtime_local);
        last_pid.push_back(skel->bss->cpu_bss[cpu].last_pid);
    }
    std::vector<int> cpus;
    for (auto& [cpu, c] : topo.cpus)
        cpus.push_back(cpu);
    std::cout << "{\"peer\":\"cake\",\"when\":\"" << when
              << "\",\"counters\":{\"cpus\":" << peer::json_list(cpus)
              << ",\"cpu_run_start\":" << peer::json_list(run_start)
              << ",\"cpu_vtime_local\":" << peer::json_list(vtime)
              << ",\"cpu_last_pid\":" << peer::json_list(last_pid)
              << ",\"sched_state\":" << skel->bss->sched_state
              << ",\"game_tgid\":" << skel->bss->game_tgid
              << ",\"quantum_ceiling_ns\":" << skel->bss->quantum_ceiling_ns << "}}" << std::endl;
}

int run(bool plan_only) {
    if (plan_only) {
        print_plan(detect(peer::read_topology()));
        return 0;
    }
    peer::raise_memlock_rlimit();
    uint64_t hotplug_seq = peer::require_sched_ext();
    peer::Topology topo = peer::read_topology();
    CakeTopology info = detect(topo);

    auto skel = peer::open_skeleton<Skel>("cake");
    auto* ops = skel->struct_ops.cake_ops;
    ops->hotplug_seq = hotplug_seq;
    peer_ops_compat(ops);
    peer_enum_init(skel.get());

    auto* rodata = skel->rodata;
    rodata->quantum_ns = kQuantumUs * 1000;
    rodata->new_flow_bonus_ns = kNewFlowBonusUs * 1000;
    uint32_t llc_count =
        uint32_t(std::count_if(std::begin(info.llc_cpu_mask), std::end(info.llc_cpu_mask),
                               [](uint64_t m) { return m != 0; }));
    rodata->nr_llcs = std::max<uint32_t>(llc_count, 1);
    rodata->nr_cpus = uint32_t(std::min<size_t>(info.nr_cpus, 256));
    rodata->nr_phys_cpus = uint32_t(std::min<size_t>(info.nr_phys_cpus, 256));
    rodata->big_core_phys_mask[0] = info.big_core_phys_mask;
    rodata->big_core_smt_mask[0] = info.big_core_smt_mask;
    rodata->little_core_mask[0] = info.little_core_mask;
    rodata->vcache_llc_mask[0] = info.vcache_llc_mask;
    rodata->has_vcache = info.has_vcache;
    rodata->has_hybrid_cores =
        info.big_core_phys_mask != 0;  // sic: main.rs sets it for any big core
    for (size_t i = 0; i < kMaxCpus; i++) {
        rodata->cpu_sibling_map[i] = info.cpu_sibling_map[i];
        rodata->cpu_llc_id[i] = info.cpu_llc_id[i];
    }
    for (size_t i = 0; i < kMaxLlcs; i++)
        rodata->llc_cpu_mask[i] = info.llc_cpu_mask[i];
    for (size_t i = 0; i < 32; i++)
        rodata->core_cpu_mask[i] = info.core_cpu_mask[i];
    std::vector<uint8_t> order = fast_to_slow(info);
    for (size_t i = 0; i < 64; i++) {
        rodata->cpus_fast_to_slow[i] = i < order.size() ? order[i] : 0xff;
        rodata->cpus_slow_to_fast[i] = i < order.size() ? order[order.size() - 1 - i] : 0xff;
    }
    for (size_t cpu = 0; cpu < std::min<size_t>(info.nr_cpus, 256); cpu++)
        rodata->cpuperf_cap_table[cpu] =
            uint32_t(peer::read_u64(peer::sysfs("/sys/devices/system/cpu/cpu" +
                                                std::to_string(cpu) + "/cpu_capacity"))
                         .value_or(1024));
    rodata->nr_cpu_ids = uint32_t(topo.nr_cpu_ids);
    std::vector<uint32_t> audio = audio_tgids();
    size_t nr_audio = std::min(audio.size(), std::size(rodata->audio_tgids));
    rodata->nr_audio_tgids = uint32_t(nr_audio);
    for (size_t i = 0; i < nr_audio; i++)
        rodata->audio_tgids[i] = audio[i];
    std::vector<uint32_t> compositors =
        pids_named({"kwin_wayland", "kwin_x11", "mutter", "gnome-shell", "sway", "Hyprland",
                    "weston", "labwc", "wayfire", "river", "gamescope"},
                   4);
    rodata->nr_compositor_tgids = uint32_t(compositors.size());
    for (size_t i = 0; i < compositors.size(); i++)
        rodata->compositor_tgids[i] = compositors[i];
    std::fprintf(stderr,
                 "cake_loader: %zu CPUs, %u LLC(s), %zu cores, SMT %s, %zu audio and %zu "
                 "compositor process(es)\n",
                 info.nr_cpus, rodata->nr_llcs, info.nr_phys_cpus, info.smt_enabled ? "on" : "off",
                 nr_audio, compositors.size());

    peer_set_uei_size(skel.get(), 0);
    peer::load_skeleton(skel.get(), "cake");
    peer::ArenaSetup<Skel, cake_bpf::arena_init_args, cake_bpf::arena_topology_init_args,
                     cake_bpf::arena_alloc_mask_args, cake_bpf::arena_topology_node_init_args>(
        skel.get(), topo)
        .run(sizeof(cake_intf::cake_task_ctx));
    skel->bss->quantum_ceiling_ns = 2'000'000;  // AQ_BULK_CEILING_NS

    return peer::attach_until_stopped(
        skel.get(), skel->maps.cake_ops, "cake",
        [&](const char* when) { print_counters(skel.get(), topo, when); });
}

}  // namespace

int main(int argc, char** argv) { return peer::loader_main(argc, argv, "cake", run); }
