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

#include "engine/core/blocking_drain.hpp"

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

// Saves, and deletes, waiting in the mailbox together go in one save_many / delete_many
// (one synced write each): entities snapshot and retention purges many workflows at
// once. For one id the pending writes are all saves or all deletes (the other kind
// writes them first), and a load of an id with a write pending writes it first, so each
// id's requests are served in mailbox order.
class pending_writes {
 public:
  pending_writes(rocksdb_snapshot_store& store, snapshot_store_actor_config cfg)
      : store_(store), cfg_(cfg) {}

  void add_save(caf::response_promise promise, const persistence_id& pid, const snapshot& s) {
    const auto bytes = s.payload.size() + s.manifest.size();
    if (pending(deletes_, pid) || saves_.size() >= cfg_.max_batch ||
        (save_bytes_ > 0 && save_bytes_ + bytes > cfg_.max_batch_bytes)) {
      flush();
    }
    saves_.push_back({pid, s});
    save_bytes_ += bytes;
    save_promises_.push_back(std::move(promise));
  }

  void add_delete(caf::response_promise promise, const persistence_id& pid, std::uint64_t to) {
    if (pending(saves_, pid) || deletes_.size() >= cfg_.max_batch) flush();
    deletes_.push_back({pid, to});
    delete_promises_.push_back(std::move(promise));
  }

  void flush_if_pending(const persistence_id& pid) {
    if (pending(saves_, pid) || pending(deletes_, pid)) flush();
  }

  void flush() {
    answer(saves_.empty() ? std::vector<save_result>{} : store_.save_many(saves_), save_promises_,
           "save");
    answer(deletes_.empty() ? std::vector<delete_result>{} : store_.delete_many(deletes_),
           delete_promises_, "delete");
    saves_.clear();
    deletes_.clear();
    save_bytes_ = 0;
  }

 private:
  template <class Request>
  static bool pending(const std::vector<Request>& requests, const persistence_id& pid) {
    return std::any_of(requests.begin(), requests.end(),
                       [&pid](const Request& r) { return r.pid == pid; });
  }

  template <class Result>
  static void answer(std::vector<Result> results, std::vector<caf::response_promise>& promises,
                     const char* what) {
    for (std::size_t i = 0; i < promises.size(); ++i) {
      promises[i].deliver(i < results.size() ? std::move(results[i])
                                             : Result(fail(errc::internal, std::string("missing ") +
                                                                               what + " result")));
    }
    promises.clear();
  }

  rocksdb_snapshot_store& store_;
  snapshot_store_actor_config cfg_;
  std::vector<rocksdb_snapshot_store::save_request> saves_;
  std::vector<caf::response_promise> save_promises_;  // parallel to saves_
  std::size_t save_bytes_ = 0;
  std::vector<rocksdb_snapshot_store::delete_request> deletes_;
  std::vector<caf::response_promise> delete_promises_;  // parallel to deletes_
};

template <class... Extra>
caf::behavior make_handlers(caf::blocking_actor* self, rocksdb_snapshot_store& store,
                            pending_writes& writes, bool& running, Extra&&... extra) {
  return {
      [self, &writes](snapshot_save_atom, const persistence_id& pid, const snapshot& s) {
        writes.add_save(self->make_response_promise(), pid, s);
      },
      [&store, &writes](snapshot_load_atom, const persistence_id& pid,
                        std::uint64_t max) -> load_result {
        writes.flush_if_pending(pid);
        return store.load_latest(pid, max);
      },
      [&store, &writes](snapshot_recover_atom, const persistence_id& pid,
                        std::uint64_t highest) -> load_result {
        writes.flush_if_pending(pid);
        return store.load_for_recovery(pid, highest);
      },
      [self, &writes](snapshot_delete_atom, const persistence_id& pid, std::uint64_t to) {
        writes.add_delete(self->make_response_promise(), pid, to);
      },
      [self, &writes, &running](caf::exit_msg& msg) {
        writes.flush();
        running = false;
        self->fail_state(std::move(msg.reason));
      },
      std::forward<Extra>(extra)...,
  };
}

void snapshot_store_loop(caf::blocking_actor* self, std::shared_ptr<rocksdb_snapshot_store> store,
                         snapshot_store_actor_config cfg) {
  using clock = std::chrono::steady_clock;
  pending_writes writes(*store, cfg);
  bool running = true;
  bool idle = false;
  auto last_housekeeping = clock::now();
  auto housekeeping = [&] {
    store->housekeeping();
    last_housekeeping = clock::now();
  };
  // Sleeps until there is work, or until the next housekeeping.
  auto wait = make_handlers(self, *store, writes, running,
                            caf::after(cfg.housekeeping_interval) >> housekeeping);
  auto drain = make_handlers(
      self, *store, writes, running,
      caf::after(std::chrono::seconds(0)) >> [&idle] { idle = true; });
  while (running) {  // NOLINT(bugprone-infinite-loop): the handlers clear `running`
    self->receive(wait);
    core::drain_mailbox(self, drain, running, idle);
    writes.flush();
    if (clock::now() - last_housekeeping >= cfg.housekeeping_interval) housekeeping();
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
                                      snapshot_store_actor_config cfg) {
  return sys.spawn(snapshot_store_loop, std::move(store), cfg);
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

result<done> snapshot_delete_blocking(caf::actor_system& sys, const caf::actor& store_actor,
                                      timeout_ms timeout, const persistence_id& pid,
                                      std::uint64_t to_sequence_nr) {
  caf::scoped_actor self{sys};
  delete_result out = fail(errc::unavailable, "no answer");
  self->request(store_actor, timeout, snapshot_delete_atom::value, pid, to_sequence_nr)
      .receive([&](delete_result& r) { out = std::move(r); },
               [&](caf::error& e) { out = core::unexpected<error>{unavailable(e)}; });
  return out;
}

}  // namespace wfe::persistence
