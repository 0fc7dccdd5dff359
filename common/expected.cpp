#include "common/expected.h"

#include <cerrno>
#include <cstring>

namespace framepace {

Error make_error(int code, std::string what) {
    if (code < 0) {
        what += ": ";
        what += std::strerror(-code);
    }
    return Error{code < 0 ? code : -EINVAL, std::move(what)};
}

Error invalid_input(std::string what) { return Error{-EINVAL, std::move(what)}; }

}  // namespace framepace
