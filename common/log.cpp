#include "common/log.h"

#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

namespace framepace {
namespace {

bool journal = false;
int max_priority = LOG_INFO;

bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (!stream)
        return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2)
        return false;
    struct stat st{};
    if (fstat(STDERR_FILENO, &st) < 0)
        return false;
    return st.st_dev == dev && st.st_ino == ino;
}

std::string stderr_field_name(std::string_view key) {
    constexpr std::string_view prefix = "FRAMEPACE_";
    if (key.substr(0, prefix.size()) == prefix)
        key.remove_prefix(prefix.size());
    std::string name(key);
    for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name;
}

const char* priority_prefix(int priority) {
    switch (priority) {
    case LOG_EMERG:
    case LOG_ALERT:
    case LOG_CRIT:
    case LOG_ERR: return "error: ";
    case LOG_WARNING: return "warning: ";
    case LOG_DEBUG: return "debug: ";
    default: return "";
    }
}

}  // namespace

void log_setup(LogTarget target, int priority) {
    journal = target == LogTarget::Journal || (target == LogTarget::Auto && stderr_is_journal());
    max_priority = priority;
}

void log_printf(int priority, const char* format, ...) {
    if (priority > max_priority)
        return;
    char buffer[2048];
    va_list ap;
    va_start(ap, format);
    std::vsnprintf(buffer, sizeof(buffer), format, ap);
    va_end(ap);
    log_message(priority, buffer);
}

void log_message(int priority, std::string_view message) {
    if (priority > max_priority)
        return;
    if (journal) {
        std::string field = "MESSAGE=";
        field += message;
        std::string priority_field = "PRIORITY=" + std::to_string(priority);
        struct iovec iov[2] = {{field.data(), field.size()},
                               {priority_field.data(), priority_field.size()}};
        sd_journal_sendv(iov, 2);
    } else {
        std::fprintf(stderr, "framepaced: %s%.*s\n", priority_prefix(priority),
                     static_cast<int>(message.size()), message.data());
    }
}

void log_structured(int priority, std::string_view message_id, std::string_view message,
                    const LogFields& fields) {
    if (priority > max_priority)
        return;
    if (!journal) {
        // On a terminal the fields read as key=value, without the journal's FRAMEPACE_ prefix.
        std::string line(message);
        for (const auto& [key, value] : fields)
            line += " " + stderr_field_name(key) + "=" + value;
        std::fprintf(stderr, "framepaced: %s%s\n", priority_prefix(priority), line.c_str());
        return;
    }
    std::vector<std::string> items;
    items.reserve(fields.size() + 3);
    items.push_back("MESSAGE=" + std::string(message));
    items.push_back("MESSAGE_ID=" + std::string(message_id));
    items.push_back("PRIORITY=" + std::to_string(priority));
    for (const auto& [key, value] : fields)
        items.push_back(key + "=" + value);
    std::vector<iovec> iov;
    iov.reserve(items.size());
    for (auto& item : items)
        iov.push_back(iovec{item.data(), item.size()});
    sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

}  // namespace framepace
