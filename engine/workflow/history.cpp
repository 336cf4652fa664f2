#include "engine/workflow/history.hpp"

#include <cstdio>
#include <ctime>

#include <boost/json.hpp>

#include "engine/workflow/workflow_codec.hpp"

namespace wfe::workflow {

namespace json = boost::json;

std::string format_time_ms(std::int64_t epoch_ms) {
  std::int64_t secs = epoch_ms / 1000;
  std::int64_t ms = epoch_ms % 1000;
  if (ms < 0) {  // floor for times before 1970
    ms += 1000;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%.*s.%03dZ", static_cast<int>(n), buf, static_cast<int>(ms));
  return out;
}

json::object record_json(const store::workflow_record& r) {
  return {{"id", r.id},
          {"definition", r.definition},
          {"version", r.version},
          {"status", to_string(r.status)},
          {"priority", r.priority},
          {"createdAt", format_time_ms(r.created_at_ms)},
          {"updatedAt", format_time_ms(r.updated_at_ms)}};
}

json::value history_json(std::span<const recorded_event> events) {
  json::array out;
  out.reserve(events.size());
  for (const auto& r : events) {
    json::object data;
    if (const auto* started = std::get_if<ev::workflow_started>(&r.e.body)) {
      data = json::object{{"id", started->id},
                          {"definition", json::object{{"name", started->definition->name},
                                                      {"version", started->definition->version}}},
                          {"input", started->input},
                          {"priority", started->priority},
                          {"timeoutMs", started->timeout_ms}};
    } else {
      data = event_data(r.e.body);
    }
    out.push_back(json::object{{"seq", r.seq},
                               {"type", event_type_name(r.e.body)},
                               {"at", format_time_ms(r.e.at_ms)},
                               {"data", std::move(data)}});
  }
  return json::object{{"events", std::move(out)}};
}

namespace {

json::value step_json(const workflow_state& s, std::size_t i) {
  const auto& st = s.steps[i];
  const auto& def = s.definition->steps[i];
  json::object o{{"name", st.name}, {"status", to_string(st.status)}, {"attempts", st.attempts}};
  if (st.status == step_status::running) {
    if (const auto awaited = awaited_signal(def); !awaited.empty()) o["awaitingSignal"] = awaited;
    for (const auto& t : s.timers) {
      if (t.kind == timer_kind::delay && t.step == st.name) o["wakesAt"] = format_time_ms(t.due_ms);
    }
  }
  if (st.status == step_status::completed) o["output"] = st.output;
  if (!st.error.empty()) {
    o["error"] = st.error;
    o["errorType"] = st.error_type;
    if (!st.error_details->is_null()) o["errorDetails"] = st.error_details;
  }
  return o;
}

}  // namespace

json::value workflow_json(const workflow_state& s) {
  json::array steps;
  steps.reserve(s.steps.size());
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    steps.push_back(step_json(s, i));
  }
  json::array signals;
  for (const auto& sg : s.signals) {
    signals.push_back(json::object{{"name", sg.name}, {"at", format_time_ms(sg.at_ms)}});
  }
  json::object o{{"id", s.id},
                 {"definition", s.definition->name},
                 {"version", s.definition->version},
                 {"status", to_string(s.status)},
                 {"priority", s.priority},
                 {"input", s.input},
                 {"steps", std::move(steps)},
                 {"signals", std::move(signals)},
                 {"createdAt", format_time_ms(s.created_at_ms)},
                 {"updatedAt", format_time_ms(s.updated_at_ms)}};
  if (s.failure) {
    o["failure"] = json::object{
        {"step", s.failure->step}, {"error", s.failure->error}, {"attempts", s.failure->attempts}};
  }
  if (s.status == workflow_status::cancelled && !s.cancel_reason.empty()) {
    o["cancelReason"] = s.cancel_reason;
  }
  return o;
}

}  // namespace wfe::workflow
