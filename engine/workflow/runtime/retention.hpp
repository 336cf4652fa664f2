#pragma once
// Retention of finished workflows (pekko.workflow.retention, Temporal's namespace
// retention): a sweeper actor that, every sweep-interval, asks the index for finished
// workflows (COMPLETED, FAILED, CANCELLED) last changed before now - finished-after
// (store::list_expired, one bounded page at a time) and has each one's shard purge it
// (purge_workflow: snapshots, journal, index record and dead letter; the id may then be
// started again). A few purges at a time (each is a synced journal write, so a sweep
// never floods the journal actor in front of client writes). While pages come back
// full it goes on at once; at the end of the listing it waits sweep-interval again.
// Workflows the shard leaves alone (changed since the index said, or busy) are looked
// at again in a later pass. With an archiver (archive-dir, archive.hpp), each page's
// workflows are read (record and events up to the listed seq) and appended to the
// archive, synced, before any of them is purged; a page the archive refuses is not
// purged (retried at the next sweep-interval).
//
// Spawned by start_workflow_runtime when finished-after is set; stops on an exit message.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "engine/workflow/runtime/runtime_settings.hpp"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

#include "engine/workflow/runtime/workflow_region.hpp"

namespace wfe::workflow::runtime {

struct retention_deps {
  caf::actor* index = nullptr;          // required: the index actor (list_expired)
  region_router router;                 // required: purge_workflow goes straight to the shard
  std::function<std::int64_t()> clock;  // epoch ms; empty = the system clock
  // Each purge's answer is awaited this long (it is a few store round trips).
  std::chrono::milliseconds purge_timeout{40'000};
  // Optional: the archiver (spawn_archiver), a journal reader to read the events from,
  // and the number of shards (a workflow's persistence id).
  caf::actor archiver = {};
  caf::actor journal = {};
  std::uint32_t shards = 0;
  // Optional metrics of the archive: workflows archived, appends refused (full, or a
  // write error: nothing of that page deleted), and the archive's size.
  prometheus::Counter* archived = nullptr;
  prometheus::Counter* archive_refusals = nullptr;
  prometheus::Gauge* archive_bytes = nullptr;
};

[[nodiscard]] caf::actor spawn_retention_sweeper(caf::actor_system& sys,
                                                 const runtime_settings& settings,
                                                 retention_deps deps);

}  // namespace wfe::workflow::runtime
