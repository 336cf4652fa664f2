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
//   store::timers_damaged        * -> region (from the timer service): recovers the id
//   wake_entities{ids}             -> region, request: recovers the ids; answered with
//                                     std::uint64_t (how many answered) once all did
//   runtime_links                  -> region, request: the dispatcher / timer service /
//                                     index the entities talk to (once at wiring, before
//                                     traffic); answered (number of shards) once every
//                                     shard has them
//   get_region_stats               -> region, request: region_stats
//   purge_workflow{id, seq}      * -> shard (router), request: purge_result
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
  std::uint64_t purged = 0;      // workflows deleted (purge_workflow) since start
  // Entities alive per shard (index: shard id).
  std::vector<std::uint64_t> shard_entities;
};

// Deletes a FINISHED workflow for good (retention, DELETE /api/v1/workflows/{id}): its
// snapshots, then its journal (journal::purge), then everything the index holds about it.
// `seq` is the journal sequence nr of the finished state, as its index record says: the
// purge goes on only while the journal's highest is still `seq` (a workflow that changed
// since, e.g. retried from its dead letter, is left alone). While it runs the shard holds
// the id's messages (at most the entity's stash capacity; more are refused unavailable)
// and hands them on afterwards: a start then creates a new workflow under the old id.
struct purge_workflow {
  std::string id;
  std::uint64_t seq = 0;
};
struct purge_outcome {
  enum class kind : std::uint8_t {
    purged,   // deleted
    gone,     // its journal was empty already (purged before); the index record removed
    changed,  // its journal's highest is not `seq`: nothing deleted
    busy,     // its entity is recovering or persisting, or a purge of it runs: retry later
  };
  kind what = kind::purged;
  std::string message;
};
using purge_result = persistence::result<purge_outcome>;

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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::purge_workflow)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::purge_result)
