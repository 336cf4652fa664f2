#pragma once
// Settings of event-sourced entities (eventsourced.hpp), kept apart so that
// persistence_settings.hpp does not pull in CAF.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace wfe::persistence {

struct eventsourced_config {
  // Each journal / snapshot store request of an entity (journal.request-timeout).
  std::chrono::milliseconds request_timeout{10'000};
  // Events per replay request during recovery (recovery.replay-batch-size).
  std::uint64_t replay_batch_size = 1000;
  // A snapshot after this many events; 0: never (event-sourcing.snapshot-every).
  std::uint32_t snapshot_every = 100;
  // Commands held during recovery or an in-flight persist; more are refused
  // (event-sourcing.stash-capacity).
  std::size_t max_stash = 1000;
  // Delete journal events up to the oldest kept snapshot after each snapshot.
  bool delete_events_on_snapshot = false;
};

}  // namespace wfe::persistence
