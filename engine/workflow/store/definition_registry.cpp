#include "engine/workflow/store/definition_registry.hpp"

#include <algorithm>
#include <map>
#include <utility>
#include <variant>

#include <boost/json.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "engine/core/logging.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/store/store_metrics.hpp"
#include "persistence/eventsourced.hpp"

namespace wfe::workflow::store {

// The registry entity's model (pure). Requests that persist nothing (lookups, an
// idempotent re-post, a refusal) are answered through decide's unexpected side, which
// the event-sourced actor delivers as the reply without persisting.
namespace registry {

using command = std::variant<register_definition, get_definition, list_definitions>;

struct event {
  workflow_definition definition;  // version set
};

struct outcome {
  definition_registered registered;
  std::optional<workflow_definition> found;
  std::uint64_t versions = 0;  // every version of every name (metrics)
  definition_page page;        // list_definitions
};

struct state {
  std::map<std::string, std::vector<workflow_definition>, std::less<>> by_name;
  std::uint64_t versions = 0;
};

class model {
 public:
  using state_type = state;
  using command_type = command;
  using event_type = event;
  using reply_type = outcome;

  model(definition_settings settings, std::shared_ptr<definition_catalog> catalog)
      : settings_(settings), catalog_(std::move(catalog)) {}

  state_type initial_state(const persistence::persistence_id&) const { return {}; }

  core::expected<std::vector<event>, outcome> decide(const state& s, const command& c) const {
    if (const auto* get = std::get_if<get_definition>(&c)) {
      return core::unexpected<outcome>{outcome{{}, lookup(s, *get), s.versions, {}}};
    }
    if (const auto* list = std::get_if<list_definitions>(&c)) {
      return core::unexpected<outcome>{outcome{{}, {}, s.versions, page(s, *list)}};
    }
    const auto& def = std::get<register_definition>(c).definition;
    auto found = s.by_name.find(def.name);
    if (found == s.by_name.end()) {
      if (s.by_name.size() >= settings_.max_definitions) {
        return refuse(s, def.name, registry_rejection::code_t::too_many_definitions,
                      "the registry holds the maximum of " +
                          std::to_string(settings_.max_definitions) +
                          " definitions (pekko.workflow.definitions.max-definitions)");
      }
      return std::vector<event>{event{with_version(def, 1)}};
    }
    const auto& latest = found->second.back();
    if (latest.steps == def.steps) {
      return core::unexpected<outcome>{
          outcome{definition_registered{def.name, latest.version, false, std::nullopt},
                  {},
                  s.versions,
                  {}}};
    }
    if (found->second.size() >= settings_.max_versions) {
      return refuse(s, def.name, registry_rejection::code_t::too_many_versions,
                    "definition '" + def.name + "' has the maximum of " +
                        std::to_string(settings_.max_versions) +
                        " versions (pekko.workflow.definitions.max-versions)");
    }
    return std::vector<event>{event{with_version(def, latest.version + 1)}};
  }

  state apply(state s, const event& e) const {
    auto& versions = s.by_name[e.definition.name];
    versions.push_back(e.definition);
    ++s.versions;
    return s;
  }

  outcome reply(const state& after, const command& c) const {
    if (const auto* get = std::get_if<get_definition>(&c)) {
      return {{}, lookup(after, *get), after.versions, {}};
    }
    if (const auto* list = std::get_if<list_definitions>(&c)) {
      return {{}, {}, after.versions, page(after, *list)};
    }
    const auto& name = std::get<register_definition>(c).definition.name;
    const auto& latest = after.by_name.at(name).back();
    return {
        definition_registered{name, latest.version, true, std::nullopt}, {}, after.versions, {}};
  }

  // The catalog gets every version once recovered and each new one before its
  // registration is answered: a start can only use a version the catalog holds.
  void on_recovered(caf::event_based_actor*, const state& s, std::uint64_t) const {
    if (!catalog_) return;
    for (const auto& [name, versions] : s.by_name) {
      for (const auto& d : versions) catalog_->put(definition_ref(d));
    }
  }
  void on_persisted(caf::event_based_actor*, const state&, const std::vector<event>& events,
                    std::uint64_t) const {
    if (!catalog_) return;
    for (const auto& e : events) catalog_->put(definition_ref(e.definition));
  }

  persistence::encoded encode_event(const event& e) const {
    return {std::string(k_definition_registered_manifest), encode_definition(e.definition)};
  }

  persistence::result<event> decode_event(const persistence::event& e) const {
    if (e.manifest != k_definition_registered_manifest) {
      return persistence::fail(persistence::errc::corruption,
                               "definition registry: unknown event manifest '" + e.manifest + "'");
    }
    auto def = decode_definition(e.payload);
    if (!def) {
      return persistence::fail(persistence::errc::corruption,
                               "definition registry: event " + std::to_string(e.sequence_nr) +
                                   " does not decode: " + def.error().field + ": " +
                                   def.error().message);
    }
    return event{std::move(*def)};
  }

  persistence::encoded encode_state(const state& s) const {
    boost::json::array all;
    all.reserve(s.versions);
    for (const auto& [name, versions] : s.by_name) {
      for (const auto& d : versions) all.push_back(to_json(d));
    }
    return {std::string(k_registry_state_manifest),
            boost::json::serialize(boost::json::object{{"definitions", std::move(all)}})};
  }

  persistence::result<state> decode_state(const persistence::snapshot& snap) const {
    auto bad = [](const std::string& why) {
      return persistence::fail(persistence::errc::corruption,
                               "definition registry snapshot: " + why);
    };
    if (snap.manifest != k_registry_state_manifest) return bad("unknown manifest " + snap.manifest);
    boost::system::error_code ec;
    auto v = boost::json::parse(snap.payload, ec);
    if (ec || !v.is_object()) return bad("not a JSON object");
    const auto* defs = v.as_object().if_contains("definitions");
    if (defs == nullptr || !defs->is_array()) return bad("no definitions array");
    state s;
    for (const auto& d : defs->as_array()) {
      auto def = decode_definition_value(d);
      if (!def) return bad(def.error().field + ": " + def.error().message);
      auto& versions = s.by_name[def->name];
      if (def->version != versions.size() + 1)
        return bad("versions of " + def->name + " not contiguous");
      versions.push_back(std::move(*def));
      ++s.versions;
    }
    return s;
  }

 private:
  static workflow_definition with_version(workflow_definition d, std::uint32_t version) {
    d.version = version;
    return d;
  }

  static std::optional<workflow_definition> lookup(const state& s, const get_definition& g) {
    auto found = s.by_name.find(g.name);
    if (found == s.by_name.end() || found->second.empty()) return std::nullopt;
    if (g.version == 0) return found->second.back();
    if (g.version > found->second.size()) return std::nullopt;
    return found->second[g.version - 1];
  }

  static definition_page page(const state& s, const list_definitions& q) {
    definition_page out;
    const auto limit = std::max<std::uint32_t>(q.limit, 1);
    for (auto it = q.after.empty() ? s.by_name.begin() : s.by_name.upper_bound(q.after);
         it != s.by_name.end(); ++it) {
      if (it->second.empty()) continue;
      if (out.items.size() == limit) {
        out.next_cursor = out.items.back().name;
        break;
      }
      const auto& latest = it->second.back();
      out.items.push_back({it->first, latest.version, static_cast<std::uint32_t>(it->second.size()),
                           static_cast<std::uint32_t>(latest.steps.size())});
    }
    return out;
  }

  static core::unexpected<outcome> refuse(const state& s, const std::string& name,
                                          registry_rejection::code_t code, std::string message) {
    return core::unexpected<outcome>{
        outcome{definition_registered{name, 0, false, registry_rejection{code, std::move(message)}},
                {},
                s.versions,
                {}}};
  }

  definition_settings settings_;
  std::shared_ptr<definition_catalog> catalog_;
};

}  // namespace registry
}  // namespace wfe::workflow::store

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::registry::command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::persistence::result<wfe::workflow::store::registry::outcome>)

namespace wfe::workflow::store {
namespace {

using registry_result = persistence::result<registry::outcome>;

struct facade_state {
  // Not an aggregate: CAF would construct an aggregate state from the actor pointer
  // (C++20 parenthesized aggregate init), making `entity` the facade itself.
  facade_state() = default;
  caf::actor entity;
  static inline const char* name = "workflow-definition-registry";
};

struct facade_config {
  persistence::eventsourced_deps deps;
  persistence::eventsourced_config es;
  definition_settings settings;
  std::shared_ptr<store_metrics> metrics;
  std::shared_ptr<definition_catalog> catalog;
};

// The facade owns the registry entity: it starts it (again, after a failed persist stopped
// it), translates the public messages to the entity's command, and keeps the gauge.
caf::behavior facade(caf::stateful_actor<facade_state>* self, facade_config cfg) {
  auto shared = std::make_shared<facade_config>(std::move(cfg));
  auto entity = [self, shared]() -> caf::actor& {
    if (!self->state.entity) {
      self->state.entity = persistence::spawn_eventsourced(
          self->system(), registry::model{shared->settings, shared->catalog},
          definitions_persistence_id(), shared->deps, shared->es);
      self->link_to(self->state.entity);  // the registry takes its entity down with it
    }
    return self->state.entity;
  };
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (self->state.entity && msg.source == self->state.entity.address()) {
      // A failed persist stopped the entity; the next request starts it again.
      self->state.entity = nullptr;
      return;
    }
    self->quit(msg.reason);
  });
  // Sends `c` to the entity and hands its reply to `deliver`.
  auto ask = [self, shared, entity](registry::command c, auto deliver) {
    auto promise = self->make_response_promise();
    self->request(entity(), shared->es.request_timeout * 2, std::move(c))
        .then(
            [shared, promise, deliver](registry_result& r) mutable {
              if (r && shared->metrics) shared->metrics->definitions(r->versions);
              deliver(promise, std::move(r));
            },
            [promise, deliver](caf::error& e) mutable {
              deliver(promise, registry_result(persistence::fail(
                                   persistence::errc::unavailable,
                                   "definition registry did not answer: " + caf::to_string(e))));
            });
    return promise;
  };
  entity();  // recover at once
  return {
      [ask](register_definition& r) {
        return ask(
            registry::command{std::move(r)}, [](caf::response_promise& p, registry_result res) {
              if (!res) {
                p.deliver(register_result(core::unexpected<persistence::error>{res.error()}));
                return;
              }
              p.deliver(register_result(std::move(res->registered)));
            });
      },
      [ask](list_definitions& l) {
        return ask(registry::command{std::move(l)}, [](caf::response_promise& p,
                                                       registry_result res) {
          if (!res) {
            p.deliver(definition_page_result(core::unexpected<persistence::error>{res.error()}));
            return;
          }
          p.deliver(definition_page_result(std::move(res->page)));
        });
      },
      [ask](get_definition& g) {
        return ask(
            registry::command{std::move(g)}, [](caf::response_promise& p, registry_result res) {
              if (!res) {
                p.deliver(definition_lookup(core::unexpected<persistence::error>{res.error()}));
                return;
              }
              p.deliver(definition_lookup(std::move(res->found)));
            });
      },
  };
}

}  // namespace

persistence::persistence_id definitions_persistence_id() {
  return persistence::persistence_id{persistence::shard_id{k_definitions_shard},
                                     std::string(k_definitions_id)};
}

caf::actor spawn_definition_registry(caf::actor_system& sys,
                                     const persistence::eventsourced_deps& deps,
                                     const persistence::eventsourced_config& es,
                                     const definition_settings& settings,
                                     std::shared_ptr<store_metrics> metrics,
                                     std::shared_ptr<definition_catalog> catalog) {
  return sys.spawn(facade,
                   facade_config{deps, es, settings, std::move(metrics), std::move(catalog)});
}

}  // namespace wfe::workflow::store
