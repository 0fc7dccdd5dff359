#include "game_tracker.h"

#include <charconv>

#include "log.h"
#include "message_ids.h"
#include "scheduler_handle.h"

namespace framepace {

GameTracker::GameTracker(std::filesystem::path proc_root, std::vector<ClassRule> rules)
    : proc_root_(std::move(proc_root)), rules_(std::move(rules)) {}

Status GameTracker::attach(SchedulerHandle* scheduler) {
    scheduler_ = scheduler;
    if (!scheduler_)
        return Ok{};
    std::map<uint32_t, fp_class> classes;
    for (const auto& [pid, entry] : processes_)
        classes[pid] = entry.class_id;
    return scheduler_->replace_classes(classes);
}

void GameTracker::scan() {
    std::error_code ec;
    for (const auto& dir : std::filesystem::directory_iterator(proc_root_, ec)) {
        const std::string name = dir.path().filename().string();
        uint32_t pid = 0;
        auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), pid);
        if (err != std::errc() || end != name.data() + name.size() || unmarked_.contains(pid))
            continue;
        auto existing = processes_.find(pid);
        if (existing != processes_.end() && existing->second.manual)
            continue;
        if (auto info = read_process(proc_root_, pid))
            decide(*info, "scan:", std::nullopt);
        else
            forget(pid);
    }
}

void GameTracker::on_exec(const Event& event, uint64_t now_ns) {
    uint32_t pid = event.pid;
    if (unmarked_.contains(pid))
        return;
    auto existing = processes_.find(pid);
    if (existing != processes_.end() && existing->second.manual)
        return;
    // The event's path is what was exec'd; /proc fills in the environment and the parent.
    // A process that is already gone was no game worth scheduling for.
    auto info = read_process(proc_root_, pid, event.filename);
    if (!info) {
        forget(pid);
        return;
    }
    decide(*info, "", now_ns >= event.timestamp_ns ? std::optional(now_ns - event.timestamp_ns)
                                                   : std::nullopt);
}

void GameTracker::on_exit(uint32_t pid) {
    unmarked_.erase(pid);
    forget(pid);
}

Status GameTracker::mark_game(uint32_t pid) {
    auto info = read_process(proc_root_, pid);
    if (!info)
        return Error{-ESRCH, "no process " + std::to_string(pid)};
    unmarked_.erase(pid);
    set({pid, FP_CLASS_GAME, info->comm, "manual", true, std::nullopt});
    return Ok{};
}

Status GameTracker::unmark_game(uint32_t pid) {
    auto existing = processes_.find(pid);
    if (existing == processes_.end() || existing->second.class_id != FP_CLASS_GAME)
        return Error{-ENOENT, "process " + std::to_string(pid) + " is not a game"};
    unmarked_.insert(pid);
    forget(pid);
    return Ok{};
}

void GameTracker::decide(const ProcessInfo& info, std::string reason_prefix,
                         std::optional<uint64_t> latency_ns) {
    Classification verdict = classify_process(info, rules_);
    if (verdict.class_id == FP_CLASS_NONE) {
        forget(info.pid);
        return;
    }
    auto existing = processes_.find(info.pid);
    if (existing != processes_.end() && existing->second.class_id == verdict.class_id)
        return;
    set({info.pid, verdict.class_id, info.comm, reason_prefix + verdict.reason, false,
         latency_ns});
}

void GameTracker::set(ClassifiedProcess entry) {
    LogFields fields = {{"FRAMEPACE_PID", std::to_string(entry.pid)},
                        {"FRAMEPACE_COMM", entry.comm},
                        {"FRAMEPACE_CLASS", class_name(entry.class_id)},
                        {"FRAMEPACE_REASON", entry.reason}};
    if (entry.latency_ns)
        fields.emplace_back("FRAMEPACE_LATENCY_US", std::to_string(*entry.latency_ns / 1000));
    log_structured(LOG_INFO, message_id::kProcessClassified,
                   std::string(entry.comm) + " (" + std::to_string(entry.pid) + ") is " +
                       (entry.class_id == FP_CLASS_GAME ? "a game" : class_name(entry.class_id)) +
                       " (" + entry.reason + ")",
                   fields);
    if (scheduler_) {
        if (auto status = scheduler_->set_class(entry.pid, entry.class_id); !status)
            log_printf(LOG_WARNING, "%s", status.error().message.c_str());
    }
    processes_[entry.pid] = std::move(entry);
}

void GameTracker::forget(uint32_t pid) {
    if (processes_.erase(pid) == 0 || !scheduler_)
        return;
    if (auto status = scheduler_->clear_class(pid); !status)
        log_printf(LOG_WARNING, "%s", status.error().message.c_str());
}

}  // namespace framepace
