// Owns the framepace BPF scheduler while it is loaded: the skeleton (programs and maps) and
// the struct_ops link that keeps it attached. Destroying the handle detaches the scheduler.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "counters.h"
#include "exit_info.h"
#include "expected.h"
#include "framepace_shared.h"
#include "topology.h"

struct framepace_bpf;  // bpftool's skeleton
struct bpf_link;

namespace framepace {

class SchedulerHandle {
public:
    // Opens, sizes to the topology, loads (verifier) and attaches. On failure nothing stays
    // loaded and the error says which step failed.
    static Expected<std::unique_ptr<SchedulerHandle>> load_and_attach(const Topology& topology,
                                                                      const fp_tunables& tunables,
                                                                      uint64_t generation);
    ~SchedulerHandle();
    SchedulerHandle(const SchedulerHandle&) = delete;
    SchedulerHandle& operator=(const SchedulerHandle&) = delete;

    Expected<CounterTotals> read_counters() const;
    Status reset_counters();
    Status write_tunables(const fp_tunables& tunables);

    // Every task with scheduler state, read through the BPF task iterator.
    Expected<std::vector<fp_task_record>> list_tasks() const;

    uint64_t generation() const;

    // Set once ops.exit has run: after detach(), or when the kernel ejected the scheduler.
    std::optional<ExitInfo> exit_info() const;

    // Polls EPOLLHUP when the kernel tears the link down.
    int link_fd() const;
    bool attached() const { return link_ != nullptr; }

    // Unregisters the scheduler. The kernel runs ops.exit before this returns.
    void detach();

private:
    struct SkeletonDeleter {
        void operator()(struct ::framepace_bpf* skel) const;
    };
    struct LinkDeleter {
        void operator()(bpf_link* link) const;
    };

    SchedulerHandle() = default;

    std::unique_ptr<struct ::framepace_bpf, SkeletonDeleter> skel_;
    std::unique_ptr<bpf_link, LinkDeleter> link_;
    std::unique_ptr<bpf_link, LinkDeleter> task_iter_;
};

// Routes libbpf's messages (verifier logs included) into our log.
void route_libbpf_logs(bool verbose);

}  // namespace framepace
