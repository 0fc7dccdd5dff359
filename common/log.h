// Logging: structured journal entries under systemd, readable lines on stderr otherwise.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <syslog.h>

namespace framepace {

using LogFields = std::vector<std::pair<std::string, std::string>>;

enum class LogTarget { Auto, Journal, Stderr };

// Auto picks the journal when stderr is the journal stream systemd gave us ($JOURNAL_STREAM).
void log_setup(LogTarget target, int max_priority);

void log_printf(int priority, const char* format, ...) __attribute__((format(printf, 2, 3)));

// One entry of any length (a verifier log); multi-line text stays one entry.
void log_message(int priority, std::string_view message);

// One entry with MESSAGE_ID= and FRAMEPACE_* fields; on stderr the fields follow the message.
void log_structured(int priority, std::string_view message_id, std::string_view message,
                    const LogFields& fields);

}  // namespace framepace
