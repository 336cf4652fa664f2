#pragma once
// Messages of the workflow store's actors (definition registry, workflow index, timer
// service). All are local-only CAF message types (CAF_ALLOW_UNSAFE_MESSAGE_TYPE below):
// they never cross the wire. Requests are answered with persistence::result<...>;
// an errc::unavailable/io_error is the store's failure, an errc::invalid_argument is
// the caller's (bad cursor, bad limit: HTTP 400).
//
// Include from actor .cpp files and tests (it pulls in one small CAF header).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include "engine/workflow/definition.hpp"
#include "engine/workflow/store/records.hpp"
#include "engine/workflow/workflow_model.hpp"
#include "persistence/errc.hpp"

namespace wfe::workflow::store {

class workflow_index;

// -- definition registry (definition_registry.hpp) ------------------------------

// Registers a parsed definition (its `version` is ignored). Answered with
// result<definition_registered>.
struct register_definition {
  workflow_definition definition;
};

// Why a registration was refused; nothing was stored. HTTP: too_many_definitions -> 409,
// too_many_versions -> 409 (or 413), as the route decides.
struct registry_rejection {
  enum class code_t : std::uint8_t { too_many_definitions, too_many_versions };
  code_t code = code_t::too_many_definitions;
  std::string message;
};

// The version now serving `name`: a new one (created = true) when the steps differ from
// the latest version, else the latest itself (created = false: an idempotent re-post).
// With `rejected` set nothing was stored and version/created are meaningless.
struct definition_registered {
  std::string name;
  std::uint32_t version = 0;
  bool created = false;
  std::optional<registry_rejection> rejected;
};
using register_result = persistence::result<definition_registered>;

// version 0 = the latest. Answered with result<std::optional<workflow_definition>>
// (nullopt: no such name or version). The definition carries its version.
struct get_definition {
  std::string name;
  std::uint32_t version = 0;
};
using definition_lookup = persistence::result<std::optional<workflow_definition>>;

// A page of the registered names in name order, after `after` (the previous page's
// next_cursor; "" = from the first). Answered with result<definition_page>.
struct list_definitions {
  std::uint32_t limit = 100;
  std::string after;
};
struct definition_summary {
  std::string name;
  std::uint32_t version = 0;   // the latest
  std::uint32_t versions = 0;  // how many are kept (every one)
  std::uint32_t steps = 0;     // of the latest
};
struct definition_page {
  std::vector<definition_summary> items;
  std::string next_cursor;  // "" = the last page
};
using definition_page_result = persistence::result<definition_page>;

// -- workflow index (workflow_index.hpp) ----------------------------------------
// index_update (fire-and-forget), list_workflows and list_dead_letters are plain data
// in records.hpp (the blocking workflow_index class takes them too).

using workflow_page_result = persistence::result<workflow_page>;

using dead_letter_page_result = persistence::result<dead_letter_page>;

// Answered with result<std::optional<dead_letter_record>>.
struct get_dead_letter {
  std::string id;
};
using dead_letter_lookup = persistence::result<std::optional<dead_letter_record>>;

// Answered with result<std::optional<workflow_record>>.
struct get_workflow_record {
  std::string id;
};
using workflow_record_lookup = persistence::result<std::optional<workflow_record>>;

// Deletes everything the index holds about these workflows: record, listing keys, dead
// letter, timers (retention, after their journal was purged). Waiting updates are
// written first, so an update sent before this request cannot bring a record back.
// Answered with result<std::uint64_t> (how many ids).
struct remove_workflows {
  std::vector<std::string> ids;
};
using remove_result = persistence::result<std::uint64_t>;

// Answered with index_stats (records.hpp).
struct get_index_stats {};

// Writes every queued update now; answered with result<index_flushed> once written
// (tests, shutdown).
struct index_flush {};
struct index_flushed {
  std::uint64_t updates = 0;  // index updates written since start
};
using index_flush_result = persistence::result<index_flushed>;

// -- timer service (timer_service.hpp) ------------------------------------------

// Replaces the pending timers of a workflow (empty = clear). Fire-and-forget; sent by
// entities after each persisted change (the index_update carries the same set).
struct set_timers {
  std::string workflow_id;
  std::vector<timer> timers;
};

// Sent by the timer service to its sink (the runtime's region) when a timer is due; the
// region routes `fired` to the entity `workflow_id`. A timer fires again after
// pekko.workflow.timers.redeliver-after unless a set_timers for the workflow replaced
// it meanwhile (the model ignores a timer_fired for a timer no longer pending).
struct timer_due {
  std::string workflow_id;
  cmd::timer_fired fired;
};

// Sent by the timer service to its sink when a read of the index beyond max-timers found
// the workflow's timer set damaged: the region recovers the workflow, whose entity then
// writes its timers again (at start-up the runtime does that for the sets its first load
// found damaged).
struct timers_damaged {
  std::string workflow_id;
};

// Makes the timer service read its clock now and fire what is due (tests with a
// controllable clock; harmless otherwise).
struct timer_check {};

// Answered with timer_stats.
struct get_timer_stats {};
struct timer_stats {
  std::uint64_t pending = 0;         // timers held
  std::uint64_t workflows = 0;       // workflows with at least one timer
  std::uint64_t fired = 0;           // timer_due messages sent since start
  std::uint64_t refused = 0;         // timers not held because max-timers was reached
  std::uint64_t reloads = 0;         // reads of the index for the timers beyond max-timers
  std::uint64_t reloaded = 0;        // timers those reads added
  std::uint64_t failed_reloads = 0;  // reads the index did not answer
  bool overflowed = false;           // some pending timers are only in the index (not held)
};

// Timer service -> index actor, while timers beyond max-timers are only in the index.
// The actor writes what waits and answers with the index itself: the timer service
// reads it (workflow_index::load_timers(max_timers), which may run next to the actor's
// writes) on a thread of its own, so the index's writes and queries do not wait for
// the scan. The read then sees every update sent to the actor before this request.
struct reload_timers {};
struct timer_scan {
  std::shared_ptr<const workflow_index> index;
};
using timer_load_result = persistence::result<timer_load>;

}  // namespace wfe::workflow::store

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::register_definition)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::register_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::get_definition)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::definition_lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::list_definitions)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::definition_page_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::index_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::list_workflows)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::workflow_page_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::list_dead_letters)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::dead_letter_page_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::get_dead_letter)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::dead_letter_lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::get_workflow_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::workflow_record_lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::list_expired)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::remove_workflows)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::remove_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::get_index_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::index_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::index_flush)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::index_flush_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::set_timers)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::timer_due)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::timers_damaged)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::timer_check)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::get_timer_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::timer_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::reload_timers)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::timer_scan)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::store::timer_load_result)
