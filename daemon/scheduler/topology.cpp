#include "daemon/scheduler/topology.h"

#include <charconv>
#include <map>
#include <string>

#include "common/read_file.h"

namespace framepace {
namespace {

bool parse_u32(std::string_view text, uint32_t& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

// The cpu list of the highest-level cache above L1 that this CPU reports, or "" if none.
std::string last_level_cache_cpus(const std::filesystem::path& cpu_dir) {
    std::error_code ec;
    int best_level = 0;
    std::string best;
    for (const auto& entry : std::filesystem::directory_iterator(cpu_dir / "cache", ec)) {
        if (entry.path().filename().string().rfind("index", 0) != 0)
            continue;
        uint32_t level = 0;
        // A value the kernel does not report reads as "" and matches nothing.
        if (!parse_u32(read_first_line(entry.path() / "level").value_or(""), level))
            continue;
        std::string shared = read_first_line(entry.path() / "shared_cpu_list").value_or("");
        if (static_cast<int>(level) > best_level && !shared.empty()) {
            best_level = static_cast<int>(level);
            best = shared;
        }
    }
    return best_level >= 2 ? best : std::string();
}

}  // namespace

Expected<std::vector<uint32_t>> parse_cpu_list(std::string_view text) {
    std::vector<uint32_t> cpus;
    while (!text.empty()) {
        size_t comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        size_t dash = item.find('-');
        uint32_t first = 0, last = 0;
        if (!parse_u32(item.substr(0, dash), first))
            return invalid_input("invalid cpu list item '" + std::string(item) + "'");
        last = first;
        if (dash != std::string_view::npos && !parse_u32(item.substr(dash + 1), last))
            return invalid_input("invalid cpu list item '" + std::string(item) + "'");
        if (last < first || last - first > 65536)
            return invalid_input("invalid cpu range '" + std::string(item) + "'");
        for (uint32_t cpu = first; cpu <= last; cpu++)
            cpus.push_back(cpu);
    }
    return cpus;
}

Expected<Topology> read_topology(const std::filesystem::path& root) {
    auto possible_text = read_first_line(root / "possible");
    if (!possible_text)
        return possible_text.error();
    auto possible = parse_cpu_list(*possible_text);
    if (!possible)
        return invalid_input((root / "possible").string() + ": " + possible.error().message);
    if (possible->empty())
        return invalid_input((root / "possible").string() + ": no CPUs");

    Topology topo;
    topo.nr_cpus = possible->empty() ? 0 : possible->back() + 1;
    topo.cpu_llc.assign(topo.nr_cpus, 0);

    // LLC ids are assigned in order of first appearance, so CPU 0's cache is LLC 0.
    std::map<std::string, uint32_t> llc_ids;
    for (uint32_t cpu : *possible) {
        std::string key = last_level_cache_cpus(root / ("cpu" + std::to_string(cpu)));
        if (key.empty())
            key = "unknown";
        auto [it, inserted] = llc_ids.try_emplace(key, static_cast<uint32_t>(llc_ids.size()));
        topo.cpu_llc[cpu] = it->second;
    }
    topo.nr_llcs = std::max<uint32_t>(1, static_cast<uint32_t>(llc_ids.size()));

    // Each CPU names the next hardware thread of its core, wrapping round: the other one of
    // a two-thread core (x86, the Steam Deck), the next of four or eight elsewhere.
    topo.cpu_next_sibling.resize(topo.nr_cpus);
    for (uint32_t cpu = 0; cpu < topo.nr_cpus; cpu++)
        topo.cpu_next_sibling[cpu] = cpu;
    for (uint32_t cpu : *possible) {
        auto siblings = parse_cpu_list(read_first_line(root / ("cpu" + std::to_string(cpu)) /
                                                       "topology" / "thread_siblings_list")
                                           .value_or(""));
        if (!siblings || siblings->size() < 2)
            continue;
        topo.smt = true;
        for (size_t i = 0; i < siblings->size(); i++) {
            if ((*siblings)[i] != cpu)
                continue;
            uint32_t next = (*siblings)[(i + 1) % siblings->size()];
            if (next < topo.nr_cpus)
                topo.cpu_next_sibling[cpu] = next;
        }
    }
    return topo;
}

}  // namespace framepace
