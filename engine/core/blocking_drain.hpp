#pragma once
// Draining a blocking actor's mailbox without waiting.
//
// The blocking actors that batch (the journal, the snapshot store, the workflow index)
// take what is queued with a `receive` whose behavior ends in `after(0) >> idle = true`.
// On an empty mailbox CAF does not return at once for that timeout: it waits on the
// mailbox's condition variable until the deadline, which has passed, so the thread
// sleeps until the timer fires — 72 µs and two context switches per call on the
// benchmark VM (bench/README.md "Thirty-eighth pass"). Under load that sleep ended every
// drain of the journal actor, on the path of every write. Checking the mailbox first
// skips it: a message that is queued is received at once, an empty mailbox ends the
// drain without a wait.
#include <caf/behavior.hpp>
#include <caf/blocking_actor.hpp>

namespace wfe::core {

// Receives with `drain` until its after(0) handler sets `idle`, `running` goes false, or
// the mailbox is empty. `idle` is reset first.
inline void drain_mailbox(caf::blocking_actor* self, caf::behavior& drain, const bool& running,
                          bool& idle) {
  idle = false;
  while (running && !idle) {
    if (!self->has_next_message()) return;
    self->receive(drain);
  }
}

}  // namespace wfe::core
