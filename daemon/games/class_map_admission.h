// Who gets a place in the scheduler's "classes" map when more processes are classified than
// it holds (4096). Any local user can start thousands of processes named *.exe; that must
// not keep a Steam game, a rule of root's or a MarkGame out of the scheduler. Places go by
// evidence first (process_classifier.h: Manual > Strong > Weak) and by fairness between
// users second:
//  - while there is room, every decision gets a place;
//  - when the map is full, a decision takes the place of a weaker one, from the user who
//    holds the most places of that weakest kind;
//  - between equals (not Manual), it takes a place from another user who holds at least two
//    more places of that kind than its own user does: no user crowds out the others, and
//    places do not flap between two users;
//  - otherwise it waits, and gets a place when one is freed (strongest first, then the user
//    with the fewest places of that kind).
// So a Steam game always gets a place, unless the map is full of Steam, rule or manual
// entries and its own user already holds as many of them as anyone: crowding is only possible
// against oneself. Pure bookkeeping: GameTracker writes the map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "daemon/games/process_classifier.h"

namespace framepace {

class ClassMapAdmission {
public:
    explicit ClassMapAdmission(size_t capacity) : capacity_(capacity) {}

    struct Decision {
        bool placed = false;
        std::optional<uint32_t> evicted;   // lost its place to this one (now waiting)
    };

    // pid, classified, asks for a place (again: with new evidence it keeps a place it has).
    Decision request(uint32_t pid, uint32_t uid, Evidence evidence);
    // pid is no longer classified; returns the waiting pid that takes over its place, if any.
    std::optional<uint32_t> release(uint32_t pid);

    bool placed(uint32_t pid) const;
    size_t placed_count() const { return placed_count_; }
    size_t waiting_count() const { return entries_.size() - placed_count_; }
    size_t capacity() const { return capacity_; }

private:
    using Bucket = std::pair<Evidence, uint32_t>;   // kind of evidence, uid
    struct Entry {
        uint32_t uid;
        Evidence evidence;
        bool placed;
    };

    void place(uint32_t pid, Entry& entry);
    void unplace(uint32_t pid, Entry& entry);
    size_t count(const Bucket& bucket) const;
    // The user holding the most places of the weakest kind that has any.
    std::optional<Bucket> crowded_bucket() const;

    size_t capacity_;
    size_t placed_count_ = 0;
    std::unordered_map<uint32_t, Entry> entries_;
    std::map<Bucket, std::set<uint32_t>> placed_, waiting_;
};

}  // namespace framepace
