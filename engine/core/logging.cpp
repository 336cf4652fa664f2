#include "engine/core/logging.hpp"

#include <charconv>
#include <chrono>
#include <ctime>
#include <mutex>
#include <unordered_map>

#include <spdlog/details/file_helper.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "engine/core/settings_reader.hpp"

namespace wfe::core {

namespace {

// Structured payloads are "\x1f<json fields fragment>\x1f<message>".
constexpr char field_mark = '\x1f';

void append_json_string(spdlog::memory_buf_t& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        break;
      case '\\':
        out.append(std::string_view("\\\\"));
        break;
      case '\n':
        out.append(std::string_view("\\n"));
        break;
      case '\r':
        out.append(std::string_view("\\r"));
        break;
      case '\t':
        out.append(std::string_view("\\t"));
        break;
      default:
        if (c < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

struct split_payload {
  std::string_view fields;  // json fragment: "k":"v","k2":"v2"
  std::string_view message;
};

// Reads the JSON string at `p` (log_event's own encoding: escapes as append_json_string
// writes them) into `out`; leaves `p` after its closing quote.
void read_json_string(std::string_view s, std::size_t& p, spdlog::memory_buf_t& out) {
  if (p >= s.size() || s[p] != '"') return;
  for (++p; p < s.size() && s[p] != '"'; ++p) {
    char c = s[p];
    if (c != '\\' || p + 1 >= s.size()) {
      out.push_back(c);
      continue;
    }
    switch (s[++p]) {
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u':  // \u00XX: a control character
        if (unsigned v = 0;
            p + 4 < s.size() &&
            std::from_chars(s.data() + p + 1, s.data() + p + 5, v, 16).ptr == s.data() + p + 5) {
          out.push_back(static_cast<char>(v));
          p += 4;
        }
        break;
      default:  // a quote or a backslash
        out.push_back(s[p]);
    }
  }
  ++p;
}

// "k":"v","k2":"v2" as k=v, k2=v2.
void append_fields_as_text(spdlog::memory_buf_t& out, std::string_view fields) {
  std::size_t p = 0;
  bool first = true;
  while (p < fields.size()) {
    if (!first) out.append(std::string_view(", "));
    first = false;
    if (fields[p] != '"') {  // not log_event's encoding (a message that looks like one)
      out.append(fields.substr(p));
      return;
    }
    read_json_string(fields, p, out);
    if (p < fields.size() && fields[p] == ':') ++p;
    out.push_back('=');
    read_json_string(fields, p, out);
    if (p < fields.size() && fields[p] == ',') ++p;
  }
}

split_payload split(std::string_view payload) {
  if (payload.size() < 2 || payload.front() != field_mark) return {{}, payload};
  auto end = payload.find(field_mark, 1);
  if (end == std::string_view::npos) return {{}, payload};
  return {payload.substr(1, end - 1), payload.substr(end + 1)};
}

void append_timestamp(spdlog::memory_buf_t& out, spdlog::log_clock::time_point tp) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(tp);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp - secs).count();
  std::time_t t = spdlog::log_clock::to_time_t(tp);
  std::tm tm{};
  gmtime_r(&t, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ms);
}

class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& out) override {
    auto p = split(std::string_view(msg.payload.data(), msg.payload.size()));
    out.append(std::string_view("{\"ts\":\""));
    append_timestamp(out, msg.time);
    out.append(std::string_view("\",\"level\":"));
    auto lvl = spdlog::level::to_string_view(msg.level);
    append_json_string(out, std::string_view(lvl.data(), lvl.size()));
    out.append(std::string_view(",\"logger\":"));
    append_json_string(out, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    fmt::format_to(std::back_inserter(out), ",\"thread\":{}", msg.thread_id);
    if (!p.fields.empty()) {
      out.push_back(',');
      out.append(p.fields);
    }
    out.append(std::string_view(",\"msg\":"));
    append_json_string(out, p.message);
    out.append(std::string_view("}\n"));
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

// Text lines: "2026-11-23T10:00:00.123Z INFO  [cluster] message {event=X, k=v}"
class text_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& out) override {
    auto p = split(std::string_view(msg.payload.data(), msg.payload.size()));
    append_timestamp(out, msg.time);
    auto lvl = spdlog::level::to_short_c_str(msg.level);
    fmt::format_to(std::back_inserter(out), " {} [{}] ", lvl,
                   std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    out.append(p.message);
    if (!p.fields.empty()) {
      out.append(std::string_view(" {"));
      append_fields_as_text(out, p.fields);
      out.push_back('}');
    }
    out.push_back('\n');
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<text_formatter>();
  }
};

// spdlog's basic_file_sink, plus reopen(): the same file name opened again (appending),
// under the sink's own lock, so no line is lost or torn while it happens.
class reopenable_file_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit reopenable_file_sink(const std::string& file) { file_.open(file, false); }
  // An error text when the file cannot be opened again (lines then go to stdout only,
  // until a reopen succeeds).
  std::string reopen() {
    const std::lock_guard lock(mutex_);
    try {
      file_.reopen(false);
      return {};
    } catch (const std::exception& e) {
      return e.what();
    }
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    file_.write(formatted);
  }
  void flush_() override { file_.flush(); }

 private:
  spdlog::details::file_helper file_;
};

struct logging_state {
  std::mutex mutex;
  std::vector<spdlog::sink_ptr> sinks;
  std::shared_ptr<reopenable_file_sink> file;
  logging_settings settings;
  std::unordered_map<std::string, std::shared_ptr<spdlog::logger>> loggers;
};

logging_state& state() {
  static logging_state s;
  return s;
}

std::unique_ptr<spdlog::formatter> make_formatter(logging_settings::format f) {
  if (f == logging_settings::format::json) return std::make_unique<json_formatter>();
  return std::make_unique<text_formatter>();
}

// Each sink has its own formatter (stdout and the file may differ): not set per logger.
void apply(spdlog::logger& l, const logging_state& s) {
  l.sinks() = s.sinks;
  l.set_level(s.settings.level);
  // Every line reaches the file at once, as stdout's sink does: a node killed with
  // SIGKILL (or crashing) keeps its last lines, the ones an operator needs.
  l.flush_on(spdlog::level::trace);
}

spdlog::sink_ptr stdout_sink(logging_settings::format f) {
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  sink->set_formatter(make_formatter(f));
  return sink;
}

}  // namespace

logging_settings logging_settings::read(settings_reader& r) {
  logging_settings s;
  auto f = r.one_of("pekko.workflow.logging.format", {"text", "json"});
  s.fmt = f == "json" ? format::json : format::text;
  auto level =
      r.one_of("pekko.workflow.logging.level", {"trace", "debug", "info", "warn", "error", "off"});
  s.level = spdlog::level::from_str(level);
  s.file = r.string("pekko.workflow.logging.file");
  s.file_fmt = r.one_of("pekko.workflow.logging.file-format", {"text", "json"}) == "text"
                   ? format::text
                   : format::json;
  return s;
}

std::string init_logging(const logging_settings& settings) {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  std::vector<spdlog::sink_ptr> sinks{stdout_sink(settings.fmt)};
  if (!settings.file.empty()) {
    try {
      auto file = std::make_shared<reopenable_file_sink>(settings.file);
      file->set_formatter(make_formatter(settings.file_fmt));
      sinks.push_back(file);
      s.file = std::move(file);
    } catch (const std::exception& e) {
      return "cannot open log file " + settings.file + ": " + e.what();
    }
  }
  if (settings.file.empty()) s.file.reset();
  s.sinks = std::move(sinks);
  s.settings = settings;
  for (auto& [name, l] : s.loggers) apply(*l, s);
  return {};
}

std::shared_ptr<spdlog::logger> logger(std::string_view module) {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  auto it = s.loggers.find(std::string(module));
  if (it != s.loggers.end()) return it->second;
  if (s.sinks.empty()) s.sinks.push_back(stdout_sink(s.settings.fmt));
  auto l = std::make_shared<spdlog::logger>(std::string(module));
  apply(*l, s);
  s.loggers.emplace(std::string(module), l);
  return l;
}

void log_event(spdlog::logger& log, spdlog::level::level_enum level, std::string_view event,
               const std::vector<log_field>& fields, std::string_view message) {
  if (!log.should_log(level)) return;
  // Always a JSON fragment: the text formatter shows it as k=v (a sink of each format
  // may log the same line).
  spdlog::memory_buf_t buf;
  buf.push_back(field_mark);
  auto add = [&](std::string_view k, std::string_view v, bool first) {
    if (!first) buf.push_back(',');
    append_json_string(buf, k);
    buf.push_back(':');
    append_json_string(buf, v);
  };
  add("event", event, true);
  for (const auto& [k, v] : fields) add(k, v, false);
  buf.push_back(field_mark);
  buf.append(message);
  log.log(level, "{}", std::string_view(buf.data(), buf.size()));
}

std::string reopen_log_file() {
  auto& s = state();
  std::shared_ptr<reopenable_file_sink> file;
  {
    const std::lock_guard lock(s.mutex);
    file = s.file;
  }
  return file ? file->reopen() : std::string();
}

void flush_logs() {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  for (auto& [name, l] : s.loggers) l->flush();
}

}  // namespace wfe::core
