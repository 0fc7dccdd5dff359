// Typed decoding of Varlink method parameters: each field has a name, a type, a range and a
// target. Unknown fields, wrong types and out-of-range values are rejected, naming the field
// (the InvalidParameter error's "parameter").
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace framepace::varlink {

class ParamTable {
public:
    ParamTable& optional_uint(std::string name, std::optional<uint64_t>* target, uint64_t min = 0,
                              uint64_t max = UINT64_MAX);
    ParamTable& required_uint(std::string name, std::optional<uint64_t>* target, uint64_t min = 0,
                              uint64_t max = UINT64_MAX);
    ParamTable& optional_bool(std::string name, std::optional<bool>* target);
    ParamTable& required_string(std::string name, std::string* target);

    // nullopt when every field decoded; otherwise the name of the first bad one.
    std::optional<std::string> decode(const nlohmann::json& parameters) const;

private:
    struct Field {
        std::string name;
        bool required;
        // Returns false when the value has the wrong type or is out of range.
        std::function<bool(const nlohmann::json&)> assign;
    };
    ParamTable& add_uint(std::string name, bool required, std::optional<uint64_t>* target,
                         uint64_t min, uint64_t max);
    std::vector<Field> fields_;
};

}  // namespace framepace::varlink
