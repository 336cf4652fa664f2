#include "api/workflow_routes.hpp"

#include <array>
#include <atomic>
#include <charconv>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <unordered_map>
#include <utility>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "engine/workflow/definition.hpp"
#include "engine/workflow/history.hpp"
#include "engine/workflow/runtime/archive.hpp"
#include "engine/workflow/runtime/runtime_messages.hpp"
#include "engine/workflow/runtime/shard_hash.hpp"
#include "engine/workflow/runtime/workflow_region.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/tasks/task_dispatcher.hpp"
#include "engine/workflow/workflow_codec.hpp"
#include "persistence/journal_actor.hpp"

namespace wfe::api {
namespace {

namespace json = boost::json;
namespace wf = wfe::workflow;
namespace store = wfe::workflow::store;
using wf::runtime::entity_envelope;
using wf::runtime::entity_reply;

struct define_req {
  wf::workflow_definition def;
  responder r;
};
struct getdef_req {
  std::string name;
  std::uint32_t version = 0;
  responder r;
};
struct listdefs_req {
  store::list_definitions q;
  responder r;
};
struct start_req {
  wf::cmd::start cmd;
  std::string definition;
  std::uint32_t version = 0;
  responder r;
};
enum class entity_op : std::uint8_t { get, signal, cancel, retry };
struct entity_req {
  entity_op op = entity_op::get;
  std::string id;
  wf::command cmd;
  responder r;
};
struct history_req {
  std::string id;
  std::uint64_t from = 1;
  std::uint32_t limit = 0;
  responder r;
  bool again = false;  // the second read after an empty one (see history())
};
struct list_req {
  store::list_workflows q;
  responder r;
};
struct dead_letters_req {
  store::list_dead_letters q;
  responder r;
};
struct shards_req {
  responder r;
};
struct retry_page_req {
  store::list_dead_letters q;
  responder r;
};
struct delete_req {
  std::string id;
  responder r;
};
struct archived_req {
  std::string id;
  std::uint64_t from = 1;
  std::uint32_t limit = 0;
  responder r;
};
struct archived_list_req {
  wf::runtime::archive_list q;
  responder r;
};

}  // namespace
}  // namespace wfe::api

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::define_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::getdef_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::listdefs_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::start_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::entity_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::history_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::list_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::dead_letters_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::delete_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::shards_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::retry_page_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::archived_req)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::archived_list_req)

namespace wfe::api {
namespace {

// 400 {"error":{"code":"invalid_request","message":"<field>: ...","field":"<field>"}}.
http_response bad_request(std::string_view field, std::string_view message) {
  json::object e{{"code", "invalid_request"},
                 {"message", std::string(field) + ": " + std::string(message)},
                 {"field", field}};
  return http_response::json(400, json::serialize(json::object{{"error", std::move(e)}}));
}

// Parses a JSON body (bounded depth); an empty body is `empty_as` when given.
std::optional<json::value> parse_body(const std::string& body, http_response& err,
                                      std::optional<json::value> empty_as = std::nullopt) {
  if (body.empty() && empty_as) return empty_as;
  json::parse_options opt;
  opt.max_depth = 64;
  boost::system::error_code ec;
  auto v = json::parse(body, ec, {}, opt);
  if (ec) {
    err = http_response::error(400, "invalid_json", "malformed JSON body: " + ec.message());
    return std::nullopt;
  }
  return v;
}

std::optional<std::string> id_param(const http_request& req, const char* name, http_response& err) {
  auto it = req.params.find(name);
  std::string v = it == req.params.end() ? std::string() : it->second;
  if (!wf::is_valid_id(v)) {
    err = bad_request(name, "must be 1-256 bytes of [A-Za-z0-9._:-]");
    return std::nullopt;
  }
  return v;
}

// Unsigned query parameter in [min, max]; absent -> fallback.
std::optional<std::uint64_t> uint_query(const http_request& req, const char* name,
                                        std::uint64_t fallback, std::uint64_t min,
                                        std::uint64_t max, http_response& err) {
  auto it = req.query.find(name);
  if (it == req.query.end()) return fallback;
  std::uint64_t v = 0;
  const auto& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < min || v > max) {
    err = bad_request(
        name, "must be an integer between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return v;
}

// ?limit= (0 = the index's default; at most `max_limit`, the index's list-max-limit) and
// ?cursor= of a listing.
bool page_params(const http_request& req, std::uint32_t max_limit, std::uint32_t& limit,
                 std::string& cursor, http_response& err) {
  auto l = uint_query(req, "limit", 0, 1, max_limit, err);
  if (!l) return false;
  limit = static_cast<std::uint32_t>(*l);
  if (auto it = req.query.find("cursor"); it != req.query.end()) cursor = it->second;
  return true;
}

std::string new_workflow_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "wf-";
  for (int i = 0; i < 2; ++i) {
    auto x = rng();
    for (int j = 0; j < 16; ++j, x >>= 4) id.push_back(hex[x & 0xf]);
  }
  return id;
}

std::optional<start_req> parse_start(const std::string& body, http_response& err) {
  auto v = parse_body(body, err);
  if (!v) return std::nullopt;
  if (!v->is_object()) {
    err = bad_request("body", "must be a JSON object");
    return std::nullopt;
  }
  auto& o = v->as_object();  // ours: the input moves out of it
  start_req s;
  if (const auto* id = o.if_contains("id"); id != nullptr && !id->is_null()) {
    if (!id->is_string() || !wf::is_valid_id(id->as_string())) {
      err = bad_request("id", "must be a string of 1-256 bytes of [A-Za-z0-9._:-]");
      return std::nullopt;
    }
    s.cmd.id = std::string(id->as_string());
  } else {
    s.cmd.id = new_workflow_id();
  }
  const auto* def = o.if_contains("definition");
  if (def == nullptr || !def->is_string() || !wf::is_valid_id(def->as_string())) {
    err = bad_request("definition", "required: a definition name (1-256 bytes of [A-Za-z0-9._:-])");
    return std::nullopt;
  }
  s.definition = std::string(def->as_string());
  if (const auto* ver = o.if_contains("version"); ver != nullptr && !ver->is_null()) {
    auto n = ver->if_int64();
    if (n == nullptr || *n < 1 || *n > std::numeric_limits<std::uint32_t>::max()) {
      err = bad_request("version", "must be a positive integer");
      return std::nullopt;
    }
    s.version = static_cast<std::uint32_t>(*n);
  }
  if (auto* in = o.if_contains("input"); in != nullptr && !in->is_null()) {
    s.cmd.input = std::move(*in);
  } else {
    s.cmd.input = json::object{};
  }
  if (const auto* p = o.if_contains("priority"); p != nullptr && !p->is_null()) {
    wf::task_priority parsed{};
    if (!p->is_string() || !wf::parse_priority(p->as_string(), parsed)) {
      err = bad_request("priority", "must be \"high\", \"normal\" or \"low\"");
      return std::nullopt;
    }
    s.cmd.priority = std::string(p->as_string());
  }
  if (const auto* t = o.if_contains("timeoutMs"); t != nullptr && !t->is_null()) {
    auto n = t->if_int64();
    if (n == nullptr || *n < 0 || *n > wf::k_timeout_ms_max) {
      err = bad_request("timeoutMs", "must be an integer between 0 and " +
                                         std::to_string(wf::k_timeout_ms_max) + " (ten years)");
      return std::nullopt;
    }
    s.cmd.timeout_ms = *n;
  }
  return s;
}

std::optional<wf::workflow_status> parse_status(std::string_view s) {
  for (auto st : {wf::workflow_status::running, wf::workflow_status::completed,
                  wf::workflow_status::failed, wf::workflow_status::cancelled}) {
    if (wf::to_string(st) == s) return st;
  }
  return std::nullopt;
}

// ?status= and ?definition= of a listing (absent or empty: no filter).
bool filter_params(const http_request& req, std::optional<wf::workflow_status>& status,
                   std::string& definition, http_response& err) {
  if (auto it = req.query.find("status"); it != req.query.end() && !it->second.empty()) {
    status = parse_status(it->second);
    if (!status) {
      err = bad_request("status", "must be RUNNING, COMPLETED, FAILED or CANCELLED");
      return false;
    }
  }
  if (auto it = req.query.find("definition"); it != req.query.end() && !it->second.empty()) {
    if (!wf::is_valid_id(it->second)) {
      err = bad_request("definition", "must be 1-256 bytes of [A-Za-z0-9._:-]");
      return false;
    }
    definition = it->second;
  }
  return true;
}

// The dead-letter filter: `definition` and `step` (ids; "" or absent = any).
bool dead_letter_filter(std::string_view field, std::string_view value, std::string& out,
                        http_response& err) {
  if (value.empty()) return true;
  if (!wf::is_valid_id(value)) {
    err = bad_request(field, "must be 1-256 bytes of [A-Za-z0-9._:-]");
    return false;
  }
  out = std::string(value);
  return true;
}

// -- responses -------------------------------------------------------------------

http_response error_with_status(unsigned code, std::string_view err_code, std::string_view msg,
                                std::optional<wf::workflow_status> status) {
  json::object e{{"code", err_code}, {"message", msg}};
  if (status) e["status"] = wf::to_string(*status);
  return http_response::json(code, json::serialize(json::object{{"error", std::move(e)}}));
}

http_response rejection_response(const wf::rejection& r) {
  switch (r.code) {
    case wf::rejection_code::not_found:
      return http_response::error(404, "workflow_not_found", r.message);
    case wf::rejection_code::already_exists:
      return error_with_status(409, "already_exists", r.message, r.status);
    case wf::rejection_code::finished:
      return error_with_status(409, "workflow_finished", r.message, r.status);
    case wf::rejection_code::invalid:
      return error_with_status(400, "invalid_request", r.message, r.status);
    case wf::rejection_code::limit:
      if (r.message.find("too large") != std::string::npos) {
        return http_response::error(413, "payload_too_large", r.message);
      }
      return http_response::error(429, "limit_reached", r.message);
  }
  return http_response::error(500, "internal", r.message);
}

http_response storage_error(const persistence::error& e) {
  if (e.code == persistence::errc::invalid_argument) {
    return http_response::error(400, "invalid_request", e.message);
  }
  return http_response::error(503, "unavailable", e.describe());
}

http_response unavailable(const caf::error& e) {
  return http_response::error(503, "unavailable", "no answer in time: " + caf::to_string(e));
}

http_response id_status(unsigned code, const wf::workflow_reply& r) {
  return http_response::json(
      code, json::serialize(json::object{{"id", r.id}, {"status", wf::to_string(r.status)}}));
}

json::object dead_letter_json(const store::dead_letter_record& d) {
  return {{"id", d.id},       {"workflowId", d.workflow_id}, {"step", d.step},
          {"error", d.error}, {"attempts", d.attempts},      {"at", wf::format_time_ms(d.at_ms)}};
}

template <class Items>
http_response page(Items items, const std::string& next) {
  json::object o{{"items", std::move(items)}};
  if (!next.empty()) o["nextCursor"] = next;
  return http_response::json(200, json::serialize(o));
}

// -- starts ----------------------------------------------------------------------

// The latest version of each definition the gateway knows (registered through it or
// looked up once), published as an immutable snapshot: the HTTP threads read it to send
// a start straight to its shard; only the gateway writes it.
struct latest_definitions {
  using map = std::unordered_map<std::string, wf::definition_ref>;
  std::atomic<std::shared_ptr<const map>> snapshot{std::make_shared<const map>()};
};

// Sends a start whose definition is resolved to its entity. The entity answers the
// HTTP request itself (on its thread; formatting is pure): no hop back, no request
// timeout in CAF's clock; a lost answer is bounded by the HTTP request timeout. The
// 201 body is written directly (wf::start_reply_json). `cmd` is taken by rvalue
// reference, not by value: a by-value parameter is moved from its argument while the
// call's arguments are evaluated, in an unspecified order, so `send_start(route(q.id),
// std::move(q), ...)` could route the moved-from, empty id (GCC does: shard_of("")).
void send_start(const caf::actor& to, wf::cmd::start&& cmd, responder r) {
  auto reply = [r, id = cmd.id, def = cmd.definition, priority = cmd.priority](entity_reply res) {
    if (!res) return r(storage_error(res.error()));
    if (res->rejected) return r(rejection_response(*res->rejected));
    auto resp = http_response::json(201, wf::start_reply_json(id, res->status, *def, priority));
    resp.headers.emplace_back("Location", "/api/v1/workflows/" + id);
    r(std::move(resp));
  };
  auto id = cmd.id;
  caf::anon_send(to, entity_envelope{std::move(id), std::move(cmd), std::move(reply)});
}

// -- the gateway -----------------------------------------------------------------

class gateway_actor : public caf::event_based_actor {
 public:
  gateway_actor(caf::actor_config& c, workflow_routes_config cfg,
                std::shared_ptr<latest_definitions> published)
      : caf::event_based_actor(c),
        cfg_(std::move(cfg)),
        region_(*cfg_.region),
        router_(cfg_.router != nullptr ? *cfg_.router : wf::runtime::region_router{}),
        registry_(*cfg_.registry),
        index_(*cfg_.index),
        journal_(*cfg_.journal),
        archiver_(cfg_.archiver != nullptr ? *cfg_.archiver : caf::actor{}),
        published_(std::move(published)) {}

  // The archiver is detached: a handle kept after the exit would keep the actor
  // system's end waiting for it.
  void on_exit() override { archiver_ = caf::actor{}; }

  caf::behavior make_behavior() override {
    return {
        [this](define_req& q) { define(std::move(q)); },
        [this](getdef_req& q) { get_definition(std::move(q)); },
        [this](listdefs_req& q) { list_definitions(std::move(q)); },
        [this](start_req& q) { start(std::move(q)); },
        [this](entity_req& q) { to_entity(std::move(q)); },
        [this](history_req& q) { history(std::move(q)); },
        [this](list_req& q) { list(std::move(q)); },
        [this](dead_letters_req& q) { dead_letters(std::move(q)); },
        [this](retry_page_req& q) { retry_page(std::move(q)); },
        [this](delete_req& q) { remove(std::move(q)); },
        [this](shards_req& q) { shards(std::move(q)); },
        [this](archived_req& q) { archived(std::move(q)); },
        [this](archived_list_req& q) { archived_list(std::move(q)); },
    };
  }

 private:
  void define(define_req q) {
    auto r = q.r;
    auto def = std::make_shared<wf::workflow_definition>(q.def);
    request(registry_, cfg_.ask_timeout, store::register_definition{std::move(q.def)})
        .then(
            [this, r, def](store::register_result& res) {
              if (!res) return r(storage_error(res.error()));
              if (!res->rejected) {
                def->version = res->version;
                remember_latest(std::move(*def));
              }
              if (res->rejected) {
                auto code =
                    res->rejected->code == store::registry_rejection::code_t::too_many_versions
                        ? "too_many_versions"
                        : "too_many_definitions";
                return r(http_response::error(409, code, res->rejected->message));
              }
              json::object o{
                  {"name", res->name}, {"version", res->version}, {"created", res->created}};
              auto resp = http_response::json(res->created ? 201 : 200, json::serialize(o));
              resp.headers.emplace_back("Location", "/api/v1/workflow-definitions/" + res->name);
              r(std::move(resp));
            },
            [r](caf::error& e) { r(unavailable(e)); });
  }

  void get_definition(getdef_req q) {
    auto r = q.r;
    auto name = q.name;
    if (q.version != 0) name += "' version '" + std::to_string(q.version);
    request(registry_, cfg_.ask_timeout, store::get_definition{q.name, q.version})
        .then(
            [r, name](store::definition_lookup& res) {
              if (!res) return r(storage_error(res.error()));
              if (!*res) {
                return r(http_response::error(404, "definition_not_found",
                                              "no workflow definition '" + name + "'"));
              }
              r(http_response::json(200, json::serialize(wf::to_json(**res))));
            },
            [r](caf::error& e) { r(unavailable(e)); });
  }

  // A listing: asks `to` for a page (answered with Result: items, next_cursor) and
  // answers {"items":[item_json(i)...],"nextCursor"?}.
  template <class Result, class Query, class ItemJson>
  void list_page(const caf::actor& to, Query query, const responder& r, ItemJson item_json) {
    request(to, cfg_.ask_timeout, std::move(query))
        .then(
            [r, item_json](Result& res) {
              if (!res) return r(storage_error(res.error()));
              json::array items;
              items.reserve(res->items.size());
              for (const auto& i : res->items) items.push_back(item_json(i));
              r(page(std::move(items), res->next_cursor));
            },
            [r](caf::error& e) { r(unavailable(e)); });
  }

  void list_definitions(listdefs_req q) {
    list_page<store::definition_page_result>(registry_, std::move(q.q), q.r,
                                             [](const store::definition_summary& d) {
                                               return json::object{{"name", d.name},
                                                                   {"version", d.version},
                                                                   {"versions", d.versions},
                                                                   {"steps", d.steps}};
                                             });
  }

  void start(start_req q) {
    auto r = q.r;
    auto shared = std::make_shared<start_req>(std::move(q));
    // The latest version of a definition is known here once it was registered through
    // this gateway or looked up once: a start then costs no registry round trip.
    if (shared->version == 0) {
      if (auto it = latest_.find(shared->definition); it != latest_.end()) {
        shared->cmd.definition = it->second;
        start_entity(shared);
        return;
      }
    }
    request(registry_, cfg_.ask_timeout, store::get_definition{shared->definition, shared->version})
        .then(
            [this, r, shared](store::definition_lookup& res) {
              if (!res) return r(storage_error(res.error()));
              if (!*res) {
                std::string what = "no workflow definition '" + shared->definition + "'";
                if (shared->version != 0) what += " version " + std::to_string(shared->version);
                return r(http_response::error(404, "definition_not_found", what));
              }
              wf::definition_ref def = wf::intern(std::move(**res));
              if (shared->version == 0) remember_latest(def);
              shared->cmd.definition = std::move(def);
              start_entity(shared);
            },
            [r](caf::error& e) { r(unavailable(e)); });
  }

  // Every definition is registered through the node's one gateway (the registry is per
  // node), so this cache cannot miss a newer version; it holds one entry per name, as
  // bounded as the registry's names (pekko.workflow.definitions.max-definitions).
  // Each change is published to the HTTP threads as a new snapshot (a copy: changes
  // are rare, one per registration or first lookup of a name).
  void remember_latest(wf::definition_ref def) {
    auto& slot = latest_[def->name];
    if (slot->version > def->version) return;
    slot = wf::intern(std::move(def));
    published_->snapshot.store(std::make_shared<const latest_definitions::map>(latest_));
  }

  void start_entity(const std::shared_ptr<start_req>& q) {
    const auto& to = entity_route(q->cmd.id);
    send_start(to, std::move(q->cmd), q->r);
  }

  void to_entity(entity_req q) {
    auto r = q.r;
    auto op = q.op;
    auto id = q.id;
    const auto& to = entity_route(q.id);
    const bool archive = static_cast<bool>(archiver_);
    request(to, cfg_.ask_timeout, entity_envelope{q.id, std::move(q.cmd)})
        .then(
            [r, op, id, archive](entity_reply& res) {
              if (!res) return r(storage_error(res.error()));
              if (res->rejected) {
                const auto& rej = *res->rejected;
                if (op == entity_op::retry &&
                    (rej.code == wf::rejection_code::not_found ||
                     (rej.status && *rej.status != wf::workflow_status::failed))) {
                  return r(
                      http_response::error(404, "dead_letter_not_found",
                                           "no open dead letter '" + id + "': " + rej.message));
                }
                auto resp = rejection_response(rej);
                // A workflow retention deleted may be in the archive: say where to look.
                if (op == entity_op::get && rej.code == wf::rejection_code::not_found && archive)
                  resp = http_response::error(404, "workflow_not_found",
                                              "no workflow '" + id +
                                                  "' (one retention deleted may be in the "
                                                  "archive: GET /api/v1/archived-workflows/" +
                                                  id + ")");
                return r(std::move(resp));
              }
              switch (op) {
                case entity_op::get:
                  if (!res->state) return r(http_response::error(500, "internal", "no state"));
                  return r(
                      http_response::json(200, json::serialize(wf::workflow_json(*res->state))));
                case entity_op::signal:
                case entity_op::cancel:
                  return r(id_status(200, *res));
                case entity_op::retry: {
                  json::object o{
                      {"id", id}, {"workflowId", id}, {"status", wf::to_string(res->status)}};
                  return r(http_response::json(202, json::serialize(o)));
                }
              }
            },
            [r](caf::error& e) { r(unavailable(e)); });
  }

  void history(history_req q) {
    auto r = q.r;
    persistence::persistence_id pid{
        persistence::shard_id{wf::runtime::shard_of(q.id, cfg_.number_of_shards)}, q.id};
    auto from = q.from;
    auto limit = q.limit;
    auto id = q.id;
    auto again = q.again;
    persistence::request_replay(
        this, journal_, cfg_.ask_timeout, pid, from, std::numeric_limits<std::uint64_t>::max(),
        limit + 1,
        [this, r, from, limit, id, pid,
         again](persistence::result<std::vector<persistence::event>> res) {
          if (!res) return r(storage_error(res.error()));
          if (res->empty()) {
            // No such workflow, past the end of one, or every event from `from` on was
            // deleted after a snapshot (delete-events-on-snapshot): the highest says which.
            // A workflow started between the two reads (the id was free, or its earlier
            // workflow purged) has events from 1 now: asked again once.
            persistence::request_highest(
                this, journal_, cfg_.ask_timeout, pid,
                [this, r, id, from, limit, again](persistence::result<std::uint64_t> h) {
                  if (!h) return r(storage_error(h.error()));
                  if (*h == 0) {
                    return r(http_response::error(404, "workflow_not_found",
                                                  "no workflow '" + id + "'"));
                  }
                  if (from <= *h && !again) return history(history_req{id, from, limit, r, true});
                  auto body = wf::history_json({});
                  if (from <= *h && body.is_object()) body.as_object()["deletedBefore"] = *h + 1;
                  r(http_response::json(200, json::serialize(body)));
                });
            return;
          }
          std::vector<wf::recorded_event> events;
          events.reserve(std::min<std::size_t>(res->size(), limit));
          for (const auto& e : *res) {
            if (events.size() == limit) break;
            // Names only: the history shows a start's definition as {name, version}.
            auto d = wf::decode_event(e.manifest, e.payload, nullptr);
            if (!d) {
              return r(http_response::error(500, "corrupt_event",
                                            "event " + std::to_string(e.sequence_nr) + " of " + id +
                                                " cannot be decoded: " + d.error()));
            }
            events.push_back({e.sequence_nr, std::move(*d)});
          }
          auto body = wf::history_json(events);
          if (res->size() > limit && body.is_object()) {
            body.as_object()["nextFrom"] = events.back().seq + 1;
          }
          // Events from..first-1 were deleted after a snapshot: say so, the history
          // starts later than asked.
          if (events.front().seq > from && body.is_object()) {
            body.as_object()["deletedBefore"] = events.front().seq;
          }
          r(http_response::json(200, json::serialize(body)));
        });
  }

  // GET /api/v1/archived-workflows/{id}: the archiver reads and pages the line.
  void archived(archived_req q) {
    auto r = q.r;
    auto id = q.id;
    if (!archiver_) {
      return r(http_response::error(
          404, "workflow_not_found",
          "no archived workflow '" + id +
              "': this node keeps no archive (pekko.workflow.retention.archive-dir is not set)"));
    }
    request(archiver_, cfg_.ask_timeout, wf::runtime::archive_read{id, q.from, q.limit})
        .then(
            [r, id](wf::runtime::archive_read_result& res) {
              if (!res) return r(storage_error(res.error()));
              if (!res->found) {
                return r(http_response::error(404, "workflow_not_found",
                                              "no archived workflow '" + id + "'"));
              }
              r(http_response::json(200, std::move(res->body)));
            },
            [r](caf::error& e) { r(unavailable(e)); });
  }

  // GET /api/v1/archived-workflows: the archiver reads a page of its files.
  void archived_list(archived_list_req q) {
    auto r = q.r;
    if (!archiver_) return r(page(json::array{}, ""));  // no archive: nothing archived
    request(archiver_, cfg_.ask_timeout, std::move(q.q))
        .then(
            [r](wf::runtime::archive_read_result& res) {
              if (!res) return r(storage_error(res.error()));
              r(http_response::json(200, std::move(res->body)));
            },
            [r](caf::error& e) { r(unavailable(e)); });
  }

  void list(list_req q) {
    list_page<store::workflow_page_result>(
        index_, std::move(q.q), q.r,
        [](const store::workflow_record& rec) { return wf::record_json(rec); });
  }

  void dead_letters(dead_letters_req q) {
    list_page<store::dead_letter_page_result>(index_, std::move(q.q), q.r, dead_letter_json);
  }

  // POST /api/v1/dead-letters/retry: a page of the dead-letter listing, each retried as
  // POST .../{id}/retry would (all of the page at once; the page bounds them).
  void retry_page(retry_page_req q) {
    auto r = q.r;
    request(index_, cfg_.ask_timeout, std::move(q.q))
        .then(
            [this, r](store::dead_letter_page_result& page) {
              if (!page) return r(storage_error(page.error()));
              // Answered in the listing's order once every retry answered.
              struct outcome {
                std::vector<std::string> ids;
                std::vector<std::optional<json::object>> errors;  // per id; none = retried
                std::size_t left = 0;
                std::string next;
                responder r;
                void one_done() {
                  if (--left > 0) return;
                  json::array retried;
                  json::array failed;
                  for (std::size_t i = 0; i < ids.size(); ++i) {
                    if (!errors[i]) {
                      retried.push_back(json::string(ids[i]));
                    } else {
                      failed.push_back(
                          json::object{{"id", ids[i]}, {"error", std::move(*errors[i])}});
                    }
                  }
                  json::object o{{"retried", std::move(retried)}, {"failed", std::move(failed)}};
                  if (!next.empty()) o["nextCursor"] = next;
                  r(http_response::json(200, json::serialize(o)));
                }
              };
              auto out = std::make_shared<outcome>();
              out->errors.resize(page->items.size());
              out->left = page->items.size() + 1;  // + this loop: answered after it
              out->next = page->next_cursor;
              out->r = r;
              for (std::size_t i = 0; i < page->items.size(); ++i) {
                const auto id = page->items[i].workflow_id;
                out->ids.push_back(id);
                auto failed = [out, i](std::string code, std::string message) {
                  out->errors[i] =
                      json::object{{"code", std::move(code)}, {"message", std::move(message)}};
                  out->one_done();
                };
                request(entity_route(id), cfg_.ask_timeout,
                        entity_envelope{id, wf::command{wf::cmd::retry_from_dead_letter{}}})
                    .then(
                        [out, failed](entity_reply& res) {
                          if (!res) return failed("unavailable", res.error().describe());
                          if (res->rejected) return failed("not_retried", res->rejected->message);
                          out->one_done();
                        },
                        [failed](caf::error& e) {
                          failed("unavailable", "no answer in time: " + caf::to_string(e));
                        });
              }
              out->one_done();
            },
            [r](caf::error& e) { r(unavailable(e)); });
  }

  // GET /api/v1/cluster/shards: this node's shard region, in Pekko Management's shape
  // (`regions`: one {"shardId","numEntities"} per shard) with the region's totals.
  void shards(shards_req q) {
    auto r = q.r;
    request(region_, cfg_.ask_timeout, wf::runtime::get_region_stats{})
        .then(
            [r](wf::runtime::region_stats& s) {
              json::array regions;
              regions.reserve(s.shard_entities.size());
              for (std::size_t n = 0; n < s.shard_entities.size(); ++n) {
                regions.push_back(json::object{{"shardId", std::to_string(n)},
                                               {"numEntities", s.shard_entities[n]}});
              }
              json::object o{{"typeName", "workflow"},
                             {"numberOfShards", s.shards},
                             {"activeEntities", s.active},
                             {"passivatedEntities", s.passivated},
                             {"regions", std::move(regions)}};
              r(http_response::json(200, json::serialize(o)));
            },
            [r](caf::error& e) { r(unavailable(e)); });
  }

  // DELETE /api/v1/workflows/{id}: a finished workflow, as its index record says, is
  // purged by its shard (purge_workflow), which checks the record against the journal.
  void remove(delete_req q) {
    auto r = q.r;
    auto id = q.id;
    request(index_, cfg_.ask_timeout, store::get_workflow_record{id})
        .then(
            [this, r, id](store::workflow_record_lookup& rec) {
              if (!rec) return r(storage_error(rec.error()));
              if (!*rec) {
                return r(
                    http_response::error(404, "workflow_not_found", "no workflow '" + id + "'"));
              }
              if ((*rec)->status == wf::workflow_status::running) {
                return r(error_with_status(409, "workflow_running",
                                           "workflow '" + id +
                                               "' is RUNNING: only a finished workflow is deleted "
                                               "(cancel it first)",
                                           (*rec)->status));
              }
              purge(r, id, (*rec)->seq);
            },
            [r](caf::error& e) { r(unavailable(e)); });
  }

  void purge(const responder& r, const std::string& id, std::uint64_t seq) {
    using kind = wf::runtime::purge_outcome::kind;
    request(entity_route(id), cfg_.ask_timeout * 4, wf::runtime::purge_workflow{id, seq})
        .then(
            [r, id](wf::runtime::purge_result& res) {
              if (!res) return r(storage_error(res.error()));
              switch (res->what) {
                case kind::purged:
                  return r(http_response::json(204, ""));
                case kind::gone:
                  return r(
                      http_response::error(404, "workflow_not_found", "no workflow '" + id + "'"));
                case kind::changed:
                  return r(http_response::error(409, "workflow_changed",
                                                res->message + "; nothing was deleted"));
                case kind::busy: {
                  auto resp = http_response::error(
                      503, "unavailable", "workflow '" + id + "' is busy: " + res->message);
                  resp.headers.emplace_back("Retry-After", "1");
                  return r(std::move(resp));
                }
              }
            },
            [r](caf::error& e) { r(unavailable(e)); });
  }

  workflow_routes_config cfg_;
  // The workflow's shard when the region's router is given, else the region.
  const caf::actor& entity_route(std::string_view id) const {
    return router_ ? router_.route(id) : region_;
  }

  caf::actor region_;
  wf::runtime::region_router router_;
  caf::actor registry_;
  caf::actor index_;
  caf::actor journal_;
  caf::actor archiver_;
  std::shared_ptr<latest_definitions> published_;
  std::unordered_map<std::string, wf::definition_ref> latest_;
};

template <class Msg>
void send_to(const caf::actor& gw, Msg m) {
  caf::anon_send(gw, std::move(m));
}

// GET .../{id}?from=&limit= of a workflow's events (its history, its archived copy):
// sends Req{id, from, limit, responder} to the gateway.
template <class Req>
http_handler paged_events_route(const caf::actor& gw, std::uint32_t default_limit,
                                std::uint32_t max_limit) {
  return [gw, default_limit, max_limit](http_request&& req, responder r) {
    http_response err;
    auto id = id_param(req, "id", err);
    if (!id) return r(std::move(err));
    auto limit = uint_query(req, "limit", default_limit, 1, max_limit, err);
    if (!limit) return r(std::move(err));
    auto from = uint_query(req, "from", 1, 1, std::numeric_limits<std::int64_t>::max(), err);
    if (!from) return r(std::move(err));
    send_to(gw, Req{std::move(*id), *from, static_cast<std::uint32_t>(*limit), std::move(r)});
  };
}

// A route taking only the {id} path parameter and sending `cmd` to that workflow.
http_handler id_route(const caf::actor& gw, entity_op op, wf::command cmd) {
  return [gw, op, cmd = std::move(cmd)](http_request&& req, responder r) {
    http_response err;
    auto id = id_param(req, "id", err);
    if (!id) return r(std::move(err));
    send_to(gw, entity_req{op, std::move(*id), cmd, std::move(r)});
  };
}

}  // namespace

std::string add_unhosted_workflow_routes(router& r, const std::vector<std::string>& roles) {
  std::string list;
  for (const auto& role : roles) list += (list.empty() ? "" : ", ") + role;
  auto message = "ShardRegion [workflow] is not started on this node: its roles are [" + list +
                 "] and workflows run on nodes with the worker role (pekko.cluster.roles). "
                 "Requests are not forwarded between nodes yet: send them to a worker node";
  for (const char* prefix :
       {"/api/v1/workflow-definitions", "/api/v1/workflows", "/api/v1/archived-workflows",
        "/api/v1/dead-letters", "/api/v1/tasks", "/api/v1/cluster/shards"}) {
    r.add_fallback(prefix, [message](http_request&&, const responder& respond) {
      respond(http_response::error(503, "shard_region_not_started", message));
    });
  }
  return message;
}

caf::actor add_workflow_routes(router& rt, const workflow_routes_config& cfg) {
  auto latest = std::make_shared<latest_definitions>();
  auto gw = cfg.system->spawn<gateway_actor>(cfg, latest);
  // A start of a definition's latest version goes straight to its shard when the
  // version is known (see latest_definitions), else through the gateway.
  const wf::runtime::region_router* direct =
      cfg.router != nullptr && *cfg.router ? cfg.router : nullptr;
  auto known = cfg.known_tasks;
  auto check_input = cfg.check_task_input;
  auto load = cfg.load;
  auto history_default = cfg.history_default_limit;
  auto history_max = cfg.history_max_limit;

  const auto list_default = cfg.list_default_limit;
  const auto list_max = cfg.list_max_limit;
  rt.add("GET", "/api/v1/workflow-definitions",
         [gw, list_default, list_max](http_request&& req, responder r) {
           http_response err;
           auto limit = uint_query(req, "limit", list_default, 1, list_max, err);
           if (!limit) return r(std::move(err));
           listdefs_req q{{static_cast<std::uint32_t>(*limit), {}}, std::move(r)};
           if (auto it = req.query.find("cursor"); it != req.query.end() && !it->second.empty()) {
             // The cursor is the last name of the previous page.
             if (!wf::is_valid_id(it->second))
               return q.r(bad_request("cursor", "is not a cursor of this listing"));
             q.q.after = it->second;
           }
           send_to(gw, std::move(q));
         });
  rt.add("POST", "/api/v1/workflow-definitions",
         [gw, known, check_input](http_request&& req, responder r) {
           if (req.body.size() > wf::k_definition_bytes_max) {
             return r(http_response::error(
                 413, "definition_too_large",
                 "a definition is at most " + std::to_string(wf::k_definition_bytes_max) +
                     " bytes of JSON, got " + std::to_string(req.body.size())));
           }
           http_response err;
           auto v = parse_body(req.body, err);
           if (!v) return r(std::move(err));
           std::vector<std::string> tasks = known ? known() : std::vector<std::string>{};
           if (!known) {
             auto b = wf::builtin_task_types();
             tasks.assign(b.begin(), b.end());
           }
           auto def = wf::parse_definition_value(*v, tasks, check_input);
           if (!def) return r(bad_request(def.error().field, def.error().message));
           send_to(gw, define_req{std::move(*def), std::move(r)});
         });
  rt.add("GET", "/api/v1/workflow-definitions/{name}", [gw](http_request&& req, responder r) {
    http_response err;
    auto name = id_param(req, "name", err);
    if (!name) return r(std::move(err));
    auto version = uint_query(req, "version", 0, 1, std::numeric_limits<std::uint32_t>::max(), err);
    if (!version) return r(std::move(err));
    send_to(gw, getdef_req{std::move(*name), static_cast<std::uint32_t>(*version), std::move(r)});
  });
  rt.add("POST", "/api/v1/workflows", [gw, load, latest, direct](http_request&& req, responder r) {
    http_response err;
    auto s = parse_start(req.body, err);
    if (!s) return r(std::move(err));
    // Admission: a full task backlog refuses new work before anything is persisted.
    if (load && load->local_capacity.load(std::memory_order_relaxed) > 0 &&
        load->local_queued.load(std::memory_order_relaxed) >=
            load->local_capacity.load(std::memory_order_relaxed)) {
      auto resp = http_response::error(429, "overloaded", "the task backlog is full; retry later");
      resp.headers.emplace_back("Retry-After", "1");
      return r(std::move(resp));
    }
    if (direct != nullptr && s->version == 0) {
      auto known = latest->snapshot.load();
      if (auto it = known->find(s->definition); it != known->end()) {
        s->cmd.definition = it->second;
        const auto& to = direct->route(s->cmd.id);
        return send_start(to, std::move(s->cmd), std::move(r));
      }
    }
    s->r = std::move(r);
    send_to(gw, std::move(*s));
  });
  rt.add("GET", "/api/v1/workflows", [gw, list_max](http_request&& req, responder r) {
    http_response err;
    list_req q;
    if (!filter_params(req, q.q.status, q.q.definition, err)) return r(std::move(err));
    for (auto [name, slot] : {std::pair{"createdAfter", &q.q.created_after_ms},
                              std::pair{"createdBefore", &q.q.created_before_ms}}) {
      auto it = req.query.find(name);
      if (it == req.query.end() || it->second.empty()) continue;
      *slot = wf::parse_rfc3339_ms(it->second);
      if (!*slot) {
        return r(bad_request(name, "must be an RFC 3339 time such as 2026-01-02T03:04:05Z"));
      }
    }
    if (!page_params(req, list_max, q.q.limit, q.q.cursor, err)) return r(std::move(err));
    q.r = std::move(r);
    send_to(gw, std::move(q));
  });
  rt.add("GET", "/api/v1/workflows/{id}", id_route(gw, entity_op::get, wf::cmd::get{}));
  rt.add("DELETE", "/api/v1/workflows/{id}", [gw](http_request&& req, responder r) {
    http_response err;
    auto id = id_param(req, "id", err);
    if (!id) return r(std::move(err));
    send_to(gw, delete_req{std::move(*id), std::move(r)});
  });
  rt.add("GET", "/api/v1/archived-workflows",
         [gw, list_default, list_max](http_request&& req, responder r) {
           http_response err;
           auto limit = uint_query(req, "limit", list_default, 1, list_max, err);
           if (!limit) return r(std::move(err));
           std::optional<wf::workflow_status> status;
           std::string definition;
           if (!filter_params(req, status, definition, err)) return r(std::move(err));
           archived_list_req q{{}, std::move(r)};
           q.q.limit = static_cast<std::uint32_t>(*limit);
           if (status) q.q.status = std::string(wf::to_string(*status));
           if (!definition.empty()) q.q.definition = std::move(definition);
           if (auto it = req.query.find("cursor"); it != req.query.end()) q.q.cursor = it->second;
           send_to(gw, std::move(q));
         });
  rt.add("GET", "/api/v1/archived-workflows/{id}",
         paged_events_route<archived_req>(gw, history_default, history_max));
  rt.add("GET", "/api/v1/workflows/{id}/history",
         paged_events_route<history_req>(gw, history_default, history_max));
  rt.add("POST", "/api/v1/workflows/{id}/signals/{name}", [gw](http_request&& req, responder r) {
    http_response err;
    auto id = id_param(req, "id", err);
    if (!id) return r(std::move(err));
    auto name = id_param(req, "name", err);
    if (!name) return r(std::move(err));
    auto payload = parse_body(req.body, err, json::value(nullptr));
    if (!payload) return r(std::move(err));
    send_to(gw, entity_req{entity_op::signal, *id,
                           wf::cmd::signal{std::move(*name), std::move(*payload)}, std::move(r)});
  });
  rt.add("POST", "/api/v1/workflows/{id}/cancel", [gw](http_request&& req, responder r) {
    http_response err;
    auto id = id_param(req, "id", err);
    if (!id) return r(std::move(err));
    auto body = parse_body(req.body, err, json::value(json::object{}));
    if (!body) return r(std::move(err));
    std::string reason;
    if (!body->is_object()) return r(bad_request("body", "must be a JSON object"));
    if (const auto* rs = body->as_object().if_contains("reason"); rs != nullptr && !rs->is_null()) {
      if (!rs->is_string() || rs->as_string().size() > 1024) {
        return r(bad_request("reason", "must be a string of at most 1024 bytes"));
      }
      reason = std::string(rs->as_string());
    }
    send_to(gw,
            entity_req{entity_op::cancel, *id, wf::cmd::cancel{std::move(reason)}, std::move(r)});
  });
  rt.add("GET", "/api/v1/dead-letters", [gw, list_max](http_request&& req, responder r) {
    http_response err;
    dead_letters_req q;
    if (!page_params(req, list_max, q.q.limit, q.q.cursor, err)) return r(std::move(err));
    for (auto [name, slot] :
         {std::pair{"definition", &q.q.definition}, std::pair{"step", &q.q.step}}) {
      auto it = req.query.find(name);
      if (it != req.query.end() && !dead_letter_filter(name, it->second, *slot, err)) {
        return r(std::move(err));
      }
    }
    q.r = std::move(r);
    send_to(gw, std::move(q));
  });
  rt.add("POST", "/api/v1/dead-letters/retry", [gw](http_request&& req, responder r) {
    http_response err;
    auto body = parse_body(req.body, err, json::value(json::object{}));
    if (!body) return r(std::move(err));
    if (!body->is_object()) return r(bad_request("body", "must be a JSON object"));
    // limit 0 = the index's default; its maximum (pekko.workflow.store.list-max-limit)
    // bounds the retries sent at once.
    retry_page_req q{{0, {}, {}, {}}, std::move(r)};
    const auto& o = body->as_object();
    if (const auto* l = o.if_contains("limit"); l != nullptr && !l->is_null()) {
      const auto* n = l->if_int64();
      if (n == nullptr || *n < 1 || *n > std::numeric_limits<std::uint32_t>::max())
        return q.r(bad_request("limit", "must be a positive integer"));
      q.q.limit = static_cast<std::uint32_t>(*n);
    }
    if (const auto* c = o.if_contains("cursor"); c != nullptr && !c->is_null()) {
      if (!c->is_string()) return q.r(bad_request("cursor", "must be a string"));
      q.q.cursor = std::string(c->as_string());
    }
    for (auto [name, slot] :
         {std::pair{"definition", &q.q.definition}, std::pair{"step", &q.q.step}}) {
      const auto* v = o.if_contains(name);
      if (v == nullptr || v->is_null()) continue;
      if (!v->is_string()) return q.r(bad_request(name, "must be a string"));
      if (!dead_letter_filter(name, v->as_string(), *slot, err)) return q.r(std::move(err));
    }
    send_to(gw, std::move(q));
  });
  rt.add("POST", "/api/v1/dead-letters/{id}/retry",
         id_route(gw, entity_op::retry, wf::cmd::retry_from_dead_letter{}));
  rt.add("GET", "/api/v1/cluster/shards",
         [gw](http_request&&, responder r) { send_to(gw, shards_req{std::move(r)}); });
  // Pekko Management's /cluster/shards/{name}: the one sharded type is "workflow".
  rt.add("GET", "/api/v1/cluster/shards/{name}", [gw](http_request&& req, responder r) {
    const auto name = req.params.at("name");
    if (name != "workflow") {
      return r(
          http_response::error(404, "shard_region_not_found",
                               "no shard region '" + name + "': the sharded type is 'workflow'"));
    }
    send_to(gw, shards_req{std::move(r)});
  });
  return gw;
}

}  // namespace wfe::api
