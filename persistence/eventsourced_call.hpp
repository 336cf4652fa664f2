#pragma once
// A command for an event-sourced entity (eventsourced.hpp) answered through a callback
// instead of a response promise: the entity calls `reply` on its own thread, exactly
// once unless it dies first, with what a request would have received. A caller outside
// the actor world (an HTTP handler's responder) so gets its answer without a hop back
// through an intermediary actor, and without a request timeout held by CAF's clock:
// the caller bounds the wait itself (the HTTP request timeout). Light header.
// Declare the concrete type with CAF_ALLOW_UNSAFE_MESSAGE_TYPE where it is sent.

#include <functional>

#include "persistence/journal.hpp"

namespace wfe::persistence {

template <class Command, class Reply>
struct eventsourced_call {
  Command cmd;
  std::function<void(result<Reply>)> reply;
};

}  // namespace wfe::persistence
