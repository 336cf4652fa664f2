#include "persistence/journal_actor.hpp"

#include <algorithm>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include "engine/core/blocking_drain.hpp"
#include "engine/core/logging.hpp"
#include "engine/core/loop_dispatcher.hpp"
#include "persistence/journal_metrics.hpp"

namespace wfe::persistence::internal {

// Local-only messages: they never cross the wire (a replicated journal will have its
// own protocol with inspect()able types).
using write_result = result<std::uint64_t>;
using replay_result = result<std::vector<event>>;
using done_result = result<done>;

using write_atom = caf::atom_constant<caf::atom("jwrite")>;
using write_bg_atom = caf::atom_constant<caf::atom("jwritebg")>;
using replay_atom = caf::atom_constant<caf::atom("jreplay")>;
using highest_atom = caf::atom_constant<caf::atom("jhighest")>;
using delete_atom = caf::atom_constant<caf::atom("jdelete")>;
using purge_atom = caf::atom_constant<caf::atom("jpurge")>;

}  // namespace wfe::persistence::internal

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::persistence::write_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::persistence::internal::write_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::persistence::internal::replay_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::persistence::internal::done_result)

namespace wfe::persistence {

using namespace internal;

namespace {

using clock = std::chrono::steady_clock;

std::uint64_t payload_bytes(const write_request& r) {
  std::uint64_t n = 0;
  for (const auto& e : r.events) n += e.payload.size() + e.manifest.size() + e.writer_id.size();
  return n;
}

// The group-commit state: requests received but not yet written.
class group_commit {
 public:
  group_commit(journal_actor_deps deps, journal_actor_config cfg)
      : deps_(std::move(deps)), cfg_(cfg) {}

  // `deadline_ns`: steady-clock nanoseconds after which the requester no longer waits
  // (0: none); a request taken from the mailbox after it is refused unwritten.
  void add(caf::response_promise promise, write_request request, std::int64_t deadline_ns,
           bool background = false) {
    const auto now = clock::now();
    if (deadline_ns != 0 && now.time_since_epoch().count() > deadline_ns) {
      if (deps_.stats) deps_.stats->expired.fetch_add(1, std::memory_order_relaxed);
      answer(promise, fail(errc::unavailable, "journal write of " + request.pid.describe() +
                                                  " waited longer than its request timeout "
                                                  "for the journal; not written"));
      return;
    }
    const auto events = static_cast<std::uint64_t>(request.events.size());
    const auto bytes = payload_bytes(request);
    if (events > cfg_.max_batch_events || bytes > cfg_.max_batch_bytes) {
      answer(promise, fail(errc::invalid_argument, oversize(request, events, bytes)));
      return;
    }
    if (pending_events_ + events > cfg_.max_batch_events ||
        pending_bytes_ + bytes > cfg_.max_batch_bytes) {
      flush();
    }
    pending_events_ += events;
    pending_bytes_ += bytes;
    if (!background) ++foreground_;
    promises_.push_back(pending_reply{std::move(promise), now, events});
    requests_.push_back(std::move(request));
  }

  // A purge joins the pending purges, written in one journal purge_many at the next
  // flush, before the pending writes. Mailbox order per id holds: writes of the id
  // pending now are written first, and a write of the id that comes later joins a batch
  // written after the purge (purge_many applies several purges of an id in order).
  void add_purge(caf::response_promise promise, purge_request request) {
    if (write_pending(request.pid) || purges_.size() >= cfg_.max_batch_purges) flush();
    purges_.push_back(std::move(request));
    purge_promises_.push_back(std::move(promise));
  }

  // Writes every pending request in one journal write, then answers each requester;
  // pending purges first, in one purge_many (add_purge relies on that order).
  void flush() {
    flush_purges();
    if (requests_.empty()) return;
    const auto start = clock::now();
    auto results = deps_.store->write_many(std::move(requests_));
    const auto end = clock::now();
    observe_batch(pending_events_, end - start);
    // The requesters are mostly shards on the HTTP io thread: one wake-up of it for the
    // whole batch of answers (core/loop_dispatcher.hpp).
    const core::loop_dispatcher::deferred_wakeups one_wakeup;
    for (std::size_t i = 0; i < promises_.size(); ++i) {
      auto& p = promises_[i];
      auto r = i < results.size() ? std::move(results[i])
                                  : write_result(fail(errc::internal, "missing write result"));
      if (r) record_persisted(p, end);
      answer(p.promise, std::move(r));
    }
    requests_.clear();
    promises_.clear();
    pending_events_ = 0;
    pending_bytes_ = 0;
    foreground_ = 0;
  }

  // Pending writes, all of them background: worth waiting for a foreground one.
  [[nodiscard]] bool only_background() const {
    return !requests_.empty() && foreground_ == 0 && purges_.empty();
  }

  // Writes what is pending if it holds a write or purge of `pid`, so a read or delete of
  // `pid` sees every change of `pid` sent before it. Requests of other ids stay in the
  // batch: a read must not force a sync (every new entity reads its highest sequence
  // nr while recovering; flushing for each would shrink batches to a single write).
  void flush_if_pending(const persistence_id& pid) {
    if (write_pending(pid) || purge_pending(pid)) flush();
  }

  [[nodiscard]] journal& store() { return *deps_.store; }

 private:
  struct pending_reply {
    caf::response_promise promise;
    clock::time_point received;
    std::uint64_t events = 0;
  };

  [[nodiscard]] bool write_pending(const persistence_id& pid) const {
    return std::any_of(requests_.begin(), requests_.end(),
                       [&pid](const write_request& r) { return r.pid == pid; });
  }

  [[nodiscard]] bool purge_pending(const persistence_id& pid) const {
    return std::any_of(purges_.begin(), purges_.end(),
                       [&pid](const purge_request& r) { return r.pid == pid; });
  }

  void flush_purges() {
    if (purges_.empty()) return;
    auto results = deps_.store->purge_many(std::move(purges_));
    if (deps_.stats) deps_.stats->purge_writes.fetch_add(1, std::memory_order_relaxed);
    const core::loop_dispatcher::deferred_wakeups one_wakeup;
    for (std::size_t i = 0; i < purge_promises_.size(); ++i) {
      purge_promises_[i].deliver(i < results.size()
                                     ? std::move(results[i])
                                     : done_result(fail(errc::internal, "missing purge result")));
    }
    purges_.clear();
    purge_promises_.clear();
  }

  void answer(caf::response_promise& promise, write_result r) {
    if (deps_.stats) deps_.stats->requests.fetch_add(1, std::memory_order_relaxed);
    promise.deliver(std::move(r));
  }

  void observe_batch(std::uint64_t events, clock::duration took) {
    if (deps_.stats) deps_.stats->writes.fetch_add(1, std::memory_order_relaxed);
    if (!deps_.metrics) return;
    deps_.metrics->batch_size(events);
    deps_.metrics->sync_seconds(std::chrono::duration<double>(took).count());
  }

  void record_persisted(const pending_reply& p, clock::time_point now) {
    if (deps_.stats) deps_.stats->events.fetch_add(p.events, std::memory_order_relaxed);
    if (!deps_.metrics) return;
    deps_.metrics->events_persisted(p.events);
    deps_.metrics->write_seconds(std::chrono::duration<double>(now - p.received).count());
  }

  std::string oversize(const write_request& r, std::uint64_t events, std::uint64_t bytes) const {
    return "batch for " + r.pid.describe() + " has " + std::to_string(events) + " events and " +
           std::to_string(bytes) + " bytes; the journal takes at most " +
           std::to_string(cfg_.max_batch_events) + " events and " +
           std::to_string(cfg_.max_batch_bytes) + " bytes per write";
  }

  journal_actor_deps deps_;
  journal_actor_config cfg_;
  std::vector<write_request> requests_;
  std::vector<pending_reply> promises_;  // parallel to requests_
  std::uint64_t pending_events_ = 0;
  std::uint64_t pending_bytes_ = 0;
  std::size_t foreground_ = 0;  // pending writes a client waits on
  std::vector<purge_request> purges_;
  std::vector<caf::response_promise> purge_promises_;  // parallel to purges_
};

replay_result replay_all(journal& store, const persistence_id& pid, std::uint64_t from,
                         std::uint64_t to, std::uint64_t max) {
  std::vector<event> events;
  auto r = store.replay(pid, from, to, max, [&](const event& e) { events.push_back(e); });
  if (!r) return core::unexpected<error>{std::move(r).error()};
  return events;
}

// Handlers shared by the blocking receive (wait for work) and the polling receive
// (drain the mailbox): reads and deletes first write what is pending.
template <class... Extra>
caf::behavior make_handlers(caf::blocking_actor* self, group_commit& gc, bool& running,
                            Extra&&... extra) {
  return {
      [self, &gc](write_atom, write_request& request, std::int64_t deadline_ns) {
        gc.add(self->make_response_promise(), std::move(request), deadline_ns);
      },
      [self, &gc](write_bg_atom, write_request& request, std::int64_t deadline_ns) {
        gc.add(self->make_response_promise(), std::move(request), deadline_ns, true);
      },
      [&gc](replay_atom, const persistence_id& pid, std::uint64_t from, std::uint64_t to,
            std::uint64_t max) -> replay_result {
        gc.flush_if_pending(pid);
        return replay_all(gc.store(), pid, from, to, max);
      },
      [&gc](highest_atom, const persistence_id& pid) -> write_result {
        gc.flush_if_pending(pid);
        return gc.store().highest_sequence_nr(pid);
      },
      [&gc](delete_atom, const persistence_id& pid, std::uint64_t to) -> done_result {
        gc.flush_if_pending(pid);
        return gc.store().delete_to(pid, to);
      },
      [self, &gc](purge_atom, const persistence_id& pid, std::uint64_t if_highest) {
        gc.add_purge(self->make_response_promise(), purge_request{pid, if_highest});
      },
      [self, &gc, &running](caf::exit_msg& msg) {
        gc.flush();
        running = false;
        self->fail_state(std::move(msg.reason));
      },
      std::forward<Extra>(extra)...,
  };
}

void journal_actor_loop(caf::blocking_actor* self, journal_actor_deps deps,
                        journal_actor_config cfg) {
  group_commit gc(std::move(deps), cfg);
  bool running = true;
  auto last_housekeeping = clock::now();
  auto housekeeping = [&] {
    gc.store().housekeeping();
    last_housekeeping = clock::now();
  };
  // Sleeps until there is work, or until the next housekeeping.
  auto wait =
      make_handlers(self, gc, running, caf::after(cfg.housekeeping_interval) >> housekeeping);
  bool idle = false;
  // after(0): handle what is queued (core/blocking_drain.hpp).
  auto drain = make_handlers(
      self, gc, running, caf::after(std::chrono::seconds(0)) >> [&idle] { idle = true; });
  while (running) {  // NOLINT(bugprone-infinite-loop): the handlers clear `running`
    self->receive(wait);
    // Everything that arrived meanwhile joins the batch (add() flushes at the bounds).
    core::drain_mailbox(self, drain, running, idle);
    if (running && gc.only_background() && cfg.background_linger.count() > 0) {
      // Wait for a foreground write to share the sync, at most background_linger.
      const auto deadline = clock::now() + cfg.background_linger;
      // The deadline is checked on the steady clock: CAF's receive timeout may fire a
      // little early (0.3 ms seen), which only means another, short receive.
      while (running && gc.only_background()) {
        const auto left = deadline - clock::now();
        if (left <= clock::duration::zero()) break;
        auto lingering = make_handlers(
            self, gc, running,
            caf::after(std::chrono::ceil<std::chrono::microseconds>(left)) >> [] {});
        self->receive(lingering);  // an lvalue: receive(behavior&)
      }
      core::drain_mailbox(self, drain, running, idle);
    }
    gc.flush();
    if (clock::now() - last_housekeeping >= cfg.housekeeping_interval) housekeeping();
  }
}

void journal_reader_loop(caf::blocking_actor* self, std::shared_ptr<journal> store) {
  bool running = true;
  self->receive_while(running)(
      [&store](replay_atom, const persistence_id& pid, std::uint64_t from, std::uint64_t to,
               std::uint64_t max) -> replay_result {
        return replay_all(*store, pid, from, to, max);
      },
      [&store](highest_atom, const persistence_id& pid) -> write_result {
        return store->highest_sequence_nr(pid);
      },
      [self, &running](caf::exit_msg& msg) {
        running = false;
        self->fail_state(std::move(msg.reason));
      });
}

error unavailable(const caf::error& e) {
  return error{errc::unavailable, "journal actor did not answer: " + caf::to_string(e)};
}

std::int64_t deadline_after(timeout_ms timeout) {
  return (clock::now() + timeout).time_since_epoch().count();
}

}  // namespace

caf::actor spawn_journal_actor(caf::actor_system& sys, journal_actor_deps deps,
                               const journal_actor_config& cfg) {
  core::logger("persistence")
      ->info(
          "journal actor started (max-batch-events {}, max-batch-bytes {}, background-linger {} "
          "us)",
          cfg.max_batch_events, cfg.max_batch_bytes, cfg.background_linger.count());
  return sys.spawn(journal_actor_loop, std::move(deps), cfg);
}

caf::actor spawn_journal_reader(caf::actor_system& sys, std::shared_ptr<journal> store) {
  return sys.spawn(journal_reader_loop, std::move(store));
}

void request_write(caf::event_based_actor* self, const caf::actor& journal_actor,
                   timeout_ms timeout, write_request request,
                   std::function<void(result<std::uint64_t>)> on_done, bool background) {
  // No CAF timeout (see journal_actor.hpp): the journal itself refuses a write it takes
  // too late, and a dead journal actor is reported by CAF as an error.
  // One shared handler for both outcomes: `on_done` often owns the events written, and
  // copying it into each lambda copied them twice per write.
  auto done = std::make_shared<std::function<void(result<std::uint64_t>)>>(std::move(on_done));
  auto ok = [done](write_result& r) { (*done)(std::move(r)); };
  auto failed = [done](caf::error& e) { (*done)(core::unexpected<error>{unavailable(e)}); };
  const auto deadline = deadline_after(timeout);
  if (background) {
    self->request(journal_actor, caf::infinite, write_bg_atom::value, std::move(request), deadline)
        .then(std::move(ok), std::move(failed));
  } else {
    self->request(journal_actor, caf::infinite, write_atom::value, std::move(request), deadline)
        .then(std::move(ok), std::move(failed));
  }
}

void request_replay(caf::event_based_actor* self, const caf::actor& journal_actor,
                    timeout_ms timeout, const persistence_id& pid, std::uint64_t from_sequence_nr,
                    std::uint64_t to_sequence_nr, std::uint64_t max,
                    std::function<void(result<std::vector<event>>)> on_done) {
  self->request(journal_actor, timeout, replay_atom::value, pid, from_sequence_nr, to_sequence_nr,
                max)
      .then([on_done](replay_result& r) { on_done(std::move(r)); },
            [on_done](caf::error& e) { on_done(core::unexpected<error>{unavailable(e)}); });
}

void request_highest(caf::event_based_actor* self, const caf::actor& journal_actor,
                     timeout_ms timeout, const persistence_id& pid,
                     std::function<void(result<std::uint64_t>)> on_done) {
  self->request(journal_actor, timeout, highest_atom::value, pid)
      .then([on_done](write_result& r) { on_done(std::move(r)); },
            [on_done](caf::error& e) { on_done(core::unexpected<error>{unavailable(e)}); });
}

void request_delete(caf::event_based_actor* self, const caf::actor& journal_actor,
                    timeout_ms timeout, const persistence_id& pid, std::uint64_t to_sequence_nr,
                    std::function<void(result<done>)> on_done) {
  self->request(journal_actor, timeout, delete_atom::value, pid, to_sequence_nr)
      .then([on_done](done_result& r) { on_done(std::move(r)); },
            [on_done](caf::error& e) { on_done(core::unexpected<error>{unavailable(e)}); });
}

void request_purge(caf::event_based_actor* self, const caf::actor& journal_actor,
                   timeout_ms timeout, const persistence_id& pid, std::uint64_t if_highest,
                   std::function<void(result<done>)> on_done) {
  self->request(journal_actor, timeout, purge_atom::value, pid, if_highest)
      .then([on_done](done_result& r) { on_done(std::move(r)); },
            [on_done](caf::error& e) { on_done(core::unexpected<error>{unavailable(e)}); });
}

result<std::uint64_t> write_blocking(caf::actor_system& sys, const caf::actor& journal_actor,
                                     timeout_ms timeout, write_request request) {
  caf::scoped_actor self{sys};
  write_result out = fail(errc::unavailable, "no answer");
  self->request(journal_actor, timeout, write_atom::value, std::move(request),
                deadline_after(timeout))
      .receive([&](write_result& r) { out = std::move(r); },
               [&](caf::error& e) { out = core::unexpected<error>{unavailable(e)}; });
  return out;
}

result<std::vector<event>> replay_blocking(caf::actor_system& sys, const caf::actor& journal_actor,
                                           timeout_ms timeout, const persistence_id& pid,
                                           std::uint64_t from_sequence_nr,
                                           std::uint64_t to_sequence_nr, std::uint64_t max) {
  caf::scoped_actor self{sys};
  replay_result out = fail(errc::unavailable, "no answer");
  self->request(journal_actor, timeout, replay_atom::value, pid, from_sequence_nr, to_sequence_nr,
                max)
      .receive([&](replay_result& r) { out = std::move(r); },
               [&](caf::error& e) { out = core::unexpected<error>{unavailable(e)}; });
  return out;
}

result<done> purge_blocking(caf::actor_system& sys, const caf::actor& journal_actor,
                            timeout_ms timeout, const persistence_id& pid,
                            std::uint64_t if_highest) {
  caf::scoped_actor self{sys};
  done_result out = fail(errc::unavailable, "no answer");
  self->request(journal_actor, timeout, purge_atom::value, pid, if_highest)
      .receive([&](done_result& r) { out = std::move(r); },
               [&](caf::error& e) { out = core::unexpected<error>{unavailable(e)}; });
  return out;
}

}  // namespace wfe::persistence
