// A value or an error with context, for the boundaries where exceptions must not cross
// (libbpf, sd-event callbacks). g++ 12 has no std::expected.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace framepace {

struct Error {
    int code = 0;          // negative errno, or -EINVAL for our own validation failures
    std::string message;   // says what failed and on which object, errno text included
};

template <typename T>
class [[nodiscard]] Expected {
public:
    Expected(T value) : state_(std::move(value)) {}
    Expected(Error error) : state_(std::move(error)) {}

    bool ok() const { return std::holds_alternative<T>(state_); }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<T>(state_); }
    T&& value() && { return std::get<T>(std::move(state_)); }
    const T& value() const& { return std::get<T>(state_); }
    const Error& error() const { return std::get<Error>(state_); }
    // For reads whose absence has a natural default (a sysfs value that is not there).
    T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }
    T value_or(T fallback) && { return ok() ? std::move(*this).value() : std::move(fallback); }

    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

private:
    std::variant<T, Error> state_;
};

// For operations that return nothing on success.
struct Ok {};
using Status = Expected<Ok>;

// "what: strerror(-code)", for failed system or library calls.
Error make_error(int code, std::string what);
// A validation failure of our own: -EINVAL and the message as given.
Error invalid_input(std::string what);

}  // namespace framepace
