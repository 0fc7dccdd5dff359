// Which CPUs share a last-level cache, read from sysfs, as the dense table the BPF
// scheduler takes in rodata when it is loaded.
//
// CPU hotplug (suspend takes every CPU but the boot one down and back up) does not restart
// the scheduler: it implements ops.cpu_online/cpu_offline and stays loaded, with this table
// as it was read. That holds up because nothing here counts online CPUs: nr_cpus is the
// possible ones, so the BPF side has queues and state for any CPU that comes online later,
// and it counts online CPUs itself where it needs them (the utilisation sampler). What does
// go stale is placement detail: a CPU that was offline at load has no cache or topology
// information in sysfs, so it sits in an LLC of its own (with any other such CPU) and does
// not count towards smt until the next load.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "common/expected.h"

namespace framepace {

struct Topology {
    uint32_t nr_cpus = 0;              // possible CPUs (ids 0 .. nr_cpus-1)
    uint32_t nr_llcs = 0;
    bool smt = false;                  // some core has more than one hardware thread
    std::vector<uint32_t> cpu_llc;     // dense LLC index of each CPU
    // The next hardware thread of each CPU's core, in its core's ring (itself without SMT).
    std::vector<uint32_t> cpu_next_sibling;
};

// Parses a kernel cpu list such as "0-3,8,10-11".
Expected<std::vector<uint32_t>> parse_cpu_list(std::string_view text);

// sysfs_cpu_root is /sys/devices/system/cpu on a real system; tests point it elsewhere.
// CPUs without cache information (all of them in most VMs, CPUs offline at load) share one
// LLC id.
Expected<Topology> read_topology(const std::filesystem::path& sysfs_cpu_root);

}  // namespace framepace
