#include "varlink/server/params.h"

namespace framepace::varlink {

ParamTable& ParamTable::optional_uint(std::string name, std::optional<uint64_t>* target,
                                      uint64_t min, uint64_t max) {
    return add_uint(std::move(name), false, target, min, max);
}

ParamTable& ParamTable::required_uint(std::string name, std::optional<uint64_t>* target,
                                      uint64_t min, uint64_t max) {
    return add_uint(std::move(name), true, target, min, max);
}

ParamTable& ParamTable::add_uint(std::string name, bool required, std::optional<uint64_t>* target,
                                 uint64_t min, uint64_t max) {
    fields_.push_back({std::move(name), required, [=](const nlohmann::json& value) {
                           // Parsed JSON stores non-negative numbers as unsigned; values
                           // built in code may be signed.
                           if (!value.is_number_integer())
                               return false;
                           if (!value.is_number_unsigned() && value.get<int64_t>() < 0)
                               return false;
                           uint64_t v = value.get<uint64_t>();
                           if (v < min || v > max)
                               return false;
                           *target = v;
                           return true;
                       }});
    return *this;
}

ParamTable& ParamTable::optional_bool(std::string name, std::optional<bool>* target) {
    fields_.push_back({std::move(name), false, [=](const nlohmann::json& value) {
                           if (!value.is_boolean())
                               return false;
                           *target = value.get<bool>();
                           return true;
                       }});
    return *this;
}

ParamTable& ParamTable::required_string(std::string name, std::string* target) {
    fields_.push_back({std::move(name), true, [=](const nlohmann::json& value) {
                           if (!value.is_string())
                               return false;
                           *target = value.get<std::string>();
                           return true;
                       }});
    return *this;
}

std::optional<std::string> ParamTable::decode(const nlohmann::json& parameters) const {
    if (!parameters.is_object())
        return std::string("parameters");
    for (const auto& [key, value] : parameters.items()) {
        const Field* field = nullptr;
        for (const auto& f : fields_)
            if (f.name == key)
                field = &f;
        if (!field)
            return key;
        // Varlink: null means "not given".
        if (value.is_null()) {
            if (field->required)
                return key;
            continue;
        }
        if (!field->assign(value))
            return key;
    }
    for (const auto& f : fields_)
        if (f.required && (!parameters.contains(f.name) || parameters[f.name].is_null()))
            return f.name;
    return std::nullopt;
}

}  // namespace framepace::varlink
