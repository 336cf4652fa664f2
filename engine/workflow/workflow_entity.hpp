#pragma once
// The workflow entity's Model for persistence/eventsourced.hpp: the pure functions of
// workflow_model.hpp plus a clock and the codecs of workflow_codec.hpp. Pulls in CAF
// through eventsourced.hpp: include from entity .cpp files and tests only. Callers
// must declare the message types once (CAF_ALLOW_UNSAFE_MESSAGE_TYPE for
// wfe::workflow::command and wfe::persistence::result<wfe::workflow::workflow_reply>).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "engine/workflow/workflow_codec.hpp"
#include "engine/workflow/workflow_model.hpp"
#include "persistence/eventsourced.hpp"

namespace wfe::workflow {

// What the entity answers: the rejection, or the id and status after the command
// (plus the whole state for cmd::get).
struct workflow_reply {
  std::optional<rejection> rejected;
  std::string id;
  workflow_status status = workflow_status::running;
  std::optional<workflow_state> state;
};

class workflow_entity_model {
 public:
  using state_type = workflow_state;
  using command_type = command;
  using event_type = event;
  using reply_type = workflow_reply;
  using clock_fn = std::function<std::int64_t()>;  // epoch milliseconds

  // `definitions` resolves the definition a journaled start names (workflow_codec.hpp):
  // required to recover a workflow, whose events name it.
  workflow_entity_model(clock_fn now, std::shared_ptr<const definition_catalog> definitions,
                        decide_options options = {})
      : now_(std::move(now)), definitions_(std::move(definitions)), options_(options) {}

  state_type initial_state(const persistence::persistence_id&) const { return {}; }

  core::expected<std::vector<event>, workflow_reply> decide(const state_type& s,
                                                            const command_type& c) const {
    auto d = workflow::decide(s, c, now_(), options_);
    if (d) return std::move(*d);
    return core::unexpected<workflow_reply>{workflow_reply{d.error(), s.id, s.status, {}}};
  }

  state_type apply(state_type s, const event_type& e) const {
    return workflow::apply(std::move(s), e);
  }
  void apply_in_place(state_type& s, const event_type& e) const { workflow::apply_in_place(s, e); }

  reply_type reply(const state_type& after, const command_type& c) const {
    workflow_reply r{std::nullopt, after.id, after.status, std::nullopt};
    if (std::holds_alternative<cmd::get>(c)) r.state = after;
    return r;
  }

  persistence::encoded encode_event(const event_type& e) const {
    return {std::string(k_event_manifest), workflow::encode_event(e)};
  }
  persistence::result<event_type> decode_event(const persistence::event& e) const {
    if (!definitions_) {
      return persistence::fail(persistence::errc::internal, "no definition catalog");
    }
    auto d = workflow::decode_event(e.manifest, e.payload, definitions_.get());
    if (!d) return persistence::fail(persistence::errc::corruption, std::move(d).error());
    return std::move(*d);
  }
  persistence::encoded encode_state(const state_type& s) const {
    return {std::string(k_state_manifest), workflow::encode_state(s)};
  }
  persistence::result<state_type> decode_state(const persistence::snapshot& s) const {
    if (!definitions_) {
      return persistence::fail(persistence::errc::internal, "no definition catalog");
    }
    auto d = workflow::decode_state(s.manifest, s.payload, *definitions_);
    if (!d) return persistence::fail(persistence::errc::corruption, std::move(d).error());
    return std::move(*d);
  }

 private:
  clock_fn now_;
  std::shared_ptr<const definition_catalog> definitions_;
  decide_options options_;
};

}  // namespace wfe::workflow
