#include "api/task_routes.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "api/responder_message.hpp"
#include "engine/workflow/definition.hpp"
#include "engine/workflow/tasks/task_messages.hpp"

namespace wfe::api {

namespace {

namespace json = boost::json;
using workflow::external_completion;
using workflow::external_failure;
using workflow::external_poll;
using workflow::poll_reply;
using workflow::token_reply;

constexpr std::size_t k_text_max = 256;      // workerId, errorType
constexpr std::size_t k_token_max = 64;      // tokens are 32 hex digits
constexpr std::size_t k_message_max = 4096;  // a failure's error text is truncated to this

http_response bad(std::string_view code, std::string message) {
  return http_response::error(400, code, message);
}

// The body as a JSON object; an empty body is {} when `empty_ok`.
std::optional<json::object> parse_object(const std::string& body, bool empty_ok,
                                         http_response& error) {
  if (body.empty() && empty_ok) return json::object{};
  boost::system::error_code ec;
  json::parse_options opt;
  opt.max_depth = 64;
  auto v = json::parse(body, ec, {}, opt);
  if (ec) {
    error = bad("invalid_json", "malformed JSON: " + ec.message());
    return std::nullopt;
  }
  if (!v.is_object()) {
    error = bad("invalid_json", "the body must be a JSON object");
    return std::nullopt;
  }
  return std::move(v.get_object());
}

// An optional string field of at most `max` bytes; false (and `error`) on a wrong type.
bool read_string(const json::object& o, std::string_view field, std::size_t max, std::string& out,
                 http_response& error) {
  const auto* v = o.if_contains(field);
  if (v == nullptr || v->is_null()) return true;
  if (!v->is_string() || v->get_string().size() > max) {
    error = bad("invalid_field", "\"" + std::string(field) + "\" must be a string of at most " +
                                     std::to_string(max) + " bytes");
    return false;
  }
  out = std::string(v->get_string());
  return true;
}

bool valid_token(const std::string& t) {
  return !t.empty() && t.size() <= k_token_max && std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

http_response not_found(const std::string& token) {
  return http_response::error(404, "task_not_found",
                              "no task with token '" + token.substr(0, k_token_max) +
                                  "' (unknown, expired or already finished)");
}

http_response dispatcher_unavailable(const caf::error& e) {
  return http_response::error(503, "unavailable",
                              "the task dispatcher did not answer in time: " + caf::to_string(e));
}

http_response render(const poll_reply& p) {
  switch (p.what) {
    case poll_reply::status::task: {
      const auto& r = p.request;
      json::object o{{"token", p.token},
                     {"workflowId", r.workflow_id},
                     {"step", r.step},
                     {"attempt", r.attempt},
                     {"task", r.task},
                     {"input", r.input},
                     {"workflowInput", r.workflow_input},
                     {"dependencyOutputs", json::object{}},
                     {"priority", workflow::to_string(r.priority)},
                     {"heartbeatTimeoutMs", p.heartbeat_timeout_ms}};
      auto& outputs = o["dependencyOutputs"].as_object();
      for (const auto& d : r.dependency_outputs) outputs[d.step] = d.output;
      return http_response::json(200, json::serialize(o));
    }
    case poll_reply::status::empty: {
      http_response res;
      res.status = 204;
      return res;
    }
    case poll_reply::status::too_many_pollers:
      return http_response::error(429, "too_many_pollers",
                                  "too many workers are already waiting on this queue");
    case poll_reply::status::too_many_queues:
      return http_response::error(429, "too_many_queues",
                                  "too many task queues are in use on this node");
  }
  return http_response::error(500, "internal", "unexpected poll reply");
}

http_response render(const token_reply& t, const std::string& token, bool finishing) {
  switch (t.what) {
    case token_reply::status::ok:
      if (finishing) return http_response::json(200, R"({"duplicate":false})");
      return http_response::json(
          200, t.cancel_requested ? R"({"cancelRequested":true})" : R"({"cancelRequested":false})");
    case token_reply::status::duplicate:
      return http_response::json(200, R"({"duplicate":true})");
    case token_reply::status::not_found:
      return not_found(token);
    case token_reply::status::recovering: {
      auto res = http_response::error(
          503, "recovering",
          "no task with token '" + token.substr(0, k_token_max) +
              "' yet: the node is recovering the workflows it found interrupted at start, "
              "and the task may be queued again shortly; retry");
      res.headers.emplace_back("Retry-After", "1");
      return res;
    }
    case token_reply::status::unavailable: {
      auto res = http_response::error(503, "unavailable", t.message);
      res.headers.emplace_back("Retry-After", "1");
      return res;
    }
  }
  return not_found(token);
}

json::object per_priority(const std::array<std::uint64_t, 3>& n) {
  return json::object{{"high", n[0]}, {"normal", n[1]}, {"low", n[2]}};
}

json::object render_queue(const workflow::queue_report& q) {
  return json::object{{"name", q.name},
                      {"queued", per_priority(q.queued)},
                      {"parked", per_priority(q.parked)},
                      {"pollers", q.pollers},
                      {"leases", q.running}};
}

// GET /api/v1/tasks/queues: the whole report; with a `name` (non-empty), that queue
// only, zeros when it is not in use (a queue exists while it has tasks, polls or leases).
http_response render(const workflow::queues_report& r, const std::string& name) {
  if (!name.empty()) {
    for (const auto& q : r.queues) {
      if (q.name == name) return http_response::json(200, json::serialize(render_queue(q)));
    }
    workflow::queue_report idle;
    idle.name = name;
    return http_response::json(200, json::serialize(render_queue(idle)));
  }
  json::array queues;
  queues.reserve(r.queues.size());
  for (const auto& q : r.queues) queues.push_back(render_queue(q));
  json::object local{{"queued", per_priority(r.local.queued)},
                     {"parked", per_priority(r.local.parked)},
                     {"running", r.local.running}};
  return http_response::json(
      200, json::serialize(json::object{{"local", std::move(local)},
                                        {"queues", std::move(queues)},
                                        {"waitingForAQueue", r.waiting_for_a_queue}}));
}

caf::behavior task_gateway(caf::event_based_actor* self, const task_routes_config& cfg) {
  auto dispatcher = *cfg.dispatcher;
  const auto timeout = cfg.ask_timeout;
  const auto poll_timeout = cfg.poll_wait_max + cfg.ask_timeout;
  return {
      [=](workflow::task_poll_atom, external_poll& p, const responder& r) {
        self->request(dispatcher, poll_timeout, workflow::task_poll_atom::value, std::move(p))
            .then([r](const poll_reply& reply) { r(render(reply)); },
                  [r](caf::error& e) { r(dispatcher_unavailable(e)); });
      },
      [=](workflow::task_complete_atom, const std::string& token, external_completion& c,
          const responder& r) {
        self->request(dispatcher, timeout, workflow::task_complete_atom::value, token, std::move(c))
            .then([r, token](const token_reply& t) { r(render(t, token, true)); },
                  [r](caf::error& e) { r(dispatcher_unavailable(e)); });
      },
      [=](workflow::task_fail_atom, const std::string& token, external_failure& f,
          const responder& r) {
        self->request(dispatcher, timeout, workflow::task_fail_atom::value, token, std::move(f))
            .then([r, token](const token_reply& t) { r(render(t, token, true)); },
                  [r](caf::error& e) { r(dispatcher_unavailable(e)); });
      },
      [=](workflow::task_queues_atom, const std::string& name, const responder& r) {
        self->request(dispatcher, timeout, workflow::task_queues_atom::value)
            .then([r, name](const workflow::queues_report& q) { r(render(q, name)); },
                  [r](caf::error& e) { r(dispatcher_unavailable(e)); });
      },
      [=](workflow::task_heartbeat_atom, const std::string& token, const responder& r) {
        self->request(dispatcher, timeout, workflow::task_heartbeat_atom::value, token)
            .then([r, token](const token_reply& t) { r(render(t, token, false)); },
                  [r](caf::error& e) { r(dispatcher_unavailable(e)); });
      },
  };
}

std::optional<external_poll> parse_poll(const std::string& body, http_response& error) {
  auto o = parse_object(body, false, error);
  if (!o) return std::nullopt;
  external_poll p;
  const auto* q = o->if_contains("queue");
  if (q == nullptr || !q->is_string() || !workflow::is_valid_id(q->get_string())) {
    error = bad("invalid_field", "\"queue\" must be 1-256 bytes of [A-Za-z0-9._:-]");
    return std::nullopt;
  }
  p.queue = std::string(q->get_string());
  if (!read_string(*o, "workerId", k_text_max, p.worker_id, error)) return std::nullopt;
  if (const auto* w = o->if_contains("waitMs"); w != nullptr && !w->is_null()) {
    if (w->is_int64() && w->get_int64() >= 0) {
      p.wait_ms = w->get_int64();
    } else if (w->is_uint64()) {
      p.wait_ms = INT64_MAX;  // clamped to the maximum by the dispatcher
    } else {
      error = bad("invalid_field", "\"waitMs\" must be a non-negative integer");
      return std::nullopt;
    }
  }
  return p;
}

std::optional<external_failure> parse_failure(const std::string& body, http_response& error) {
  auto o = parse_object(body, false, error);
  if (!o) return std::nullopt;
  external_failure f;
  const auto* e = o->if_contains("error");
  if (e == nullptr || !e->is_string()) {
    error = bad("invalid_field", "\"error\" (a string) is required");
    return std::nullopt;
  }
  f.error =
      std::string(e->get_string().subview(0, std::min(e->get_string().size(), k_message_max)));
  if (!read_string(*o, "errorType", k_text_max, f.error_type, error)) return std::nullopt;
  if (const auto* n = o->if_contains("nonRetryable"); n != nullptr && !n->is_null()) {
    if (!n->is_bool()) {
      error = bad("invalid_field", "\"nonRetryable\" must be a boolean");
      return std::nullopt;
    }
    f.non_retryable = n->get_bool();
  }
  if (auto* d = o->if_contains("details")) f.details = std::move(*d);  // the body is bounded
  return f;
}

}  // namespace

caf::actor add_task_routes(router& r, const task_routes_config& cfg) {
  auto gw = cfg.system->spawn(task_gateway, cfg);
  const auto max_bytes = cfg.max_result_bytes;
  auto too_large = [max_bytes](const http_request& req) { return req.body.size() > max_bytes; };
  auto payload_too_large = [max_bytes] {
    return http_response::error(413, "payload_too_large",
                                "the body is larger than " + std::to_string(max_bytes) + " bytes");
  };
  r.add("POST", "/api/v1/tasks/poll", [=](http_request&& req, responder respond) {
    if (too_large(req)) return respond(payload_too_large());
    http_response error;
    auto p = parse_poll(req.body, error);
    if (!p) return respond(std::move(error));
    caf::anon_send(gw, workflow::task_poll_atom::value, std::move(*p), std::move(respond));
  });
  r.add("POST", "/api/v1/tasks/{token}/complete", [=](http_request&& req, responder respond) {
    const auto& token = req.params["token"];
    if (too_large(req)) return respond(payload_too_large());
    http_response error;
    auto o = parse_object(req.body, true, error);
    if (!o) return respond(std::move(error));
    if (!valid_token(token)) return respond(not_found(token));
    external_completion c;
    if (auto* out = o->if_contains("output")) {
      c.output = std::move(*out);
    } else {
      c.output = json::object{};
    }
    caf::anon_send(gw, workflow::task_complete_atom::value, token, std::move(c),
                   std::move(respond));
  });
  r.add("POST", "/api/v1/tasks/{token}/fail", [=](http_request&& req, responder respond) {
    const auto& token = req.params["token"];
    if (too_large(req)) return respond(payload_too_large());
    http_response error;
    auto f = parse_failure(req.body, error);
    if (!f) return respond(std::move(error));
    if (!valid_token(token)) return respond(not_found(token));
    caf::anon_send(gw, workflow::task_fail_atom::value, token, std::move(*f), std::move(respond));
  });
  r.add("GET", "/api/v1/tasks/queues", [=](http_request&&, responder respond) {
    caf::anon_send(gw, workflow::task_queues_atom::value, std::string(), std::move(respond));
  });
  r.add("GET", "/api/v1/tasks/queues/{name}", [=](http_request&& req, responder respond) {
    const auto& name = req.params["name"];
    if (!workflow::is_valid_id(name)) {
      return respond(bad("invalid_queue", "a queue name is 1-256 bytes of [A-Za-z0-9._:-]"));
    }
    caf::anon_send(gw, workflow::task_queues_atom::value, name, std::move(respond));
  });
  r.add("POST", "/api/v1/tasks/{token}/heartbeat", [=](http_request&& req, responder respond) {
    const auto& token = req.params["token"];
    if (!valid_token(token)) return respond(not_found(token));
    caf::anon_send(gw, workflow::task_heartbeat_atom::value, token, std::move(respond));
  });
  return gw;
}

}  // namespace wfe::api
