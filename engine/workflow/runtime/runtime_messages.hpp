#pragma once
// CAF message types of the workflow runtime (local only; a cluster-sharding proxy will
// carry entity_envelope over the wire as a protobuf, see README.md). Declares the
// entity's command/reply types once for every runtime and API translation unit.
//
// The region routes the messages marked * by workflow id to the shard hosting it; its
// router (workflow_region.hpp) sends them straight to that shard, which takes them the same.
//
//   entity_envelope{id, command} * -> region, request: answered by the entity with
//                                     entity_reply (result<workflow_reply>); or sent
//                                     with `reply` set: the entity calls it instead
//                                     (entity_call; no response, no request timeout)
//   task_update                  * -> region (from the dispatcher, through the router)
//   store::timer_due             * -> region (from the timer service)
//   wake_entities{ids}             -> region, request: recovers the ids; answered with
//                                     std::uint64_t (how many answered) once all did
//   runtime_links                  -> region, request: the dispatcher / timer service /
//                                     index the entities talk to (once at wiring, before
//                                     traffic); answered (number of shards) once every
//                                     shard has them
//   get_region_stats               -> region, request: region_stats
// Pulls in CAF: include from .cpp files and tests only.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include "engine/workflow/workflow_entity.hpp"
#include "persistence/eventsourced_call.hpp"

namespace wfe::workflow::runtime {

using entity_reply = persistence::result<workflow_reply>;
using entity_call = persistence::eventsourced_call<command, workflow_reply>;

struct entity_envelope {
  std::string id;  // the workflow id (entity id)
  command cmd;
  // Set: called by the entity (on its thread) with the reply; the envelope is sent,
  // not requested. Empty: the entity answers the request.
  std::function<void(entity_reply)> reply = {};
};

struct wake_entities {
  std::vector<std::string> ids;
};

struct runtime_links {
  caf::actor dispatcher;  // task_request (may be invalid: tasks are not dispatched)
  caf::actor timers;      // store::set_timers (may be invalid)
  caf::actor index;       // store::index_update (may be invalid)
};

struct get_region_stats {};
struct region_stats {
  std::uint64_t active = 0;      // entities alive
  std::uint64_t passivated = 0;  // passivations since start
  std::uint32_t shards = 0;      // shard actors started
};

// Shard -> entity (the entity model's notice_type): the dispatcher refused the task of
// (step, attempt); offer it again if the step still waits for that attempt.
struct resubmit_task {
  std::string step;
  std::uint32_t attempt = 0;
  std::uint32_t rejections = 0;  // times refused so far (0: the dispatcher holds a slot)
};

}  // namespace wfe::workflow::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::entity_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::entity_envelope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::entity_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::wake_entities)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::runtime_links)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::get_region_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::region_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::resubmit_task)
