#include "daemon/games/game_tracker.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "common/log.h"
#include "common/message_ids.h"

namespace framepace {

GameTracker::GameTracker(std::filesystem::path proc_root, std::vector<ClassRule> rules,
                         std::optional<ManualMarkStore> marks, Clock clock_ns)
    : proc_root_(std::move(proc_root)),
      rules_(std::move(rules)),
      needs_(environment_needs(rules_)),
      marks_(std::move(marks)),
      clock_ns_(std::move(clock_ns)) {}

Status GameTracker::attach(ClassMap* map) {
    map_ = map;
    if (!map_)
        return Ok{};
    // Places are given out again for this map's size, strongest evidence first.
    admission_ = ClassMapAdmission(map_->class_capacity());
    full_reported_ = false;
    std::vector<ClassifiedProcess*> order;
    for (auto& [pid, entry] : processes_)
        order.push_back(&entry);
    std::stable_sort(order.begin(), order.end(),
                     [](const auto* a, const auto* b) { return a->evidence > b->evidence; });
    std::map<uint32_t, fp_class> classes;
    for (auto* entry : order) {
        entry->in_scheduler = admission_.request(entry->pid, entry->uid, entry->evidence).placed;
        if (entry->in_scheduler)
            classes[entry->pid] = entry->class_id;
    }
    if (admission_.waiting_count())
        note_full();
    return map_->replace_classes(classes);
}

void GameTracker::restore_marks() {
    if (!marks_)
        return;
    auto stored = marks_->load();
    if (!stored) {
        log_printf(LOG_WARNING, "ignoring the stored game marks: %s",
                   stored.error().message.c_str());
        return;
    }
    size_t restored = 0;
    for (const auto& mark : *stored) {
        // Only a process that is still the one marked: a reused pid has another start time.
        uint64_t seen_ns = clock_ns_();
        auto info = read_process(proc_root_, mark.pid, {}, EnvironmentNeeds{});
        if (!info || info->start_time != mark.start_time)
            continue;
        restored++;
        if (mark.game) {
            unmarked_.erase(mark.pid);
            set({mark.pid, FP_CLASS_GAME, info->comm, "manual", true, std::nullopt, info->uid,
                 Evidence::Manual, info->start_time, false, seen_ns});
        } else {
            unmarked_[mark.pid] = {mark.start_time, seen_ns};
            forget(mark.pid);
        }
    }
    if (restored != stored->size())
        if (auto status = store_marks(); !status)
            log_printf(LOG_WARNING, "%s", status.error().message.c_str());
    if (!stored->empty())
        log_printf(LOG_INFO,
                   "restored %zu of %zu stored game marks (the others' processes are gone)",
                   restored, stored->size());
}

std::vector<uint32_t> GameTracker::list_pids() const {
    std::vector<uint32_t> pids;
    std::error_code ec;
    for (const auto& dir : std::filesystem::directory_iterator(proc_root_, ec)) {
        const std::string name = dir.path().filename().string();
        uint32_t pid = 0;
        auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), pid);
        if (err == std::errc() && end == name.data() + name.size())
            pids.push_back(pid);
    }
    return pids;
}

bool GameTracker::scan_pid(uint32_t pid) {
    if (unmarked_.contains(pid))
        return false;
    auto existing = processes_.find(pid);
    if (existing != processes_.end() && existing->second.manual)
        return false;
    bool known = existing != processes_.end();
    // Read before the process: it lived from then on, whatever exited before.
    uint64_t seen_ns = clock_ns_();
    if (auto info = read_process(proc_root_, pid, {}, needs_)) {
        decide(*info, "scan:", std::nullopt, seen_ns);
        return !known && processes_.contains(pid);
    }
    forget(pid);
    return false;
}

void GameTracker::scan() {
    for (uint32_t pid : list_pids())
        scan_pid(pid);
}

bool GameTracker::drop_if_gone(uint32_t pid) {
    std::optional<uint64_t> start_time;
    if (auto entry = processes_.find(pid); entry != processes_.end())
        start_time = entry->second.start_time;
    else if (auto unmark = unmarked_.find(pid); unmark != unmarked_.end())
        start_time = unmark->second.start_time;
    // No entry left: its exit event came since the rescan began.
    if (!start_time || read_start_time(proc_root_, pid) == *start_time)
        return false;
    // Now is after the entry's seen_ns, so the exit is not taken for an earlier process's.
    on_exit(pid, clock_ns_());
    return true;
}

void GameTracker::begin_reconcile() {
    Rescan rescan;
    if (rescan_)
        rescan.counts = rescan_->counts;
    for (const auto& [pid, entry] : processes_)
        rescan.known.push_back(pid);
    for (const auto& [pid, entry] : unmarked_)
        if (!processes_.contains(pid))
            rescan.known.push_back(pid);
    rescan_ = std::move(rescan);
}

std::optional<GameTracker::Reconciled> GameTracker::reconcile_step(size_t max_processes) {
    if (!rescan_)
        return Reconciled{};
    Rescan& rescan = *rescan_;
    size_t read = 0;
    for (; read < max_processes && rescan.next_known < rescan.known.size(); read++)
        rescan.counts.gone += drop_if_gone(rescan.known[rescan.next_known++]);
    if (rescan.next_known < rescan.known.size())
        return std::nullopt;
    if (!rescan.listed)
        rescan.listed = list_pids();
    for (; read < max_processes && rescan.next_listed < rescan.listed->size(); read++)
        rescan.counts.found += scan_pid((*rescan.listed)[rescan.next_listed++]);
    if (rescan.next_listed < rescan.listed->size())
        return std::nullopt;
    Reconciled counts = rescan.counts;
    rescan_.reset();
    return counts;
}

GameTracker::Reconciled GameTracker::reconcile() {
    begin_reconcile();
    return *reconcile_step(SIZE_MAX);
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
    auto info = read_process(proc_root_, pid, event.filename, needs_);
    if (!info) {
        forget(pid);
        return;
    }
    decide(*info, "",
           now_ns >= event.timestamp_ns ? std::optional(now_ns - event.timestamp_ns) : std::nullopt,
           event.timestamp_ns);
}

void GameTracker::on_exit(uint32_t pid, uint64_t exited_ns) {
    auto entry = processes_.find(pid);
    auto unmarked = unmarked_.find(pid);
    if ((entry != processes_.end() && exited_ns < entry->second.seen_ns) ||
        (unmarked != unmarked_.end() && exited_ns < unmarked->second.seen_ns)) {
        log_printf(LOG_DEBUG, "exit of an earlier process %u, after its successor's exec", pid);
        return;
    }
    bool was_marked = is_marked(pid);
    unmarked_.erase(pid);
    forget(pid);
    if (was_marked)
        if (auto status = store_marks(); !status)
            log_printf(LOG_WARNING, "%s", status.error().message.c_str());
}

bool GameTracker::is_marked(uint32_t pid) const {
    auto it = processes_.find(pid);
    return unmarked_.contains(pid) || (it != processes_.end() && it->second.manual);
}

Status GameTracker::store_marks() {
    if (!marks_)
        return Ok{};
    std::vector<ManualMark> marks;
    for (const auto& [pid, entry] : processes_)
        if (entry.manual)
            marks.push_back({pid, entry.start_time, true});
    for (const auto& [pid, unmarked] : unmarked_)
        marks.push_back({pid, unmarked.start_time, false});
    if (auto status = marks_->save(marks); !status)
        return Error{status.error().code,
                     "the game marks will not survive a daemon restart: " + status.error().message};
    return Ok{};
}

Status GameTracker::mark_game(uint32_t pid) {
    // Marking needs no environment.
    uint64_t seen_ns = clock_ns_();
    auto info = read_process(proc_root_, pid, {}, EnvironmentNeeds{});
    if (!info)
        return Error{-ESRCH, "no process " + std::to_string(pid)};
    unmarked_.erase(pid);
    set({pid, FP_CLASS_GAME, info->comm, "manual", true, std::nullopt, info->uid, Evidence::Manual,
         info->start_time, false, seen_ns});
    return store_marks();
}

Status GameTracker::unmark_game(uint32_t pid) {
    auto existing = processes_.find(pid);
    if (existing == processes_.end() || existing->second.class_id != FP_CLASS_GAME)
        return Error{-ENOENT, "process " + std::to_string(pid) + " is not a game"};
    unmarked_[pid] = {existing->second.start_time, existing->second.seen_ns};
    forget(pid);
    return store_marks();
}

void GameTracker::decide(const ProcessInfo& info, std::string reason_prefix,
                         std::optional<uint64_t> latency_ns, uint64_t seen_ns) {
    Classification verdict = classify_process(info, rules_);
    if (verdict.class_id == FP_CLASS_NONE) {
        forget(info.pid);
        return;
    }
    auto existing = processes_.find(info.pid);
    if (existing != processes_.end() && existing->second.class_id == verdict.class_id &&
        existing->second.evidence == verdict.evidence) {
        // The same decision, maybe for the pid's next process: the earlier one's exit must
        // not take it away.
        existing->second.seen_ns = std::max(existing->second.seen_ns, seen_ns);
        existing->second.start_time = info.start_time;
        return;
    }
    set({info.pid, verdict.class_id, info.comm, reason_prefix + verdict.reason, false, latency_ns,
         info.uid, verdict.evidence, info.start_time, false, seen_ns});
}

void GameTracker::write_class(uint32_t pid, fp_class class_id) {
    if (!map_)
        return;
    if (auto status = map_->set_class(pid, class_id); !status)
        log_printf(LOG_WARNING, "%s", status.error().message.c_str());
}

// Once per episode: while the map is full, decisions take weaker places or wait.
void GameTracker::note_full() {
    if (full_reported_)
        return;
    full_reported_ = true;
    log_structured(LOG_WARNING, message_id::kClassMapFull,
                   "the scheduler's classes map is full (" + std::to_string(admission_.capacity()) +
                       " processes): new decisions take the places of weaker ones (*.exe "
                       "names, first from the user with the most) or wait",
                   {{"FRAMEPACE_CLASS_CAPACITY", std::to_string(admission_.capacity())},
                    {"FRAMEPACE_CLASS_WAITING", std::to_string(admission_.waiting_count())}});
}

void GameTracker::set(ClassifiedProcess entry) {
    auto decision = admission_.request(entry.pid, entry.uid, entry.evidence);
    entry.in_scheduler = decision.placed;
    if (decision.evicted) {
        auto& lost = processes_.at(*decision.evicted);
        lost.in_scheduler = false;
        if (map_)
            if (auto status = map_->clear_class(lost.pid); !status)
                log_printf(LOG_WARNING, "%s", status.error().message.c_str());
        log_printf(LOG_DEBUG, "%s (%u, uid %u) gave its place in the classes map to %u",
                   lost.comm.c_str(), lost.pid, lost.uid, entry.pid);
    }
    if (decision.evicted || !decision.placed)
        note_full();
    LogFields fields = {{"FRAMEPACE_PID", std::to_string(entry.pid)},
                        {"FRAMEPACE_COMM", entry.comm},
                        {"FRAMEPACE_CLASS", class_name(entry.class_id)},
                        {"FRAMEPACE_REASON", entry.reason},
                        {"FRAMEPACE_UID", std::to_string(entry.uid)},
                        {"FRAMEPACE_IN_SCHEDULER", entry.in_scheduler ? "1" : "0"}};
    if (entry.latency_ns)
        fields.emplace_back("FRAMEPACE_LATENCY_US", std::to_string(*entry.latency_ns / 1000));
    log_structured(LOG_INFO, message_id::kProcessClassified,
                   std::string(entry.comm) + " (" + std::to_string(entry.pid) + ") is " +
                       (entry.class_id == FP_CLASS_GAME ? "a game" : class_name(entry.class_id)) +
                       " (" + entry.reason + ")" +
                       (entry.in_scheduler ? "" : "; waiting for a place in the classes map"),
                   fields);
    // One without a place never had one: request() keeps a place once given.
    if (entry.in_scheduler)
        write_class(entry.pid, entry.class_id);
    processes_[entry.pid] = std::move(entry);
}

void GameTracker::forget(uint32_t pid) {
    auto it = processes_.find(pid);
    if (it == processes_.end())
        return;
    bool had_place = it->second.in_scheduler;
    processes_.erase(it);
    auto promoted = admission_.release(pid);
    if (admission_.waiting_count() == 0)
        full_reported_ = false;
    if (had_place && map_)
        if (auto status = map_->clear_class(pid); !status)
            log_printf(LOG_WARNING, "%s", status.error().message.c_str());
    if (promoted) {
        auto& next = processes_.at(*promoted);
        next.in_scheduler = true;
        write_class(next.pid, next.class_id);
    }
}

}  // namespace framepace
