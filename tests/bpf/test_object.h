// The test BPF object (framepace_test.bpf.c: the scheduler as it ships plus the
// SEC("syscall") programs that tests run through BPF_PROG_TEST_RUN), loaded one of two ways:
//  - whole, on maps of its own, with the scheduler switched off: the host BPF tests and the
//    event ring benchmark run the scheduler's own helpers on state nobody else sees;
//  - one test program on the maps of a scheduler that is already loaded, which the program
//    then reads and writes: the VM probe opens input-boost windows in the running scheduler
//    this way, and the host tests do the same on a loaded copy of the shipped object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bpf/framepace_shared.h"  // before the skeleton and test_abi.h, which use its types
#include "common/expected.h"
#include "tests/bpf/framepace_test.skel.h"
#include "tests/bpf/test_abi.h"

namespace framepace::testing {

struct TestObjectDeleter {
    void operator()(framepace_test_bpf* skel) const;
};
using TestObject = std::unique_ptr<framepace_test_bpf, TestObjectDeleter>;

// Switches off, in an opened object built from the scheduler (this one or the shipped one),
// what a host test must not or cannot load: the struct_ops map and programs (the host has no
// sched_ext, and a test never registers a scheduler) and the input_event hooks (fentry,
// which the host refuses; the VM tests run them for real).
void switch_off_scheduler(bpf_object* obj);

// The whole object on maps of its own, the scheduler switched off.
Expected<TestObject> load_test_object();

// A map of a loaded scheduler: its name as the kernel has it, and a descriptor of it.
struct SchedulerMap {
    std::string name;
    int fd = -1;
};

// Loads only the test program named `program`, with every map of the object that `maps` has
// reused, so that the program works on that scheduler's state. Fails if one of those maps
// differs in shape from the object's (another build of the scheduler), or if the program
// uses a map that is not among `maps`.
Expected<TestObject> load_onto_scheduler(const std::vector<SchedulerMap>& maps,
                                         const char* program);

// The ids of the maps that a loaded program uses.
Expected<std::set<uint32_t>> program_map_ids(int prog_fd);

// Runs a SEC("syscall") program once with ctx (size bytes, none if 0) as its argument and
// returns what it returned.
Expected<int> run_test_program(const bpf_program* prog, void* ctx = nullptr, size_t size = 0);

}  // namespace framepace::testing
