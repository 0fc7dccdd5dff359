// The fuzzer's service never has a scheduler attached (SchedulerHandle needs a sched_ext
// kernel): scheduler_methods.cpp still names these members, so the link needs them, but
// reaching one means the fake service broke its promise, which must be loud.
#include <cstdlib>

#include "daemon/scheduler/scheduler_handle.h"

namespace framepace {

Expected<CounterTotals> SchedulerHandle::read_counters() const { std::abort(); }
Expected<SchedulerHandle::RingTotals> SchedulerHandle::read_ring_counters() const { std::abort(); }
Expected<SchedulerHandle::HookMisses> SchedulerHandle::read_hook_misses() const { std::abort(); }
Status SchedulerHandle::reset_counters() { std::abort(); }
Expected<std::vector<fp_task_record>> SchedulerHandle::list_tasks() const { std::abort(); }
uint64_t SchedulerHandle::generation() const { std::abort(); }
// The vtable (ClassMap) is emitted with the destructor, which needs the deleters.
SchedulerHandle::~SchedulerHandle() { std::abort(); }
void SchedulerHandle::SkeletonDeleter::operator()(struct ::framepace_bpf*) const { std::abort(); }
void SchedulerHandle::LinkDeleter::operator()(bpf_link*) const { std::abort(); }
Status SchedulerHandle::set_class(uint32_t, fp_class) { std::abort(); }
Status SchedulerHandle::clear_class(uint32_t) { std::abort(); }
Status SchedulerHandle::replace_classes(const std::map<uint32_t, fp_class>&) { std::abort(); }
size_t SchedulerHandle::class_capacity() const { std::abort(); }
uint32_t SchedulerHandle::util_pct() const { std::abort(); }
bool SchedulerHandle::shared_mode() const { std::abort(); }

}  // namespace framepace
