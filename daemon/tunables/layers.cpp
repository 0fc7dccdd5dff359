#include "daemon/tunables/layers.h"

#include <iterator>
#include <utility>

namespace framepace {

static_assert(std::size(kTunableRanges) <= 64, "user_set_mask has one bit per tunable");

std::string_view tunable_source_name(TunableSource source) {
    switch (source) {
    case TunableSource::Default: return "default";
    case TunableSource::Preset: return "preset";
    case TunableSource::Stored: return "stored";
    case TunableSource::CommandLine: return "command-line";
    case TunableSource::Set: return "set";
    }
    return "default";
}

void TunableLayers::set_preset(std::string name, const TunableOverrides& values) {
    preset_name_ = std::move(name);
    preset_ = values;
}

void TunableLayers::set_explicit(const TunableOverrides& values) {
    for (size_t i = 0; i < values.size(); i++)
        if (values[i])
            set_[i] = values[i];
}

void TunableLayers::reset_explicit() {
    stored_ = {};
    set_ = {};
}

std::vector<std::string> TunableLayers::adopt_explicit(const fp_tunables& adopted) {
    std::vector<std::string> rejected;
    set_ = {};
    for (size_t i = 0; i < set_.size() && i < 64; i++) {
        if (!(adopted.user_set_mask & (1ULL << i)))
            continue;
        const TunableRange& range = kTunableRanges[i];
        uint64_t value = tunable_value(adopted, range);
        if (auto status = check_tunable(range, value); status)
            set_[i] = value;
        else
            rejected.push_back(status.error().message);
    }
    return rejected;
}

TunableSource TunableLayers::source(size_t index) const {
    if (set_[index])
        return TunableSource::Set;
    if (command_line_[index])
        return TunableSource::CommandLine;
    if (stored_[index])
        return TunableSource::Stored;
    if (preset_[index])
        return TunableSource::Preset;
    return TunableSource::Default;
}

fp_tunables TunableLayers::effective() const {
    fp_tunables tunables = default_tunables();
    for (const auto* layer : {&preset_, &stored_, &command_line_, &set_})
        tunables = apply_overrides(tunables, *layer);
    tunables.user_set_mask = 0;
    for (size_t i = 0; i < set_.size(); i++)
        if (set_[i])
            tunables.user_set_mask |= 1ULL << i;
    return tunables;
}

TunableOverrides TunableLayers::persistent() const {
    TunableOverrides values = stored_;
    for (size_t i = 0; i < set_.size(); i++)
        if (set_[i])
            values[i] = set_[i];
    return values;
}

}  // namespace framepace
