// Owns the framepace BPF scheduler while it is loaded: the skeleton (programs and maps) and
// the struct_ops link that keeps it attached. Destroying the handle detaches the scheduler.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "daemon/scheduler/class_map.h"
#include "daemon/scheduler/counters.h"
#include "daemon/scheduler/exit_info.h"
#include "common/expected.h"
#include "bpf/framepace_shared.h"
#include "daemon/scheduler/topology.h"
#include "common/unique_fd.h"

struct framepace_bpf;  // bpftool's skeleton
struct bpf_link;

namespace framepace {

// The descriptors that keep a scheduler alive and reachable across a daemon restart, by name:
// "link" (the struct_ops link) and "map.<name>" for every map but the struct_ops one.
using KeptFds = std::map<std::string, UniqueFd>;

class SchedulerHandle final : public ClassMap {
public:
    // Opens, sizes to the topology, loads (verifier) and attaches. On failure nothing stays
    // loaded and the error says which step failed.
    static Expected<std::unique_ptr<SchedulerHandle>> load_and_attach(const Topology& topology,
                                                                      const fp_tunables& tunables,
                                                                      uint64_t generation,
                                                                      uint32_t ring_bytes);
    // Takes over a framepace scheduler that an earlier daemon attached and kept: reuses its
    // maps, leaves its link (and so the running scheduler) untouched, and bumps its
    // generation. Fails without side effects if the fds are not a compatible framepace.
    static Expected<std::unique_ptr<SchedulerHandle>> adopt(const KeptFds& kept);

    // The layout version recorded by a kept scheduler (from its "meta" map).
    static Expected<uint64_t> kept_layout_version(const KeptFds& kept);

    // How a kept scheduler ended, from its own record (the exit_info its ops.exit wrote), or
    // nullopt while it has not: an ejection that no daemon saw (the one that kept it died
    // first, or systemd killed it while RT tasks starved it with the scheduler).
    static Expected<std::optional<ExitInfo>> kept_exit_info(const KeptFds& kept);

    // Detaches a kept scheduler that will not be adopted (an upgrade).
    static Status detach_kept(const KeptFds& kept);

    ~SchedulerHandle() override;
    SchedulerHandle(const SchedulerHandle&) = delete;
    SchedulerHandle& operator=(const SchedulerHandle&) = delete;

    Expected<CounterTotals> read_counters() const;
    Status reset_counters();
    Status write_tunables(const fp_tunables& tunables);

    // Every task with scheduler state, read through the BPF task iterator.
    Expected<std::vector<fp_task_record>> list_tasks() const;

    uint64_t generation() const;

    // The event rings (FP_NR_RINGS of ring_bytes() each) and their per-ring counters.
    std::array<int, FP_NR_RINGS> ring_fds() const;
    uint32_t ring_bytes() const { return ring_bytes_; }
    struct RingTotals {
        std::array<uint64_t, FP_NR_RINGS> produced{}, dropped{};
        uint64_t dropped_total() const {
            return std::accumulate(dropped.begin(), dropped.end(), uint64_t{0});
        }
    };
    Expected<RingTotals> read_ring_counters() const;
    // Runs of the exec and exit hooks that the kernel skipped because the same hook was
    // already running on that CPU (bpf_prog_info.recursion_misses, kernels from 6.7): their
    // events are lost without a ring drop.
    struct HookMisses {
        uint64_t exec = 0, exit = 0;
        uint64_t total() const { return exec + exit; }
    };
    Expected<HookMisses> read_hook_misses() const;
    Expected<fp_tunables> read_tunables() const;

    // Heartbeat for the boost gate: CLOCK_MONOTONIC ns, one store into BPF.
    void heartbeat(uint64_t now_ns);
    // Before the system sleeps: closes any input-boost window and refuses new ones until the
    // next heartbeat (input while suspending or resuming must not preempt anyone).
    void quiesce();

    // framepaced's decisions by tgid in the "classes" map; the scheduler's tasks re-read
    // their class after each change. replace_classes makes the map exactly `classes`.
    Status set_class(uint32_t tgid, fp_class class_id) override;
    Status clear_class(uint32_t tgid) override;
    Status replace_classes(const std::map<uint32_t, fp_class>& classes) override;
    // How many tgids the map holds (max_entries).
    size_t class_capacity() const override;

    // The load tracker: smoothed share of busy CPUs, and whether the shared queue is in use.
    uint32_t util_pct() const;
    bool shared_mode() const;
    // False when this kernel has no input_event to hook: no input boost.
    bool input_hooked() const { return input_hook_ != nullptr; }

    // The descriptors to keep (borrowed; valid while this handle lives), named as in KeptFds.
    std::vector<std::pair<std::string, int>> keepable_fds() const;

    // Set once ops.exit has run: after detach(), or when the kernel ejected the scheduler.
    std::optional<ExitInfo> exit_info() const;

    // Polls EPOLLHUP when the kernel tears the link down.
    int link_fd() const { return link_.get(); }
    // The kernel's id of the struct_ops link: names this scheduler's fd store entries.
    Expected<uint32_t> link_id() const;
    bool attached() const { return link_.valid(); }

    // Unregisters the scheduler, also when other references to the link exist (the fd
    // store). The kernel runs ops.exit before this returns.
    void detach();

private:
    struct SkeletonDeleter {
        void operator()(struct ::framepace_bpf* skel) const;
    };
    struct LinkDeleter {
        void operator()(bpf_link* link) const;
    };

    SchedulerHandle() = default;
    Status open_and_load(const std::function<Status(struct ::framepace_bpf*)>& configure);
    Status attach_helpers();
    void classes_changed();
    Status create_rings(uint32_t bytes);
    Status find_rings();

    std::unique_ptr<struct ::framepace_bpf, SkeletonDeleter> skel_;
    UniqueFd link_;
    std::unique_ptr<bpf_link, LinkDeleter> task_iter_, exec_hook_, exit_hook_, input_hook_,
        input_exit_hook_;
    std::array<UniqueFd, FP_NR_RINGS> rings_;
    uint32_t ring_bytes_ = 0;
};

}  // namespace framepace
