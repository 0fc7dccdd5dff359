#include "daemon/scheduler/scheduler_handle.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <fcntl.h>
#include <sys/mman.h>
#include <string_view>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <vector>

#include "bpf/framepace.skel.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "daemon/scheduler/ops_flags.h"

namespace framepace {
namespace {

// One value per possible CPU from a per-CPU array's element 0.
template <typename T>
Expected<std::vector<T>> read_per_cpu(const bpf_map* map, const char* what) {
    int nr_cpus = libbpf_num_possible_cpus();
    if (nr_cpus <= 0)
        return make_error(nr_cpus, "failed to count possible CPUs");
    std::vector<T> per_cpu(static_cast<size_t>(nr_cpus));
    uint32_t key = 0;
    if (int err = bpf_map__lookup_elem(map, &key, sizeof(key), per_cpu.data(),
                                       per_cpu.size() * sizeof(T), 0))
        return make_error(err, std::string("failed to read ") + what);
    return per_cpu;
}

}  // namespace

void SchedulerHandle::SkeletonDeleter::operator()(struct ::framepace_bpf* skel) const {
    framepace_bpf__destroy(skel);
}

void SchedulerHandle::LinkDeleter::operator()(bpf_link* link) const { bpf_link__destroy(link); }

Expected<std::unique_ptr<SchedulerHandle>> SchedulerHandle::load_and_attach(
    const Topology& topology, const fp_tunables& tunables, uint64_t generation,
    uint32_t ring_bytes) {
    std::unique_ptr<SchedulerHandle> handle(new SchedulerHandle());
    OpsFlags ops_flags;
    if (auto kernel_flags = read_kernel_ops_flags(); kernel_flags) {
        ops_flags = wanted_ops_flags(*kernel_flags);
    } else {
        ops_flags = wanted_ops_flags({});  // none asked for, each one's cost logged below
        log_printf(LOG_WARNING, "%s: loading without sched_ext ops flags",
                   kernel_flags.error().message.c_str());
    }
    for (const std::string& cost : ops_flags.missing_costs)
        log_printf(LOG_WARNING, "sched_ext ops flag %s", cost.c_str());
    log_printf(LOG_INFO, "sched_ext ops flags: %s",
               ops_flags.names.empty() ? "none" : ops_flags.names.c_str());
    auto configure = [&](struct ::framepace_bpf* skel) -> Status {
        skel->struct_ops.framepace_ops->flags = ops_flags.value;
        skel->rodata->nr_cpus = topology.nr_cpus;
        skel->rodata->nr_llcs = topology.nr_llcs;
        skel->rodata->smt_enabled = topology.smt;
        for (uint32_t cpu = 0; cpu < topology.nr_cpus && cpu < FP_MAX_CPUS; cpu++) {
            skel->rodata->cpu_llc_id[cpu] = topology.cpu_llc[cpu];
            // A sibling the scheduler has no state for ends the ring there (the walk stops).
            uint32_t sibling = topology.cpu_next_sibling[cpu];
            skel->rodata->cpu_next_sibling[cpu] = sibling < FP_MAX_CPUS ? sibling : cpu;
        }
        skel->bss->generation = generation;
        return Ok{};
    };
    if (auto status = handle->open_and_load(configure); !status)
        return Error{status.error().code,
                     "failed to load the framepace BPF scheduler: " + status.error().message};
    auto* skel = handle->skel_.get();
    if (auto status = handle->create_rings(ring_bytes); !status)
        return status.error();
    if (auto status = handle->write_tunables(tunables); !status)
        return status.error();
    fp_meta meta{FP_META_MAGIC, FP_LAYOUT_VERSION};
    uint32_t key = 0;
    if (int err = bpf_map__update_elem(skel->maps.meta, &key, sizeof(key), &meta, sizeof(meta), 0))
        return make_error(err, "failed to write the meta map");
    if (auto status = handle->attach_helpers(); !status)
        return status.error();

    bpf_link* link = bpf_map__attach_struct_ops(skel->maps.framepace_ops);
    if (!link)
        return make_error(-errno, "failed to attach the framepace scheduler (struct_ops)");
    // The handle owns the link as a plain fd, the same way as an adopted one.
    handle->link_.reset(fcntl(bpf_link__fd(link), F_DUPFD_CLOEXEC, 3));
    bpf_link__disconnect(link);
    bpf_link__destroy(link);
    if (!handle->link_.valid())
        return make_error(-errno, "failed to take the struct_ops link");
    return handle;
}

// The programs that live with the daemon rather than with the scheduler: a restarted daemon
// attaches its own.
Status SchedulerHandle::attach_helpers() {
    task_iter_.reset(bpf_program__attach_iter(skel_->progs.dump_task, nullptr));
    if (!task_iter_)
        return make_error(-errno, "failed to attach the task iterator");
    exec_hook_.reset(bpf_program__attach(skel_->progs.on_exec));
    if (!exec_hook_)
        return make_error(-errno, "failed to attach the exec hook");
    exit_hook_.reset(bpf_program__attach(skel_->progs.on_exit));
    if (!exit_hook_)
        return make_error(-errno, "failed to attach the exit hook");
    if (!bpf_program__autoload(skel_->progs.on_input_event))
        return Ok{};
    input_hook_.reset(bpf_program__attach(skel_->progs.on_input_event));
    input_exit_hook_.reset(bpf_program__attach(skel_->progs.on_input_event_exit));
    if (!input_hook_ || !input_exit_hook_) {
        // A kernel that refuses the trampoline still schedules fine: no boost, one warning.
        log_printf(LOG_WARNING, "failed to hook input_event (%s): input boost is off",
                   strerror(errno));
        input_hook_.reset();
        input_exit_hook_.reset();
    }
    return Ok{};
}

// Input boost needs input_event in the kernel's BTF (missing where input is a module) and a
// kernel that accepts fentry programs (some refuse them: lockdown, no trampolines). Without
// either the scheduler loads all the same, with input boost off and one warning. A load that
// fails with the hook is tried once without it; only if that succeeds was the hook the cause.
Status SchedulerHandle::open_and_load(
    const std::function<Status(struct ::framepace_bpf*)>& configure) {
    bool input_hooks = libbpf_find_vmlinux_btf_id("input_event", BPF_TRACE_FENTRY) >= 0;
    if (!input_hooks)
        log_printf(LOG_WARNING, "this kernel has no input_event to hook: input boost is off");
    int first_err = 0;
    for (;;) {
        skel_.reset(framepace_bpf__open());
        if (!skel_)
            return make_error(-errno, "cannot open the framepace BPF object");
        if (auto status = configure(skel_.get()); !status)
            return status;
        bpf_program__set_autoload(skel_->progs.on_input_event, input_hooks);
        bpf_program__set_autoload(skel_->progs.on_input_event_exit, input_hooks);
        int err = framepace_bpf__load(skel_.get());
        if (!err) {
            if (first_err)
                log_printf(LOG_WARNING,
                           "the kernel refused the input_event hook (%s): input boost is off",
                           strerror(-first_err));
            return Ok{};
        }
        if (!input_hooks || first_err)
            return make_error(err,
                              "the kernel refused the framepace scheduler (the verifier's "
                              "log is above)");
        first_err = err;
        input_hooks = false;
    }
}

Status SchedulerHandle::create_rings(uint32_t bytes) {
    int outer = bpf_map__fd(skel_->maps.rings);
    for (uint32_t i = 0; i < FP_NR_RINGS; i++) {
        std::string name = "fp_ring_" + std::to_string(i);
        rings_[i].reset(bpf_map_create(BPF_MAP_TYPE_RINGBUF, name.c_str(), 0, 0, bytes, nullptr));
        if (!rings_[i].valid())
            return make_error(-errno, "failed to create event ring " + std::to_string(i) + " of " +
                                          std::to_string(bytes) + " bytes");
        int fd = rings_[i].get();
        if (bpf_map_update_elem(outer, &i, &fd, BPF_ANY) < 0)
            return make_error(-errno, "failed to install event ring " + std::to_string(i));
    }
    ring_bytes_ = bytes;
    return Ok{};
}

// An adopted scheduler's rings are in its rings map, by id.
Status SchedulerHandle::find_rings() {
    int outer = bpf_map__fd(skel_->maps.rings);
    for (uint32_t i = 0; i < FP_NR_RINGS; i++) {
        uint32_t id = 0;
        if (bpf_map_lookup_elem(outer, &i, &id) < 0)
            return make_error(-errno, "the kept scheduler has no event ring " + std::to_string(i));
        rings_[i].reset(bpf_map_get_fd_by_id(id));
        if (!rings_[i].valid())
            return make_error(-errno, "failed to open kept event ring " + std::to_string(i));
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        if (bpf_map_get_info_by_fd(rings_[i].get(), &info, &len) == 0)
            ring_bytes_ = info.max_entries;
    }
    return Ok{};
}

std::array<int, FP_NR_RINGS> SchedulerHandle::ring_fds() const {
    std::array<int, FP_NR_RINGS> fds{};
    for (size_t i = 0; i < fds.size(); i++)
        fds[i] = rings_[i].get();
    return fds;
}

Expected<SchedulerHandle::RingTotals> SchedulerHandle::read_ring_counters() const {
    auto per_cpu = read_per_cpu<fp_ring_counters>(skel_->maps.ring_counters, "the ring counters");
    if (!per_cpu)
        return per_cpu.error();
    RingTotals totals;
    for (const auto& cpu : *per_cpu)
        for (size_t i = 0; i < FP_NR_RINGS; i++) {
            totals.produced[i] += cpu.produced[i];
            totals.dropped[i] += cpu.dropped[i];
        }
    return totals;
}

Expected<SchedulerHandle::HookMisses> SchedulerHandle::read_hook_misses() const {
    auto misses = [](const bpf_program* prog) -> Expected<uint64_t> {
        bpf_prog_info info{};
        uint32_t len = sizeof(info);
        if (int err = bpf_prog_get_info_by_fd(bpf_program__fd(prog), &info, &len))
            return make_error(err,
                              std::string("cannot read the info of ") + bpf_program__name(prog));
        return info.recursion_misses;
    };
    auto exec = misses(skel_->progs.on_exec);
    if (!exec)
        return exec.error();
    auto exit = misses(skel_->progs.on_exit);
    if (!exit)
        return exit.error();
    return HookMisses{*exec, *exit};
}

namespace {

// The one value of a kept array map (a data section, the meta map) of at least min_size
// bytes; `what` names the map in errors, `foreign` is the error when it is not framepace's.
Expected<std::vector<char>> read_kept_array(const KeptFds& kept, const std::string& name,
                                            const std::string& what, size_t min_size,
                                            const std::string& foreign) {
    auto fd = kept.find(name);
    if (fd == kept.end())
        return Error{-ENOENT, "the kept scheduler has no " + what};
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_map_get_info_by_fd(fd->second.get(), &info, &len) < 0)
        return make_error(-errno, "failed to inspect the kept " + what);
    if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size < min_size)
        return Error{-EINVAL, foreign};
    std::vector<char> value(info.value_size);
    uint32_t key = 0;
    if (bpf_map_lookup_elem(fd->second.get(), &key, value.data()) < 0)
        return make_error(-errno, "failed to read the kept " + what);
    return value;
}

}  // namespace

Expected<uint64_t> SchedulerHandle::kept_layout_version(const KeptFds& kept) {
    const std::string foreign = "the kept meta map is not framepace's";
    auto value = read_kept_array(kept, "map.meta", "meta map", sizeof(fp_meta), foreign);
    if (!value)
        return value.error();
    fp_meta meta;
    std::memcpy(&meta, value->data(), sizeof(meta));
    if (meta.magic != FP_META_MAGIC)
        return Error{-EINVAL, foreign};
    return meta.layout_version;
}

Expected<std::optional<ExitInfo>> SchedulerHandle::kept_exit_info(const KeptFds& kept) {
    using Bss = framepace_bpf::framepace_bpf__bss;
    // The section's map is named after the object ("<prefix>.bss"), as libbpf made it.
    auto bss = std::find_if(kept.begin(), kept.end(), [](const auto& entry) {
        return entry.first.starts_with("map.") && entry.first.ends_with(".bss");
    });
    // The section may hold more than the skeleton names (static variables): the record's
    // place is what must fit. The layout version, checked first, says the rest.
    constexpr size_t kRecordEnd = offsetof(Bss, exit_info) + sizeof(fp_exit_info);
    auto value = read_kept_array(kept, bss == kept.end() ? std::string() : bss->first, ".bss map",
                                 kRecordEnd, "the kept .bss map is not this daemon's layout");
    if (!value)
        return value.error();
    fp_exit_info raw;
    std::memcpy(&raw, value->data() + offsetof(Bss, exit_info), sizeof(raw));
    if (raw.kind == 0)
        return std::optional<ExitInfo>{};
    return std::optional<ExitInfo>{exit_info_from(raw)};
}

namespace {

// libbpf maps the skeleton's .bss/.rodata views onto the kernel maps only for maps it
// created; for reused ones they stay private copies. Map the running scheduler's sections
// over them, so that skel->bss reads and writes what BPF sees.
Status map_adopted_sections(bpf_object* obj) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    bpf_map* map;
    bpf_object__for_each_map(map, obj) {
        if (!(bpf_map__map_flags(map) & BPF_F_MMAPABLE))
            continue;
        size_t size = 0;
        void* view = bpf_map__initial_value(map, &size);
        if (!view)
            continue;
        size_t length = (size + page - 1) / page * page;
        int prot =
            (bpf_map__map_flags(map) & BPF_F_RDONLY_PROG) ? PROT_READ : PROT_READ | PROT_WRITE;
        if (mmap(view, length, prot, MAP_SHARED | MAP_FIXED, bpf_map__fd(map), 0) == MAP_FAILED)
            return make_error(-errno, std::string("failed to map the kept ") + bpf_map__name(map));
    }
    return Ok{};
}

// The link must be a struct_ops link whose map is framepace's ops.
Status verify_kept_link(int fd) {
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    if (bpf_link_get_info_by_fd(fd, &info, &len) < 0)
        return make_error(-errno, "failed to inspect the kept link");
    if (info.type != BPF_LINK_TYPE_STRUCT_OPS)
        return Error{-EINVAL, "the kept link is not a struct_ops link"};
    UniqueFd map(bpf_map_get_fd_by_id(info.struct_ops.map_id));
    if (!map.valid())
        return make_error(-errno, "the kept link's scheduler is gone");
    bpf_map_info map_info{};
    len = sizeof(map_info);
    if (bpf_map_get_info_by_fd(map.get(), &map_info, &len) < 0)
        return make_error(-errno, "failed to inspect the kept scheduler");
    if (std::string_view(map_info.name) != "framepace_ops")
        return Error{-EINVAL,
                     std::string("the kept link runs '") + map_info.name + "', not framepace"};
    return Ok{};
}

}  // namespace

Status SchedulerHandle::detach_kept(const KeptFds& kept) {
    auto link = kept.find("link");
    if (link == kept.end())
        return Ok{};
    if (bpf_link_detach(link->second.get()) < 0 && errno != ENOLINK)
        return make_error(-errno, "failed to detach the kept scheduler");
    return Ok{};
}

Expected<std::unique_ptr<SchedulerHandle>> SchedulerHandle::adopt(const KeptFds& kept) {
    auto link = kept.find("link");
    if (link == kept.end())
        return Error{-ENOENT, "no kept link"};
    if (auto status = verify_kept_link(link->second.get()); !status)
        return status.error();

    std::unique_ptr<SchedulerHandle> handle(new SchedulerHandle());
    // The running scheduler's maps become ours; its programs stay where they are. Only the
    // helper programs (iterator, hooks) load again, against the same maps.
    auto configure = [&](struct ::framepace_bpf* skel) -> Status {
        bpf_map* map;
        bpf_object__for_each_map(map, skel->obj) {
            if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS) {
                bpf_map__set_autocreate(map, false);
                continue;
            }
            auto fd = kept.find(std::string("map.") + bpf_map__name(map));
            if (fd == kept.end())
                return Error{-ENOENT,
                             std::string("the kept scheduler lacks map ") + bpf_map__name(map)};
            if (int err = bpf_map__reuse_fd(map, fd->second.get()); err)
                return make_error(err, std::string("kept map ") + bpf_map__name(map) +
                                           " does not fit this daemon");
        }
        bpf_program* prog;
        bpf_object__for_each_program(prog, skel->obj) {
            if (bpf_program__type(prog) == BPF_PROG_TYPE_STRUCT_OPS)
                bpf_program__set_autoload(prog, false);
        }
        return Ok{};
    };
    if (auto status = handle->open_and_load(configure); !status)
        return Error{
            status.error().code,
            "failed to load framepace's helper programs for adoption: " + status.error().message};
    auto* skel = handle->skel_.get();
    if (auto status = map_adopted_sections(skel->obj); !status)
        return status.error();
    if (auto status = handle->find_rings(); !status)
        return status.error();
    if (auto status = handle->attach_helpers(); !status)
        return status.error();
    handle->link_.reset(fcntl(link->second.get(), F_DUPFD_CLOEXEC, 3));
    if (!handle->link_.valid())
        return make_error(-errno, "failed to take the kept link");
    // Everything the previous daemon classified is now stale.
    skel->bss->generation = skel->bss->generation + 1;
    return handle;
}

SchedulerHandle::~SchedulerHandle() {
    // Closing our reference detaches only if nobody else (fd store, pin) holds the link: a
    // crash must not take the scheduler down.
}

void SchedulerHandle::detach() {
    if (!link_.valid())
        return;
    if (bpf_link_detach(link_.get()) < 0 && errno != ENOLINK)
        log_printf(LOG_WARNING, "failed to detach the scheduler: %s", strerror(errno));
    link_.reset();
}

std::vector<std::pair<std::string, int>> SchedulerHandle::keepable_fds() const {
    std::vector<std::pair<std::string, int>> fds;
    if (link_.valid())
        fds.emplace_back("link", link_.get());
    bpf_map* map;
    bpf_object__for_each_map(map, skel_->obj) {
        if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS && bpf_map__fd(map) >= 0)
            fds.emplace_back(std::string("map.") + bpf_map__name(map), bpf_map__fd(map));
    }
    return fds;
}

void SchedulerHandle::heartbeat(uint64_t now_ns) { skel_->bss->heartbeat_ns = now_ns; }

void SchedulerHandle::quiesce() {
    skel_->bss->heartbeat_ns = 0;
    skel_->bss->boost_until_ns = 0;
}

// The daemon is the only writer of classes_seq; the increment is published after the map.
void SchedulerHandle::classes_changed() {
    __atomic_store_n(&skel_->bss->classes_seq, skel_->bss->classes_seq + 1, __ATOMIC_RELEASE);
}

namespace {

// One entry of the classes map; the map holds the class as a u32 (enum fp_class).
Status write_class(bpf_map* classes, uint32_t tgid, fp_class class_id) {
    uint32_t value = class_id;
    if (int err =
            bpf_map__update_elem(classes, &tgid, sizeof(tgid), &value, sizeof(value), BPF_ANY))
        return make_error(err,
                          "failed to write the classes map (tgid " + std::to_string(tgid) + ")");
    return Ok{};
}

}  // namespace

Status SchedulerHandle::set_class(uint32_t tgid, fp_class class_id) {
    if (auto status = write_class(skel_->maps.classes, tgid, class_id); !status)
        return status;
    classes_changed();
    return Ok{};
}

Status SchedulerHandle::clear_class(uint32_t tgid) {
    int err = bpf_map__delete_elem(skel_->maps.classes, &tgid, sizeof(tgid), 0);
    if (err && err != -ENOENT)
        return make_error(err, "failed to delete from the classes map");
    classes_changed();
    return Ok{};
}

Status SchedulerHandle::replace_classes(const std::map<uint32_t, fp_class>& classes) {
    std::vector<uint32_t> stale;
    uint32_t key = 0, next = 0;
    const void* prev = nullptr;
    while (bpf_map__get_next_key(skel_->maps.classes, prev, &next, sizeof(next)) == 0) {
        if (!classes.contains(next))
            stale.push_back(next);
        key = next;
        prev = &key;
    }
    for (uint32_t tgid : stale)
        bpf_map__delete_elem(skel_->maps.classes, &tgid, sizeof(tgid), 0);
    Status status = Ok{};
    for (const auto& [tgid, class_id] : classes) {
        if (status = write_class(skel_->maps.classes, tgid, class_id); !status)
            break;
    }
    // Published even after a failed write: the deletions and the writes before it are in
    // the map, and tasks only re-read their class when the sequence moves.
    classes_changed();
    return status;
}

size_t SchedulerHandle::class_capacity() const { return bpf_map__max_entries(skel_->maps.classes); }

Expected<uint32_t> SchedulerHandle::link_id() const {
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    if (bpf_link_get_info_by_fd(link_.get(), &info, &len) < 0)
        return make_error(-errno, "failed to inspect the struct_ops link");
    return info.id;
}

uint32_t SchedulerHandle::util_pct() const { return skel_->bss->util_pct; }

bool SchedulerHandle::shared_mode() const { return skel_->bss->shared_mode != 0; }

Expected<fp_tunables> SchedulerHandle::read_tunables() const {
    fp_tunables tunables{};
    uint32_t key = 0;
    int err = bpf_map__lookup_elem(skel_->maps.tunables, &key, sizeof(key), &tunables,
                                   sizeof(tunables), 0);
    if (err)
        return make_error(err, "failed to read the tunables map");
    return tunables;
}

Expected<CounterTotals> SchedulerHandle::read_counters() const {
    auto per_cpu = read_per_cpu<fp_cpu_counters>(skel_->maps.counters, "the counters map");
    if (!per_cpu)
        return per_cpu.error();
    return sum_counters(skel_->bss->cpu_slots, *per_cpu);
}

Status SchedulerHandle::reset_counters() {
    int nr_cpus = libbpf_num_possible_cpus();
    if (nr_cpus <= 0)
        return make_error(nr_cpus, "failed to count possible CPUs");
    // Each CPU keeps counting while we write (reset_counters says what a race does).
    std::vector<fp_cpu_counters> zeros(static_cast<size_t>(nr_cpus));
    uint32_t key = 0;
    int err = bpf_map__update_elem(skel_->maps.counters, &key, sizeof(key), zeros.data(),
                                   zeros.size() * sizeof(fp_cpu_counters), BPF_ANY);
    if (err)
        return make_error(err, "failed to reset the counters map");
    framepace::reset_counters(skel_->bss->cpu_slots);
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
