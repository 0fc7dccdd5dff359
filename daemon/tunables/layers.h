// Where each live tunable's value comes from. From weakest to strongest: the built-in
// default, the preset of the active power profile, the stored choices (SetTunables with
// persist), the command line, and SetTunables at run time. An explicit choice wins over any
// preset until it is reset; the command line is the unit's configuration and stays.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/framepace_shared.h"
#include "daemon/tunables/tunables.h"

namespace framepace {

enum class TunableSource { Default, Preset, Stored, CommandLine, Set };

std::string_view tunable_source_name(TunableSource source);

class TunableLayers {
public:
    void set_stored(const TunableOverrides& values) { stored_ = values; }
    void set_command_line(const TunableOverrides& values) { command_line_ = values; }
    // An empty name with no values: no preset (no profile service, or an unmapped profile).
    void set_preset(std::string name, const TunableOverrides& values);
    // SetTunables: these values are explicit from now on.
    void set_explicit(const TunableOverrides& values);
    // Back to defaults and preset, except for the command line.
    void reset_explicit();

    // A scheduler adopted after a daemon crash carries the run-time choices of the daemon
    // before: the tunables flagged in its user_set_mask. A choice out of the range this
    // version accepts (a daemon before an upgrade that narrowed it) is not adopted: the
    // result names each one left out, and the layers below give that tunable's value.
    std::vector<std::string> adopt_explicit(const fp_tunables& adopted);

    // What the scheduler should run with, user_set_mask included.
    fp_tunables effective() const;
    TunableSource source(size_t index) const;
    const std::string& preset_name() const { return preset_name_; }
    // What SetTunables(persist) stores: the stored choices and the run-time ones.
    TunableOverrides persistent() const;

private:
    TunableOverrides preset_{}, stored_{}, command_line_{}, set_{};
    std::string preset_name_;
};

}  // namespace framepace
