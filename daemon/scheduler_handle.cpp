#include "scheduler_handle.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <vector>

#include "framepace.skel.h"
#include "log.h"
#include "unique_fd.h"

namespace framepace {
namespace {

bool libbpf_verbose = false;

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
    if (level == LIBBPF_DEBUG && !libbpf_verbose)
        return 0;
    char buffer[4096];
    int n = std::vsnprintf(buffer, sizeof(buffer), format, args);
    if (n > 0 && static_cast<size_t>(n) < sizeof(buffer) && buffer[n - 1] == '\n')
        buffer[n - 1] = '\0';
    log_printf(level == LIBBPF_WARN ? LOG_WARNING : LOG_DEBUG, "libbpf: %s", buffer);
    return 0;
}

}  // namespace

void route_libbpf_logs(bool verbose) {
    libbpf_verbose = verbose;
    libbpf_set_print(libbpf_print);
}

void SchedulerHandle::SkeletonDeleter::operator()(struct ::framepace_bpf* skel) const {
    framepace_bpf__destroy(skel);
}

void SchedulerHandle::LinkDeleter::operator()(bpf_link* link) const { bpf_link__destroy(link); }

Expected<std::unique_ptr<SchedulerHandle>> SchedulerHandle::load_and_attach(
    const Topology& topology, const fp_tunables& tunables, uint64_t generation) {
    std::unique_ptr<SchedulerHandle> handle(new SchedulerHandle());

    handle->skel_.reset(framepace_bpf__open());
    if (!handle->skel_)
        return make_error(-errno, "failed to open the framepace BPF object");
    auto* skel = handle->skel_.get();

    skel->rodata->nr_cpus = topology.nr_cpus;
    skel->rodata->nr_llcs = topology.nr_llcs;
    for (uint32_t cpu = 0; cpu < topology.nr_cpus && cpu < FP_MAX_CPUS; cpu++)
        skel->rodata->cpu_llc_id[cpu] = topology.cpu_llc[cpu];

    skel->bss->generation = generation;
    if (int err = framepace_bpf__load(skel); err)
        return make_error(err, "failed to load the framepace BPF scheduler (verifier log above)");
    if (auto status = handle->write_tunables(tunables); !status)
        return status.error();

    handle->task_iter_.reset(bpf_program__attach_iter(skel->progs.dump_task, nullptr));
    if (!handle->task_iter_)
        return make_error(-errno, "failed to attach the task iterator");

    handle->link_.reset(bpf_map__attach_struct_ops(skel->maps.framepace_ops));
    if (!handle->link_)
        return make_error(-errno, "failed to attach the framepace scheduler (struct_ops)");
    return handle;
}

SchedulerHandle::~SchedulerHandle() { detach(); }

void SchedulerHandle::detach() { link_.reset(); }

int SchedulerHandle::link_fd() const { return link_ ? bpf_link__fd(link_.get()) : -1; }

Expected<CounterTotals> SchedulerHandle::read_counters() const {
    int nr_cpus = libbpf_num_possible_cpus();
    if (nr_cpus <= 0)
        return make_error(nr_cpus, "failed to count possible CPUs");
    std::vector<fp_cpu_counters> per_cpu(static_cast<size_t>(nr_cpus));
    uint32_t key = 0;
    int err = bpf_map__lookup_elem(skel_->maps.counters, &key, sizeof(key), per_cpu.data(),
                                   per_cpu.size() * sizeof(fp_cpu_counters), 0);
    if (err)
        return make_error(err, "failed to read the counters map");
    return sum_counters(per_cpu);
}

Status SchedulerHandle::reset_counters() {
    int nr_cpus = libbpf_num_possible_cpus();
    if (nr_cpus <= 0)
        return make_error(nr_cpus, "failed to count possible CPUs");
    // Each CPU keeps counting while we write; an increment racing the reset is lost, which
    // is what a reset means anyway.
    std::vector<fp_cpu_counters> zeros(static_cast<size_t>(nr_cpus));
    uint32_t key = 0;
    int err = bpf_map__update_elem(skel_->maps.counters, &key, sizeof(key), zeros.data(),
                                   zeros.size() * sizeof(fp_cpu_counters), BPF_ANY);
    if (err)
        return make_error(err, "failed to reset the counters map");
    return Ok{};
}

Expected<std::vector<fp_task_record>> SchedulerHandle::list_tasks() const {
    UniqueFd fd(bpf_iter_create(bpf_link__fd(task_iter_.get())));
    if (!fd.valid())
        return make_error(-errno, "failed to start the task iterator");
    std::vector<fp_task_record> tasks;
    std::vector<char> buffer;
    char chunk[16 * 1024];
    for (;;) {
        ssize_t n = read(fd.get(), chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return make_error(-errno, "failed to read the task iterator");
        if (n == 0)
            break;
        buffer.insert(buffer.end(), chunk, chunk + n);
    }
    size_t count = buffer.size() / sizeof(fp_task_record);
    tasks.resize(count);
    std::memcpy(tasks.data(), buffer.data(), count * sizeof(fp_task_record));
    return tasks;
}

uint64_t SchedulerHandle::generation() const { return skel_->bss->generation; }

Status SchedulerHandle::write_tunables(const fp_tunables& tunables) {
    uint32_t key = 0;
    int err = bpf_map__update_elem(skel_->maps.tunables, &key, sizeof(key), &tunables,
                                   sizeof(tunables), BPF_ANY);
    if (err)
        return make_error(err, "failed to write the tunables map");
    return Ok{};
}

std::optional<ExitInfo> SchedulerHandle::exit_info() const {
    const volatile fp_exit_info& raw = skel_->bss->exit_info;
    if (raw.kind == 0)
        return std::nullopt;
    return exit_info_from(const_cast<const fp_exit_info&>(raw));
}

}  // namespace framepace
