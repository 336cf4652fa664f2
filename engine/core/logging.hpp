#pragma once
// Logging: spdlog to stdout (text or JSON lines) and optionally to a file (JSON lines
// unless configured otherwise), one named logger per module sharing the same sinks. Structured
// events (cluster events, failovers) carry fields that become top-level JSON keys, e.g.
//   {"ts":"…","level":"info","logger":"cluster","event":"CLUSTER_EVENT",
//    "type":"MemberUp","member":"pekko://sys@h:2551","msg":"Member is Up"}

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/logger.h>

namespace wfe::core {

class settings_reader;

struct logging_settings {
  enum class format { text, json };
  format fmt = format::text;  // stdout
  spdlog::level::level_enum level = spdlog::level::info;
  std::string file;                // empty: stdout only
  format file_fmt = format::json;  // the file's lines: for collectors (`grep … | jq`)

  static logging_settings read(settings_reader& r);  // pekko.workflow.logging.*
};

// Installs the sinks; before this call, loggers write text to stdout. Fails with
// a message when the log file cannot be opened.
std::string init_logging(const logging_settings& s);

// Closes and reopens the log file (SIGHUP after logrotate moved it); no-op without one.
// An error text when it cannot be opened again.
std::string reopen_log_file();

// The logger of a module ("core", "api", "cluster", ...), created on first use.
std::shared_ptr<spdlog::logger> logger(std::string_view module);

using log_field = std::pair<std::string_view, std::string>;

// Logs a structured event: `event` goes to the "event" field, `fields` beside it.
void log_event(spdlog::logger& log, spdlog::level::level_enum level, std::string_view event,
               const std::vector<log_field>& fields, std::string_view message);

// Flushes every sink (called at shutdown).
void flush_logs();

}  // namespace wfe::core
