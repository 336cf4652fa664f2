#pragma once
// Recovery permits: bound how many entities of a node recover at the same time
// (pekko.persistence.recovery.max-concurrent-recoveries), so a node that starts or
// takes over shards with thousands of entities does not flood the journal with
// replays and starve the entities that are already running.
//
// One permit actor per node (event-based, cheap). An entity acquires a permit before
// recovery and releases it after; the permit actor monitors holders, so a permit
// held by an entity that dies mid-recovery comes back by itself. A holder is an ACTOR:
// a shard hosting many entities holds (and waits for) several permits under one
// address, so the actor is monitored once while it holds or waits for any, and no
// longer once it holds none (a long-lived shard must not collect one monitor per
// recovery).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include <caf/fwd.hpp>

namespace wfe::persistence {

// Counters for tests and benchmarks.
struct recovery_permit_stats {
  std::atomic<std::uint64_t> granted{0};
  std::atomic<std::uint64_t> in_use{0};
  std::atomic<std::uint64_t> max_in_use{0};  // high-water mark of in_use
  std::atomic<std::uint64_t> monitored{0};   // actors holding or waiting for permits
};

[[nodiscard]] caf::actor spawn_recovery_permits(
    caf::actor_system& sys, std::uint32_t max_concurrent,
    std::shared_ptr<recovery_permit_stats> stats = nullptr);

// Calls `on_granted` in `self`'s context once a permit is held (at once when
// `permits` is invalid: no bound). If the permit actor is gone, `on_granted` runs too:
// recovery must not hang on a missing limiter.
void acquire_recovery_permit(caf::event_based_actor* self, const caf::actor& permits,
                             const std::function<void()>& on_granted);

// Returns the permit `self` holds (no-op when `permits` is invalid).
void release_recovery_permit(caf::event_based_actor* self, const caf::actor& permits);

}  // namespace wfe::persistence
