// Where framepaced's class decisions go: the scheduler's "classes" map (SchedulerHandle), or
// a stand-in in tests. A map holds capacity() entries; writing a new tgid into a full one
// fails (-E2BIG), as a BPF hash map does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>

#include "common/expected.h"
#include "bpf/framepace_shared.h"

namespace framepace {

class ClassMap {
public:
    virtual ~ClassMap() = default;
    virtual size_t class_capacity() const = 0;
    virtual Status set_class(uint32_t tgid, fp_class class_id) = 0;
    virtual Status clear_class(uint32_t tgid) = 0;
    // Makes the map exactly `classes`.
    virtual Status replace_classes(const std::map<uint32_t, fp_class>& classes) = 0;
};

}  // namespace framepace
