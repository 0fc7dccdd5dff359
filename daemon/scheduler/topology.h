// Which CPUs share a last-level cache, read from sysfs, as the dense table the BPF
// scheduler takes in rodata.
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
    uint32_t nr_online = 0;            // online CPUs (hotplug restarts the scheduler)
    bool smt = false;                  // some core has more than one hardware thread
    std::vector<uint32_t> cpu_llc;     // dense LLC index of each CPU
};

// Parses a kernel cpu list such as "0-3,8,10-11".
Expected<std::vector<uint32_t>> parse_cpu_list(std::string_view text);

// sysfs_cpu_root is /sys/devices/system/cpu on a real system; tests point it elsewhere.
// A CPU without cache information (common in VMs) joins LLC 0 with the others.
Expected<Topology> read_topology(const std::filesystem::path& sysfs_cpu_root);

}  // namespace framepace
