#include "persistence/snapshot_store_actor.hpp"

#include <utility>

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

namespace wfe::persistence::internal {

// Local-only messages, like the journal actor's.
using save_result = result<std::uint64_t>;
using load_result = result<std::optional<snapshot>>;
using delete_result = result<done>;

using snapshot_save_atom = caf::atom_constant<caf::atom("ssave")>;
using snapshot_load_atom = caf::atom_constant<caf::atom("sload")>;
using snapshot_recover_atom = caf::atom_constant<caf::atom("srecover")>;
using snapshot_delete_atom = caf::atom_constant<caf::atom("sdelete")>;

}  // namespace wfe::persistence::internal

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::persistence::snapshot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::persistence::internal::save_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::persistence::internal::load_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::persistence::internal::delete_result)

namespace wfe::persistence {

using namespace internal;

namespace {

void snapshot_store_loop(caf::blocking_actor* self, std::shared_ptr<rocksdb_snapshot_store> store) {
  bool running = true;
  self->receive_while(running)(
      [&](snapshot_save_atom, const persistence_id& pid, const snapshot& s) -> save_result {
        return store->save(pid, s);
      },
      [&](snapshot_load_atom, const persistence_id& pid, std::uint64_t max) -> load_result {
        return store->load_latest(pid, max);
      },
      [&](snapshot_recover_atom, const persistence_id& pid, std::uint64_t highest) -> load_result {
        return store->load_for_recovery(pid, highest);
      },
      [&](snapshot_delete_atom, const persistence_id& pid, std::uint64_t to) -> delete_result {
        return store->delete_to(pid, to);
      },
      [&](caf::exit_msg& msg) {
        running = false;
        self->fail_state(std::move(msg.reason));
      });
}

error unavailable(const caf::error& e) {
  return error{errc::unavailable, "snapshot store actor did not answer: " + caf::to_string(e)};
}

// One asynchronous request to the store actor; `on_done` gets its result, or
// unavailable when the actor is gone or did not answer within `timeout`.
template <class Result, class... Args>
void ask(caf::event_based_actor* self, const caf::actor& store_actor, timeout_ms timeout,
         const std::function<void(Result)>& on_done, Args&&... args) {
  self->request(store_actor, timeout, std::forward<Args>(args)...)
      .then([on_done](Result& r) { on_done(std::move(r)); },
            [on_done](caf::error& e) { on_done(core::unexpected<error>{unavailable(e)}); });
}

}  // namespace

caf::actor spawn_snapshot_store_actor(caf::actor_system& sys,
                                      std::shared_ptr<rocksdb_snapshot_store> store) {
  return sys.spawn(snapshot_store_loop, std::move(store));
}

void request_snapshot_save(caf::event_based_actor* self, const caf::actor& store_actor,
                           timeout_ms timeout, const persistence_id& pid, snapshot s,
                           const std::function<void(result<std::uint64_t>)>& on_done) {
  ask<save_result>(self, store_actor, timeout, on_done, snapshot_save_atom::value, pid,
                   std::move(s));
}

void request_snapshot_load(caf::event_based_actor* self, const caf::actor& store_actor,
                           timeout_ms timeout, const persistence_id& pid,
                           std::uint64_t max_sequence_nr,
                           const std::function<void(result<std::optional<snapshot>>)>& on_done) {
  ask<load_result>(self, store_actor, timeout, on_done, snapshot_load_atom::value, pid,
                   max_sequence_nr);
}

void request_snapshot_for_recovery(
    caf::event_based_actor* self, const caf::actor& store_actor, timeout_ms timeout,
    const persistence_id& pid, std::uint64_t journal_highest,
    const std::function<void(result<std::optional<snapshot>>)>& on_done) {
  ask<load_result>(self, store_actor, timeout, on_done, snapshot_recover_atom::value, pid,
                   journal_highest);
}

void request_snapshot_delete(caf::event_based_actor* self, const caf::actor& store_actor,
                             timeout_ms timeout, const persistence_id& pid,
                             std::uint64_t to_sequence_nr,
                             const std::function<void(result<done>)>& on_done) {
  ask<delete_result>(self, store_actor, timeout, on_done, snapshot_delete_atom::value, pid,
                     to_sequence_nr);
}

result<std::uint64_t> snapshot_save_blocking(caf::actor_system& sys, const caf::actor& store_actor,
                                             timeout_ms timeout, const persistence_id& pid,
                                             snapshot s) {
  caf::scoped_actor self{sys};
  save_result out = fail(errc::unavailable, "no answer");
  self->request(store_actor, timeout, snapshot_save_atom::value, pid, std::move(s))
      .receive([&](save_result& r) { out = std::move(r); },
               [&](caf::error& e) { out = core::unexpected<error>{unavailable(e)}; });
  return out;
}

result<std::optional<snapshot>> snapshot_load_blocking(caf::actor_system& sys,
                                                       const caf::actor& store_actor,
                                                       timeout_ms timeout,
                                                       const persistence_id& pid,
                                                       std::uint64_t max_sequence_nr) {
  caf::scoped_actor self{sys};
  load_result out = fail(errc::unavailable, "no answer");
  self->request(store_actor, timeout, snapshot_load_atom::value, pid, max_sequence_nr)
      .receive([&](load_result& r) { out = std::move(r); },
               [&](caf::error& e) { out = core::unexpected<error>{unavailable(e)}; });
  return out;
}

}  // namespace wfe::persistence
