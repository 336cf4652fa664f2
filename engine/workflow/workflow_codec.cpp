#include "engine/workflow/workflow_codec.hpp"

#include <array>
#include <charconv>
#include <exception>
#include <memory>

#include <boost/json.hpp>

#include "engine/core/overloaded.hpp"

namespace wfe::workflow {

namespace json = boost::json;

namespace {

using core::overloaded;

// Readers throw on a missing field or a wrong type; the public decoders catch.
std::string str(const json::object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}
std::int64_t i64(const json::object& o, std::string_view key) {
  return o.at(key).to_number<std::int64_t>();
}
std::uint32_t u32(const json::object& o, std::string_view key) {
  return o.at(key).to_number<std::uint32_t>();
}
json::value any(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? *v : json::value{};
}

struct decode_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class E>
E parse_enum(std::string_view text, std::initializer_list<E> all, std::string_view what) {
  for (E e : all) {
    if (to_string(e) == text) return e;
  }
  throw decode_failure("unknown " + std::string(what) + " '" + std::string(text) + "'");
}

// How a payload names its definition: v1 payloads carry it whole, v2 payloads name it
// {"name","version"} and it is looked up in `catalog` (null: history, names only).
struct decode_context {
  bool embedded = false;
  const definition_catalog* catalog = nullptr;
};

// Interned: the workflows recovered from one definition version share one copy.
definition_ref definition_from(const json::value& v, const decode_context& ctx) {
  if (ctx.embedded) {
    auto d = decode_definition_value(v);
    if (!d) throw decode_failure("definition: " + d.error().field + ": " + d.error().message);
    return intern(definition_ref(std::move(*d)));
  }
  const auto& o = v.as_object();
  auto name = str(o, "name");
  const auto version = u32(o, "version");
  if (ctx.catalog == nullptr)
    return definition_ref(workflow_definition{std::move(name), version, {}});
  auto found = ctx.catalog->find(name, version);
  if (!found) {
    throw decode_failure("definition '" + name + "' version " + std::to_string(version) +
                         " is not in this node's definition registry");
  }
  return std::move(*found);
}

using body_decoder = event_body (*)(const json::object&, const decode_context&);

struct event_kind {
  std::string_view name;
  body_decoder decode;
};

// Indexed like event_body's alternatives.
const event_kind k_kinds[] = {
    {"WorkflowStarted",
     [](const json::object& d, const decode_context& ctx) -> event_body {
       return ev::workflow_started{str(d, "id"), definition_from(d.at("definition"), ctx),
                                   any(d, "input"), str(d, "priority"), i64(d, "timeoutMs")};
     }},
    {"StepScheduled",
     [](const json::object& d, const decode_context&) -> event_body {
       return ev::step_scheduled{str(d, "step"), u32(d, "attempt")};
     }},
    {"StepStarted",
     [](const json::object& d, const decode_context&) -> event_body {
       return ev::step_started{str(d, "step"), u32(d, "attempt")};
     }},
    {"StepCompleted",
     [](const json::object& d, const decode_context&) -> event_body {
       return ev::step_completed{str(d, "step"), u32(d, "attempt"), any(d, "output")};
     }},
    {"StepFailed",
     [](const json::object& d, const decode_context&) -> event_body {
       return ev::step_failed{str(d, "step"), u32(d, "attempt"), str(d, "errorType"),
                              str(d, "message"), any(d, "details")};
     }},
    {"StepRetryScheduled",
     [](const json::object& d, const decode_context&) -> event_body {
       return ev::step_retry_scheduled{str(d, "step"), u32(d, "nextAttempt"), i64(d, "delayMs"),
                                       i64(d, "dueMs")};
     }},
    {"StepTimedOut",
     [](const json::object& d, const decode_context&) -> event_body {
       return ev::step_timed_out{str(d, "step"), u32(d, "attempt")};
     }},
    {"SignalReceived",
     [](const json::object& d, const decode_context&) -> event_body {
       return ev::signal_received{str(d, "name"), any(d, "payload")};
     }},
    {"WorkflowCompleted",
     [](const json::object&, const decode_context&) -> event_body {
       return ev::workflow_completed{};
     }},
    {"WorkflowFailed",
     [](const json::object& d, const decode_context&) -> event_body {
       return ev::workflow_failed{str(d, "step"), str(d, "error"), u32(d, "attempts")};
     }},
    {"WorkflowCancelled",
     [](const json::object& d, const decode_context&) -> event_body {
       return ev::workflow_cancelled{str(d, "reason")};
     }},
    {"StepRetriedFromDeadLetter",
     [](const json::object& d, const decode_context&) -> event_body {
       return ev::step_retried_from_dead_letter{str(d, "step")};
     }},
};
static_assert(std::size(k_kinds) == std::variant_size_v<event_body>);

json::object definition_name(const workflow_definition& d) {
  return json::object{{"name", d.name}, {"version", d.version}};
}

json::object step_ref(const std::string& step, std::uint32_t attempt) {
  return json::object{{"step", step}, {"attempt", attempt}};
}

json::value step_to_json(const step_state& st) {
  json::object o{{"name", st.name},         {"status", to_string(st.status)},
                 {"attempts", st.attempts}, {"runAttempts", st.run_attempts},
                 {"output", st.output},     {"errorType", st.error_type},
                 {"error", st.error}};
  if (!st.error_details->is_null()) o["errorDetails"] = st.error_details;
  return o;
}

step_state step_from_json(const json::object& o) {
  step_state st;
  st.name = str(o, "name");
  st.status = parse_enum(
      o.at("status").as_string(),
      {step_status::pending, step_status::scheduled, step_status::running, step_status::retry_wait,
       step_status::completed, step_status::failed, step_status::cancelled},
      "step status");
  st.attempts = u32(o, "attempts");
  st.run_attempts = u32(o, "runAttempts");
  st.output = any(o, "output");
  st.error_type = str(o, "errorType");
  st.error = str(o, "error");
  st.error_details = any(o, "errorDetails");  // absent in snapshots written before it
  return st;
}

json::value timer_to_json(const timer& t) {
  return json::object{
      {"dueMs", t.due_ms}, {"kind", to_string(t.kind)}, {"step", t.step}, {"attempt", t.attempt}};
}

timer timer_from_json(const json::object& o) {
  auto kind = parse_enum(o.at("kind").as_string(),
                         {timer_kind::retry, timer_kind::step_timeout, timer_kind::workflow_timeout,
                          timer_kind::delay},
                         "timer kind");
  return timer{i64(o, "dueMs"), kind, str(o, "step"), u32(o, "attempt")};
}

workflow_state state_from_object(const json::object& o, const decode_context& ctx) {
  workflow_state s;
  s.started = o.at("started").as_bool();
  if (!s.started) return s;
  s.id = str(o, "id");
  if (!ctx.embedded && ctx.catalog == nullptr) throw decode_failure("no definition catalog");
  s.definition = definition_from(o.at("definition"), ctx);
  s.input = any(o, "input");
  s.priority = str(o, "priority");
  s.status = parse_enum(o.at("status").as_string(),
                        {workflow_status::running, workflow_status::completed,
                         workflow_status::failed, workflow_status::cancelled},
                        "workflow status");
  for (const auto& st : o.at("steps").as_array()) s.steps.push_back(step_from_json(st.as_object()));
  if (s.steps.size() != s.definition->steps.size())
    throw decode_failure("steps do not match the definition");
  for (const auto& t : o.at("timers").as_array())
    s.timers.push_back(timer_from_json(t.as_object()));
  for (const auto& v : o.at("signals").as_array()) {
    const auto& so = v.as_object();
    s.signals.push_back(signal_record{str(so, "name"), any(so, "payload"), i64(so, "at")});
  }
  if (const auto& f = o.at("failure"); !f.is_null()) {
    const auto& fo = f.as_object();
    s.failure = dead_letter_info{str(fo, "step"), str(fo, "error"), u32(fo, "attempts")};
  }
  s.cancel_reason = str(o, "cancelReason");
  s.created_at_ms = i64(o, "createdAt");
  s.updated_at_ms = i64(o, "updatedAt");
  return s;
}

template <class T, class F>
decoded<T> guarded(std::string_view what, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return core::unexpected<std::string>{"cannot decode " + std::string(what) + ": " + e.what()};
  }
}

}  // namespace

std::string_view event_type_name(const event_body& body) { return k_kinds[body.index()].name; }

json::object event_data(const event_body& body) {
  return std::visit(
      overloaded{
          [](const ev::workflow_started& e) {
            return json::object{{"id", e.id},
                                {"definition", definition_name(*e.definition)},
                                {"input", e.input},
                                {"priority", e.priority},
                                {"timeoutMs", e.timeout_ms}};
          },
          [](const ev::step_scheduled& e) { return step_ref(e.step, e.attempt); },
          [](const ev::step_started& e) { return step_ref(e.step, e.attempt); },
          [](const ev::step_completed& e) {
            auto o = step_ref(e.step, e.attempt);
            o["output"] = e.output;
            return o;
          },
          [](const ev::step_failed& e) {
            auto o = step_ref(e.step, e.attempt);
            o["errorType"] = e.error_type;
            o["message"] = e.message;
            if (!e.details->is_null()) o["details"] = e.details;
            return o;
          },
          [](const ev::step_retry_scheduled& e) {
            return json::object{{"step", e.step},
                                {"nextAttempt", e.next_attempt},
                                {"delayMs", e.delay_ms},
                                {"dueMs", e.due_ms}};
          },
          [](const ev::step_timed_out& e) { return step_ref(e.step, e.attempt); },
          [](const ev::signal_received& e) {
            return json::object{{"name", e.name}, {"payload", e.payload}};
          },
          [](const ev::workflow_completed&) { return json::object{}; },
          [](const ev::workflow_failed& e) {
            return json::object{{"step", e.step}, {"error", e.error}, {"attempts", e.attempts}};
          },
          [](const ev::workflow_cancelled& e) {
            return json::object{{"reason", e.reason}};
          },
          [](const ev::step_retried_from_dead_letter& e) {
            return json::object{{"step", e.step}};
          },
      },
      body);
}

json::value event_to_json(const event& e) {
  return json::object{
      {"type", event_type_name(e.body)}, {"at", e.at_ms}, {"data", event_data(e.body)}};
}

namespace {

decoded<event> event_from_json(const json::value& v, const decode_context& ctx) {
  return guarded<event>("event", [&]() -> decoded<event> {
    const auto& o = v.as_object();
    const auto type = o.at("type").as_string();
    for (const auto& k : k_kinds) {
      if (k.name == type) return event{i64(o, "at"), k.decode(o.at("data").as_object(), ctx)};
    }
    return core::unexpected<std::string>{"unknown event type '" + std::string(type) + "'"};
  });
}

// Writes an event's JSON straight into a string, byte for byte what
// json::serialize(event_to_json(e)) writes (workflow_codec.test.cpp compares them for
// every event kind) without building a json::value tree first: one event per change,
// five per short workflow, and the tree cost ~6k instructions per event.
class event_writer {
 public:
  explicit event_writer(std::string& out) : out_(out) {}

  event_writer& raw(std::string_view s) {
    out_ += s;
    return *this;
  }
  // A JSON string as boost::json writes it: plain text verbatim, anything that needs an
  // escape through boost::json itself.
  event_writer& str(std::string_view s) {
    for (const char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || c == '"' || c == '\\') {
        out_ += json::serialize(json::string_view(s.data(), s.size()));
        return *this;
      }
    }
    out_ += '"';
    out_ += s;
    out_ += '"';
    return *this;
  }
  // Numbers through std::to_chars into a buffer, appended once (std::to_string built a
  // string per number: ~250 instructions for a timestamp).
  event_writer& num(std::int64_t v) {
    char buf[24];
    out_.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
    return *this;
  }
  event_writer& num(std::uint32_t v) { return num(static_cast<std::int64_t>(v)); }
  // A name of this codec's own (an event type), which never needs an escape.
  event_writer& name(std::string_view s) {
    out_ += '"';
    out_ += s;
    out_ += '"';
    return *this;
  }
  event_writer& val(const json::value& v) {
    // The usual input and output of a noop step, without a serializer.
    if (v.is_null()) return raw("null");
    if (const auto* o = v.if_object(); o != nullptr && o->empty()) return raw("{}");
    out_ += json::serialize(v);
    return *this;
  }
  event_writer& step_ref(const std::string& step, std::uint32_t attempt) {
    return raw("{\"step\":").str(step).raw(",\"attempt\":").num(attempt);
  }

 private:
  std::string& out_;
};

}  // namespace

std::string start_reply_json(std::string_view id, workflow_status status,
                             const workflow_definition& def, std::string_view priority) {
  std::string out;
  out.reserve(72 + id.size() + def.name.size());
  event_writer w(out);
  w.raw("{\"id\":").str(id).raw(",\"status\":").str(to_string(status));
  w.raw(",\"definition\":").str(def.name).raw(",\"version\":").num(def.version);
  w.raw(",\"priority\":").str(priority).raw("}");
  return out;
}

namespace {

void write_data(event_writer& w, const event_body& body) {
  std::visit(
      overloaded{
          [&](const ev::workflow_started& e) {
            w.raw("{\"id\":").str(e.id);
            w.raw(",\"definition\":{\"name\":").str(e.definition->name);
            w.raw(",\"version\":").num(e.definition->version).raw("}");
            w.raw(",\"input\":").val(e.input);
            w.raw(",\"priority\":").str(e.priority);
            w.raw(",\"timeoutMs\":").num(e.timeout_ms).raw("}");
          },
          [&](const ev::step_scheduled& e) { w.step_ref(e.step, e.attempt).raw("}"); },
          [&](const ev::step_started& e) { w.step_ref(e.step, e.attempt).raw("}"); },
          [&](const ev::step_completed& e) {
            w.step_ref(e.step, e.attempt).raw(",\"output\":").val(e.output).raw("}");
          },
          [&](const ev::step_failed& e) {
            w.step_ref(e.step, e.attempt).raw(",\"errorType\":").str(e.error_type);
            w.raw(",\"message\":").str(e.message);
            if (!e.details->is_null()) w.raw(",\"details\":").val(e.details);
            w.raw("}");
          },
          [&](const ev::step_retry_scheduled& e) {
            w.raw("{\"step\":").str(e.step).raw(",\"nextAttempt\":").num(e.next_attempt);
            w.raw(",\"delayMs\":").num(e.delay_ms).raw(",\"dueMs\":").num(e.due_ms).raw("}");
          },
          [&](const ev::step_timed_out& e) { w.step_ref(e.step, e.attempt).raw("}"); },
          [&](const ev::signal_received& e) {
            w.raw("{\"name\":").str(e.name).raw(",\"payload\":").val(e.payload).raw("}");
          },
          [&](const ev::workflow_completed&) { w.raw("{}"); },
          [&](const ev::workflow_failed& e) {
            w.raw("{\"step\":").str(e.step).raw(",\"error\":").str(e.error);
            w.raw(",\"attempts\":").num(e.attempts).raw("}");
          },
          [&](const ev::workflow_cancelled& e) { w.raw("{\"reason\":").str(e.reason).raw("}"); },
          [&](const ev::step_retried_from_dead_letter& e) {
            w.raw("{\"step\":").str(e.step).raw("}");
          },
      },
      body);
}

}  // namespace

std::string encode_event(const event& e) {
  std::string out;
  out.reserve(128);
  event_writer w(out);
  w.raw("{\"type\":").name(event_type_name(e.body)).raw(",\"at\":").num(e.at_ms);
  w.raw(",\"data\":");
  write_data(w, e.body);
  w.raw("}");
  return out;
}

bool is_event_manifest(std::string_view manifest) {
  return manifest == k_event_manifest || manifest == k_event_manifest_v1;
}

decoded<event> decode_event(std::string_view manifest, std::string_view payload,
                            const definition_catalog* definitions) {
  if (!is_event_manifest(manifest)) {
    return core::unexpected<std::string>{"unknown event manifest '" + std::string(manifest) + "'"};
  }
  std::error_code ec;
  auto v = json::parse(payload, ec);
  if (ec) return core::unexpected<std::string>{"event payload is not JSON: " + ec.message()};
  return event_from_json(v, decode_context{manifest == k_event_manifest_v1, definitions});
}

json::value state_to_json(const workflow_state& s) {
  json::array steps, timers, signals;
  for (const auto& st : s.steps) steps.push_back(step_to_json(st));
  for (const auto& t : s.timers) timers.push_back(timer_to_json(t));
  for (const auto& sg : s.signals) {
    signals.push_back(json::object{{"name", sg.name}, {"payload", sg.payload}, {"at", sg.at_ms}});
  }
  json::value failure;
  if (s.failure) {
    failure = json::object{
        {"step", s.failure->step}, {"error", s.failure->error}, {"attempts", s.failure->attempts}};
  }
  if (!s.started) return json::object{{"started", false}};
  return json::object{{"started", true},
                      {"id", s.id},
                      {"definition", definition_name(*s.definition)},
                      {"input", s.input},
                      {"priority", s.priority},
                      {"status", to_string(s.status)},
                      {"steps", std::move(steps)},
                      {"timers", std::move(timers)},
                      {"signals", std::move(signals)},
                      {"failure", std::move(failure)},
                      {"cancelReason", s.cancel_reason},
                      {"createdAt", s.created_at_ms},
                      {"updatedAt", s.updated_at_ms}};
}

namespace {

decoded<workflow_state> state_from_json(const json::value& v, const decode_context& ctx) {
  return guarded<workflow_state>(
      "state", [&]() -> decoded<workflow_state> { return state_from_object(v.as_object(), ctx); });
}

}  // namespace

std::string encode_state(const workflow_state& s) { return json::serialize(state_to_json(s)); }

decoded<workflow_state> decode_state(std::string_view manifest, std::string_view payload,
                                     const definition_catalog& definitions) {
  if (manifest != k_state_manifest && manifest != k_state_manifest_v1) {
    return core::unexpected<std::string>{"unknown state manifest '" + std::string(manifest) + "'"};
  }
  std::error_code ec;
  auto v = json::parse(payload, ec);
  if (ec) return core::unexpected<std::string>{"state payload is not JSON: " + ec.message()};
  return state_from_json(v, decode_context{manifest == k_state_manifest_v1, &definitions});
}

}  // namespace wfe::workflow
