#include "daemon/system_bus/power_profile_follower.h"

namespace framepace {

void PowerProfileFollower::update(size_t source, const std::optional<std::string>& profile) {
    if (source >= kSources.size())
        return;
    reported_[source] = true;
    profiles_[source] = profile;

    // A name is only passed over once it has answered: the preferred one may still come.
    std::optional<ActiveProfile> active;
    for (size_t i = 0; i < kSources.size() && !active; i++) {
        if (!reported_[i])
            return;
        if (profiles_[i])
            active = ActiveProfile{kSources[i].service, *profiles_[i]};
    }
    if (announced_ && active == active_)
        return;
    announced_ = true;
    active_ = std::move(active);
    on_change_(active_);
}

}  // namespace framepace
