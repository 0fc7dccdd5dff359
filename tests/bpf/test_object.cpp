#include "tests/bpf/test_object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <algorithm>
#include <cerrno>
#include <string_view>

namespace framepace::testing {
namespace {

// What a map is matched by. libbpf names an object's data sections after the object
// ("framepac.bss" for framepace_bpf, from at most 8 characters of its name), so those match
// by their section (".bss", ".rodata"); every other map by its own name.
std::string_view match_key(std::string_view name) {
    size_t dot = name.find('.');
    return dot == std::string_view::npos ? name : name.substr(dot);
}

Status same_shape(const bpf_map* map, int fd) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (int err = bpf_map_get_info_by_fd(fd, &info, &len))
        return make_error(
            err, std::string("failed to inspect the scheduler's map ") + bpf_map__name(map));
    if (info.type != static_cast<uint32_t>(bpf_map__type(map)) ||
        info.key_size != bpf_map__key_size(map) || info.value_size != bpf_map__value_size(map) ||
        info.max_entries != bpf_map__max_entries(map))
        return Error{-EINVAL, std::string("the scheduler's map ") + info.name +
                                  " is not the test object's " + bpf_map__name(map) +
                                  " (another build of the scheduler?)"};
    return Ok{};
}

}  // namespace

Expected<std::set<uint32_t>> program_map_ids(int prog_fd) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (int err = bpf_prog_get_info_by_fd(prog_fd, &info, &len))
        return make_error(err, "failed to inspect a loaded program");
    std::vector<uint32_t> ids(info.nr_map_ids);
    info = bpf_prog_info{};
    info.nr_map_ids = static_cast<uint32_t>(ids.size());
    info.map_ids = reinterpret_cast<uintptr_t>(ids.data());
    len = sizeof(info);
    if (int err = bpf_prog_get_info_by_fd(prog_fd, &info, &len))
        return make_error(err, "failed to read the maps of a loaded program");
    ids.resize(std::min<size_t>(ids.size(), info.nr_map_ids));
    return std::set<uint32_t>(ids.begin(), ids.end());
}

void TestObjectDeleter::operator()(framepace_test_bpf* skel) const {
    framepace_test_bpf__destroy(skel);
}

void switch_off_scheduler(bpf_object* obj) {
    bpf_map* map;
    bpf_object__for_each_map(map, obj) {
        if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS)
            bpf_map__set_autocreate(map, false);
    }
    bpf_program* prog;
    bpf_object__for_each_program(prog, obj) {
        std::string_view name = bpf_program__name(prog);
        if (bpf_program__type(prog) == BPF_PROG_TYPE_STRUCT_OPS || name == "on_input_event" ||
            name == "on_input_event_exit")
            bpf_program__set_autoload(prog, false);
    }
}

Expected<TestObject> load_test_object() {
    TestObject skel(framepace_test_bpf__open());
    if (!skel)
        return make_error(-errno, "failed to open the test BPF object");
    switch_off_scheduler(skel->obj);
    if (int err = framepace_test_bpf__load(skel.get()))
        return make_error(err, "failed to load the test BPF object");
    return skel;
}

Expected<TestObject> load_onto_scheduler(const std::vector<SchedulerMap>& maps,
                                         const char* program) {
    TestObject skel(framepace_test_bpf__open());
    if (!skel)
        return make_error(-errno, "failed to open the test BPF object");
    bpf_program* wanted = bpf_object__find_program_by_name(skel->obj, program);
    if (!wanted || bpf_program__type(wanted) != BPF_PROG_TYPE_SYSCALL)
        return Error{-ENOENT, std::string("the test object has no test program ") + program};
    bpf_program* prog;
    bpf_object__for_each_program(prog, skel->obj) bpf_program__set_autoload(prog, prog == wanted);

    std::set<uint32_t> scheduler_ids;
    for (const auto& known : maps) {
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        if (int err = bpf_map_get_info_by_fd(known.fd, &info, &len))
            return make_error(err, "failed to inspect the scheduler's map " + known.name);
        scheduler_ids.insert(info.id);
    }
    // Maps the scheduler's programs do not use (meta: only userspace writes it) are not
    // among `maps`; libbpf creates private ones, which the check below keeps the test
    // program from using.
    bpf_map* map;
    bpf_object__for_each_map(map, skel->obj) {
        if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS) {
            bpf_map__set_autocreate(map, false);
            continue;
        }
        for (const auto& known : maps) {
            if (match_key(known.name) != match_key(bpf_map__name(map)))
                continue;
            if (auto status = same_shape(map, known.fd); !status)
                return status.error();
            if (int err = bpf_map__reuse_fd(map, known.fd))
                return make_error(err, "failed to reuse the scheduler's map " + known.name);
            break;
        }
    }
    if (int err = framepace_test_bpf__load(skel.get()))
        return make_error(err,
                          std::string("failed to load ") + program + " onto the scheduler's maps");

    auto used = program_map_ids(bpf_program__fd(wanted));
    if (!used)
        return used.error();
    for (uint32_t id : *used)
        if (!scheduler_ids.count(id))
            return Error{-EINVAL, std::string(program) + " uses map id " + std::to_string(id) +
                                      ", which is not the scheduler's"};
    return skel;
}

Expected<int> run_test_program(const bpf_program* prog, void* ctx, size_t size) {
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.ctx_in = ctx;
    opts.ctx_size_in = static_cast<uint32_t>(size);
    if (int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts))
        return make_error(err, std::string("failed to run ") + bpf_program__name(prog));
    return static_cast<int>(opts.retval);
}

}  // namespace framepace::testing
