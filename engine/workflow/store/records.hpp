#pragma once
// Plain data of the workflow store (CAF-free): what the visibility index keeps per
// workflow, the dead-letter list's entries, pages of both, and the pending timers of a
// workflow. store_messages.hpp wraps them into the actors' messages.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine/workflow/workflow_model.hpp"

namespace wfe::workflow::store {

// One workflow as the visibility index shows it. `seq` is the entity's journal sequence
// nr the record reflects: reconciliation compares it with the journal's highest, and the
// index ignores an update older than what it holds.
struct workflow_record {
  std::string id;
  std::string definition;     // definition name
  std::uint32_t version = 0;  // definition version the workflow is pinned to
  workflow_status status = workflow_status::running;
  std::string priority = "normal";
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::uint64_t seq = 0;
  // RUNNING with a step SCHEDULED or RUNNING: a task the node must dispatch again after a
  // restart (tasks live in memory), so reconciliation wakes it. false = it waits only for
  // a timer or a request (it could be passivated) and stays asleep at start: its timers
  // are loaded from the index. Records of index format 2 without it read as true.
  bool tasks_in_flight = true;
  bool operator==(const workflow_record&) const = default;
};

// An open dead letter: the step that exhausted its retries (or was non-retryable) and
// failed its workflow. One per failed workflow; `id` is the workflow id (stable and
// URL-safe, DESIGN.md §9 ids), so POST /api/v1/dead-letters/{id}/retry names the workflow.
struct dead_letter_record {
  std::string id;
  std::string workflow_id;
  std::string step;  // empty when the workflow itself timed out
  std::string error;
  std::uint32_t attempts = 0;
  std::int64_t at_ms = 0;
  bool operator==(const dead_letter_record&) const = default;
};

// The complete set of pending timers of one workflow (empty = none).
struct workflow_timers {
  std::string workflow_id;
  std::vector<timer> timers;
  bool operator==(const workflow_timers&) const = default;
};

// What workflow_index::load_timers() read: at most its max_timers timers (whole sets,
// those due first; in id order), the ids whose set did not decode, and what did not fit.
struct timer_load {
  std::vector<workflow_timers> timers;
  std::vector<std::string> damaged;
  std::uint64_t dropped = 0;  // timers beyond max_timers (not in `timers`)
  std::int64_t dropped_first_due = std::numeric_limits<std::int64_t>::max();  // earliest of them
};

// A page of a listing. `next_cursor` is opaque (hex); empty when this is the last page.
struct workflow_page {
  std::vector<workflow_record> items;
  std::string next_cursor;
};

struct dead_letter_page {
  std::vector<dead_letter_record> items;
  std::string next_cursor;
};

// The index actor's update message, sent fire-and-forget by a workflow entity after each persisted
// change: the workflow's visibility record, its complete pending timer set (replaces the previous
// one) and its open dead letter (absent: cleared). Updates with a lower record.seq than the indexed
// one are ignored (stale).
struct index_update {
  workflow_record record;
  std::vector<timer> timers;
  std::optional<dead_letter_record> dead_letter;
};

// Newest first (created_at descending, then id). Filters are optional (definition ""
// = any). limit 0 = the default (pekko.workflow.store.list-default-limit); above
// list-max-limit -> invalid_argument. cursor "" = first page; a cursor from another
// filter or a damaged one -> invalid_argument. The index actor answers result<workflow_page>.
// created_after_ms (inclusive) and created_before_ms (exclusive) bound the creation time:
// the listing seeks to the first record created before the one and ends at the last
// created at or after the other (the listings are in creation order), reading nothing
// outside the range.
struct list_workflows {
  std::optional<workflow_status> status;
  std::string definition;
  std::uint32_t limit = 0;
  std::string cursor;
  std::optional<std::int64_t> created_after_ms;
  std::optional<std::int64_t> created_before_ms;
};
// Retention (the runtime's sweeper): finished workflows (COMPLETED, FAILED, CANCELLED)
// whose record was last updated before `updated_before_ms`, oldest created first. Only
// records created before the cutoff are looked at (one can be updated only after it is
// created), and at most `max_scan` of them per page, so a page costs a bounded read
// however many finished workflows are not expired yet; `next_cursor` resumes after the
// last record looked at ("" when the listing is done). limit 1..10000. The index
// actor answers result<workflow_page>.
struct list_expired {
  std::int64_t updated_before_ms = 0;
  std::uint32_t limit = 0;
  std::uint32_t max_scan = 0;
  std::string cursor;
};
// By id; with `definition`, those of that definition's FAILED workflows, newest started
// first; with `step`, only those whose dead-lettered step has that name ("" = any; the
// workflow's own timeout has no step and matches none). A filtered page looks at no more
// than list-max-scan entries: it may end early (fewer items, even none) with a
// next_cursor. The index actor answers result<dead_letter_page>.
struct list_dead_letters {
  std::uint32_t limit = 0;
  std::string cursor;
  std::string definition;
  std::string step;
};
// Counts for metrics and /cluster/stats: workflows per status, open dead letters,
// workflows with pending timers.
struct index_stats {
  std::uint64_t running = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t dead_letters = 0;
  std::uint64_t workflows_with_timers = 0;
  std::uint64_t updates = 0;  // index updates written since start
  std::uint64_t batches = 0;  // WriteBatches written since start
  // Updates replaced, before being written, by a newer one of the same workflow (index
  // actor only; pekko.workflow.store.update-linger).
  std::uint64_t coalesced = 0;
};

}  // namespace wfe::workflow::store
