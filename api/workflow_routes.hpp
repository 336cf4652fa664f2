#pragma once
// The workflow API (DESIGN.md §9). Shapes and status codes:
//   POST /api/v1/workflow-definitions          definition JSON
//        -> 201 {"name","version","created":true} new version | 200 (same, created:false)
//           for a re-post identical to the latest | 400 naming the field/step | 409
//           too_many_definitions / too_many_versions
//   GET  /api/v1/workflow-definitions[?limit=&cursor=]
//        -> 200 {"items":[{"name","version","versions","steps"}],"nextCursor"?} (names in
//           order; version = the latest, versions = how many, steps = the latest's) | 400
//   GET  /api/v1/workflow-definitions/{name}[?version=N]  -> 200 definition | 404
//   POST /api/v1/workflows {"id"?,"definition","version"?,"input"?,"priority"?,"timeoutMs"?}
//        -> 201 {"id","status","definition","version","priority"} once WorkflowStarted is
//           durable | 404 definition_not_found | 409 already_exists {"error":{...,"status"}}
//           | 429 overloaded (task backlog full; nothing persisted) | 503 unavailable
//   GET  /api/v1/workflows/{id}                -> 200 workflow_json | 404 workflow_not_found
//   DELETE /api/v1/workflows/{id}              -> 204 (a finished workflow deleted for good:
//           events, snapshots, index record, dead letter; the id is free again) | 404 |
//           409 workflow_running {"error":{...,"status"}} | 409 workflow_changed (nothing
//           deleted) | 503 + Retry-After (its entity is busy)
//   GET  /api/v1/workflows/{id}/history[?from=&limit=]
//        -> 200 {"events":[{"seq",...}],"nextFrom"?,"deletedBefore"?} (journal replay,
//           bounded; deletedBefore = N: events from..N-1 were deleted after a snapshot,
//           delete-events-on-snapshot) | 404
//   GET  /api/v1/archived-workflows[?status=&definition=&limit=&cursor=]
//        -> 200 {"items":[{record fields,"seq","archivedAt"}],"nextCursor"?} (in the order
//           archived; a page reads a bounded part of the archive, so it may hold fewer
//           items and still have a cursor) | 400 bad filter, limit or cursor
//   GET  /api/v1/archived-workflows/{id}[?from=&limit=]
//        -> 200 the newest archived line of the id (retention's archive: the record,
//           "seq", "archivedAt") with "events" from `from` on, "nextFrom"?,
//           "deletedBefore"? (as .../history) | 404 workflow_not_found (none archived,
//           or no archive on this node)
//   POST /api/v1/workflows/{id}/signals/{name} body = payload (empty = null)
//        -> 200 {"id","status"} | 404 | 409 workflow_finished | 413 | 429
//   POST /api/v1/workflows/{id}/cancel {"reason"?} -> 200 {"id","status"} | 404 | 409
//   GET  /api/v1/workflows?status=&definition=&createdAfter=&createdBefore=&limit=&cursor=
//        -> 200 {"items":[{"id","definition","version","status","priority","createdAt",
//           "updatedAt"}],"nextCursor"?} (from the index) | 400 bad filter/cursor/limit
//   GET  /api/v1/dead-letters?limit=&cursor=
//        -> 200 {"items":[{"id","workflowId","step","error","attempts","at"}],"nextCursor"?}
//   POST /api/v1/dead-letters/{id}/retry       -> 202 {"id","workflowId","status"} | 404
//   POST /api/v1/dead-letters/retry {"limit"?,"cursor"?}  (a redrive, a page at a time)
//        -> 200 {"retried":[ids],"failed":[{"id","error":{"code","message"}}],"nextCursor"?}
//           (the next page of the dead-letter listing, each retried as above; limit as the
//           listing's: pekko.workflow.store.list-default-limit / list-max-limit) | 400
//   GET  /api/v1/cluster/shards[/workflow]     -> 200 {"typeName","numberOfShards",
//           "activeEntities","passivatedEntities","regions":[{"shardId","numEntities"}]}
//           (this node's region; Pekko Management's ShardDetails shape) | 404 for a
//           type name other than workflow
// Rejections: not_found 404, already_exists/finished 409, invalid 400, limit 413 (too
// large) / 429 (a count bound). Ids not matching [A-Za-z0-9._:-]{1,256}, malformed JSON and
// wrong types -> 400 naming the field. Nothing is persisted for a rejected command.
//
// Handlers parse and validate on the HTTP thread, then message a gateway actor with a
// responder; the gateway asks the registry, the region (entities), the index or the
// journal actor with bounded requests (entity requests through the region's router,
// straight to the workflow's shard). HTTP threads never touch actor state.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/fwd.hpp>

#include "api/http/router.hpp"

namespace boost::json {
class value;
}  // namespace boost::json

namespace wfe::workflow {
struct task_load;
}

namespace wfe::workflow::runtime {
class region_router;
}

namespace wfe::api {

struct workflow_routes_config {
  caf::actor_system* system = nullptr;
  caf::actor* region = nullptr;    // workflow::runtime::spawn_workflow_region
  // Optional: entity requests go straight to the workflow's shard (one hop fewer).
  const workflow::runtime::region_router* router = nullptr;
  caf::actor* registry = nullptr;  // workflow::store::spawn_definition_registry
  caf::actor* index = nullptr;     // workflow::store::spawn_workflow_index_actor
  caf::actor* journal = nullptr;   // answers replay/highest: persistence::spawn_journal_reader
  // Optional: the retention archive (workflow::runtime::spawn_archiver); null or invalid
  // when pekko.workflow.retention.archive-dir is not set.
  caf::actor* archiver = nullptr;
  std::shared_ptr<const workflow::task_load> load;  // start admission; may be null
  // Task types a definition may use (built-ins + handlers; queue:<name> always).
  std::function<std::vector<std::string>()> known_tasks;
  // Refuses a step whose static input its task could never run with (workflow/definition.hpp:
  // task_input_check); unset: no such check.
  std::function<std::optional<std::string>(std::string_view task, const boost::json::value& input)>
      check_task_input;
  std::uint32_t number_of_shards = 100;  // to name a workflow's journal stream
  // Listings' limit (pekko.workflow.store.list-default-limit / list-max-limit): the
  // definitions and the archive, as the index's own listings.
  std::uint32_t list_default_limit = 100;
  std::uint32_t list_max_limit = 1'000;
  std::uint32_t history_default_limit = 1'000;
  std::uint32_t history_max_limit = 10'000;
  std::chrono::milliseconds ask_timeout{5000};  // bound on each actor request
};

// Spawns the gateway actor and adds the routes; returns the gateway so the caller can
// stop it at shutdown.
caf::actor add_workflow_routes(router& r, const workflow_routes_config& cfg);

// A node without the worker role hosts no workflows (Pekko: no ShardRegion there, only
// a proxy — and this build has no proxy yet): every request under the workflow,
// definition, dead-letter and task paths is a 503 "shard_region_not_started" naming the
// node's roles. Returns that message (for the start-up log).
std::string add_unhosted_workflow_routes(router& r, const std::vector<std::string>& roles);

}  // namespace wfe::api
