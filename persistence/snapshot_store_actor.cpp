#include "persistence/snapshot_store_actor.hpp"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

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

// Deletes waiting in the mailbox together go in one delete_many (one synced write):
// retention purges many workflows at once. Another request of an id with a delete
// pending writes them first, so each id's requests are served in mailbox order.
class pending_deletes {
 public:
  pending_deletes(rocksdb_snapshot_store& store, std::size_t max) : store_(store), max_(max) {}

  void add(caf::response_promise promise, const persistence_id& pid, std::uint64_t to) {
    if (requests_.size() >= max_) flush();
    requests_.push_back({pid, to});
    promises_.push_back(std::move(promise));
  }

  void flush_if_pending(const persistence_id& pid) {
    if (std::any_of(requests_.begin(), requests_.end(),
                    [&pid](const auto& r) { return r.pid == pid; })) {
      flush();
    }
  }

  void flush() {
    if (requests_.empty()) return;
    auto results = store_.delete_many(requests_);
    for (std::size_t i = 0; i < promises_.size(); ++i) {
      promises_[i].deliver(i < results.size()
                               ? std::move(results[i])
                               : delete_result(fail(errc::internal, "missing delete result")));
    }
    requests_.clear();
    promises_.clear();
  }

 private:
  rocksdb_snapshot_store& store_;
  std::size_t max_;
  std::vector<rocksdb_snapshot_store::delete_request> requests_;
  std::vector<caf::response_promise> promises_;  // parallel to requests_
};

template <class... Extra>
caf::behavior make_handlers(caf::blocking_actor* self, rocksdb_snapshot_store& store,
                            pending_deletes& deletes, bool& running, Extra&&... extra) {
  return {
      [&store, &deletes](snapshot_save_atom, const persistence_id& pid,
                         const snapshot& s) -> save_result {
        deletes.flush_if_pending(pid);
        return store.save(pid, s);
      },
      [&store, &deletes](snapshot_load_atom, const persistence_id& pid,
                         std::uint64_t max) -> load_result {
        deletes.flush_if_pending(pid);
        return store.load_latest(pid, max);
      },
      [&store, &deletes](snapshot_recover_atom, const persistence_id& pid,
                         std::uint64_t highest) -> load_result {
        deletes.flush_if_pending(pid);
        return store.load_for_recovery(pid, highest);
      },
      [self, &deletes](snapshot_delete_atom, const persistence_id& pid, std::uint64_t to) {
        deletes.add(self->make_response_promise(), pid, to);
      },
      [self, &deletes, &running](caf::exit_msg& msg) {
        deletes.flush();
        running = false;
        self->fail_state(std::move(msg.reason));
      },
      std::forward<Extra>(extra)...,
  };
}

void snapshot_store_loop(caf::blocking_actor* self, std::shared_ptr<rocksdb_snapshot_store> store,
                         std::size_t max_batch_deletes) {
  pending_deletes deletes(*store, max_batch_deletes);
  bool running = true;
  bool idle = false;
  auto wait = make_handlers(self, *store, deletes, running);
  auto drain = make_handlers(
      self, *store, deletes, running,
      caf::after(std::chrono::seconds(0)) >> [&idle] { idle = true; });
  while (running) {       // NOLINT(bugprone-infinite-loop): the handlers clear `running`
    self->receive(wait);  // sleeps until there is work
    idle = false;
    while (running && !idle) self->receive(drain);
    deletes.flush();
  }
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
                                      std::shared_ptr<rocksdb_snapshot_store> store,
                                      std::size_t max_batch_deletes) {
  return sys.spawn(snapshot_store_loop, std::move(store), max_batch_deletes);
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
