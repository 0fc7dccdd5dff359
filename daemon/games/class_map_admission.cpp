#include "daemon/games/class_map_admission.h"

namespace framepace {

bool ClassMapAdmission::placed(uint32_t pid) const {
    auto it = entries_.find(pid);
    return it != entries_.end() && it->second.placed;
}

size_t ClassMapAdmission::count(const Bucket& bucket) const {
    auto it = placed_.find(bucket);
    return it == placed_.end() ? 0 : it->second.size();
}

void ClassMapAdmission::place(uint32_t pid, Entry& entry) {
    Bucket bucket{entry.evidence, entry.uid};
    if (auto it = waiting_.find(bucket);
        it != waiting_.end() && it->second.erase(pid) && it->second.empty())
        waiting_.erase(it);
    placed_[bucket].insert(pid);
    entry.placed = true;
    placed_count_++;
}

void ClassMapAdmission::unplace(uint32_t pid, Entry& entry) {
    Bucket bucket{entry.evidence, entry.uid};
    if (auto it = placed_.find(bucket);
        it != placed_.end() && it->second.erase(pid) && it->second.empty())
        placed_.erase(it);
    entry.placed = false;
    placed_count_--;
}

std::optional<ClassMapAdmission::Bucket> ClassMapAdmission::crowded_bucket() const {
    std::optional<Bucket> best;
    size_t best_count = 0;
    // placed_ is ordered by evidence first: stop after the weakest kind present.
    for (const auto& [bucket, pids] : placed_) {
        if (best && bucket.first != best->first)
            break;
        if (pids.size() > best_count) {
            best = bucket;
            best_count = pids.size();
        }
    }
    return best;
}

ClassMapAdmission::Decision ClassMapAdmission::request(uint32_t pid, uint32_t uid,
                                                       Evidence evidence) {
    auto [it, added] = entries_.try_emplace(pid, Entry{uid, evidence, false});
    Entry& entry = it->second;
    if (!added) {
        bool was_placed = entry.placed;
        if (was_placed)
            unplace(pid, entry);
        else if (auto w = waiting_.find({entry.evidence, entry.uid}); w != waiting_.end()) {
            w->second.erase(pid);
            if (w->second.empty())
                waiting_.erase(w);
        }
        entry.uid = uid;
        entry.evidence = evidence;
        // A place once had is kept whatever the evidence becomes.
        if (was_placed) {
            place(pid, entry);
            return {true, std::nullopt};
        }
    }
    if (placed_count_ < capacity_) {
        place(pid, entry);
        return {true, std::nullopt};
    }
    Decision decision;
    auto crowded = crowded_bucket();
    bool take = false;
    if (crowded && crowded->first < evidence)
        take = true;
    else if (crowded && crowded->first == evidence && evidence != Evidence::Manual &&
             crowded->second != uid && count(*crowded) > count({evidence, uid}) + 1)
        take = true;
    if (take) {
        // The newest-looking pid of the crowded bucket goes: which one matters little.
        uint32_t victim = *placed_[*crowded].rbegin();
        Entry& lost = entries_.at(victim);
        unplace(victim, lost);
        waiting_[*crowded].insert(victim);
        place(pid, entry);
        decision = {true, victim};
    } else {
        waiting_[{evidence, uid}].insert(pid);
    }
    return decision;
}

std::optional<uint32_t> ClassMapAdmission::release(uint32_t pid) {
    auto it = entries_.find(pid);
    if (it == entries_.end())
        return std::nullopt;
    Entry entry = it->second;
    if (entry.placed) {
        unplace(pid, it->second);
    } else if (auto w = waiting_.find({entry.evidence, entry.uid}); w != waiting_.end()) {
        w->second.erase(pid);
        if (w->second.empty())
            waiting_.erase(w);
    }
    entries_.erase(it);
    if (!entry.placed || waiting_.empty() || placed_count_ >= capacity_)
        return std::nullopt;
    // Strongest kind first (waiting_ is ordered weakest first), then the user with the
    // fewest places of that kind.
    Evidence strongest = waiting_.rbegin()->first.first;
    std::optional<Bucket> chosen;
    size_t fewest = 0;
    for (auto w = waiting_.lower_bound({strongest, 0}); w != waiting_.end(); ++w) {
        size_t held = count(w->first);
        if (!chosen || held < fewest) {
            chosen = w->first;
            fewest = held;
        }
    }
    uint32_t next = *waiting_[*chosen].begin();
    place(next, entries_.at(next));
    return next;
}

}  // namespace framepace
