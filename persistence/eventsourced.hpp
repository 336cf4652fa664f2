#pragma once
// Event-sourced entities on CAF around a pure model.
//
// The model is pure (STYLE.md): decide(state, command) -> events or a rejection,
// apply(state, event) -> state, plus codecs. eventsourced_entity<Model> does the rest,
// run inside a HOST actor (eventsourced_host: its requests, timeouts and hooks use the
// host's context). eventsourced_actor<Model> is an actor hosting one entity; a workflow
// shard hosts many (engine/workflow/runtime/workflow_region.cpp), so an entity costs no
// actor of its own:
//
// - Recovery: take a recovery permit (recovery_permits.hpp), load the latest intact
//   snapshot (a damaged or undecodable one falls back to an older one, then to a full
//   replay, with a warning and journal_snapshot_load_failures_total), ask the journal
//   for the highest sequence nr, replay the rest in batches of replay_batch_size,
//   release the permit, observe journal_recovery_seconds. Any gap, a decode failure
//   or a journal error fails recovery: stashed commands get the error, the error and
//   the actor's exit reason name the persistence id, and the entity stops. It never
//   runs with quietly missing events.
// - Commands arriving during recovery, or while a persist is in flight, are stashed
//   (at most max_stash; beyond that they are answered errc::unavailable) and handled
//   in arrival order afterwards.
// - persist -> ack -> apply -> reply: events are applied to the state only after the
//   journal acknowledged them as durable; the requester gets its reply after that. A
//   failed persist (conflict, I/O, timeout: the write may be in doubt) answers the
//   requester and the stash with the error and stops the entity; it recovers from
//   the journal when next started (the host starts a fresh one).
// - A snapshot every snapshot_every events (asynchronous; commands keep flowing).
//   With delete_events_on_snapshot the journal deletes events up to the OLDEST kept
//   snapshot, so falling back one snapshot never needs deleted events.
//
// Model requirements (a type with const member functions; static works too):
//   using state_type, command_type, event_type, reply_type;
//   state_type initial_state(const persistence_id&) const;
//   core::expected<std::vector<event_type>, reply_type>
//       decide(const state_type&, const command_type&) const;  // unexpected = rejection
//   state_type apply(state_type, const event_type&) const;
//   reply_type reply(const state_type& after, const command_type&) const;
//   encoded encode_event(const event_type&) const;
//   result<event_type> decode_event(const event&) const;      // error = corruption
//   encoded encode_state(const state_type&) const;
//   result<state_type> decode_state(const snapshot&) const;   // error = skip snapshot
// Optional model hooks, detected with `requires` (a model without them is unchanged):
// `self` below is the host actor.
//   void on_persisted(caf::event_based_actor* self, const state_type& after,
//                     const std::vector<event_type>& events, std::uint64_t seq) const;
//     called once `events` are durable and applied (before the requester's reply);
//     `seq` is the sequence nr of the last one. For side effects: send messages from
//     `self` (tasks, timers, indexes). Must not block.
//   void on_recovered(caf::event_based_actor* self, const state_type&, std::uint64_t seq)
//     const;  // after a successful recovery, before stashed commands run
//   using notice_type = ...;
//   void on_notice(caf::event_based_actor* self, const state_type&, const notice_type&)
//     const;  // a message that reads the state (never changes it); dropped while
//             // recovering (on_recovered covers it then)
//   bool keep_alive(const state_type&) const;  // true: refuse passivation (busy)
//   void apply_in_place(state_type&, const event_type&) const;
//     the same as `s = apply(std::move(s), e)` without moving the state per event
//     (used instead of apply when present).
//   bool optimistic_first(const command_type&) const;
//     true for a command that can only succeed on an id that never persisted anything
//     (a workflow start). With this hook an entity does not recover when spawned: its
//     first command, if optimistic_first and decided into events on the initial state,
//     is persisted at once as sequence nr 1.. — the journal refuses that write with
//     sequence_conflict if the id has events, and then the entity recovers normally and
//     handles the command again (e.g. "already exists"). A new id thus costs one journal
//     round trip instead of permit + snapshot load + highest + write. Any other first
//     command (or a start decided into a rejection) recovers first, as without the hook.
// Passivation: try_passivate() is true when the entity is idle (recovered or never
// asked anything, no persist in flight, nothing stashed, not keep_alive); the host then
// drops it. eventsourced_actor answers `passivate_atom` with that and stops (normal
// exit) when true. A failure (recovery, persist) answers the stash, marks the entity
// stopped and calls the host's on_stopped (the actor quits with a reason naming the id).
// Messages: clients send command_type and receive result<reply_type>
// (eventsourced_reply<Model>). Both must be CAF message types: declare
// CAF_ALLOW_UNSAFE_MESSAGE_TYPE for them (local only) or give them inspect().
//
// This header pulls in CAF: include it from entity .cpp files only.

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include "persistence/eventsourced_call.hpp"
#include "persistence/eventsourced_config.hpp"
#include "persistence/journal_actor.hpp"
#include "persistence/journal_metrics.hpp"
#include "persistence/recovery_permits.hpp"
#include "persistence/snapshot_store_actor.hpp"

namespace wfe::persistence {

struct encoded {
  std::string manifest;
  std::string payload;
};

struct eventsourced_deps {
  caf::actor journal;                        // required: the journal actor
  caf::actor snapshots;                      // optional: no snapshots when invalid
  caf::actor recovery_permits;               // optional: unbounded when invalid
  std::shared_ptr<journal_metrics> metrics;  // optional
  // Optional: the journal behind the actor; writes are prepared (journal::prepare) on
  // the entity's thread, which takes that work off the journal actor's.
  std::shared_ptr<const persistence::journal> store = nullptr;
};

template <class Model>
using eventsourced_reply = result<typename Model::reply_type>;

// Asks an entity to stop if idle; answered with bool (true: it stops now).
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;

namespace detail {

// Non-template pieces (eventsourced.cpp).
[[nodiscard]] std::string new_writer_id();
[[nodiscard]] std::int64_t now_ms();
[[nodiscard]] caf::error recovery_failure(const persistence_id& pid, const error& e);
void log_recovered(const persistence_id& pid, std::uint64_t seq, std::uint64_t snapshot_seq,
                   double seconds);
void log_recovery_failed(const persistence_id& pid, const error& e);
void log_snapshot_skipped(const persistence_id& pid, std::uint64_t seq, const std::string& why);
void log_snapshot_failed(const persistence_id& pid, std::uint64_t seq, const error& e);
void log_persist_failed(const persistence_id& pid, const error& e);
// The fingerprint of an event a snapshot is taken after (CRC32C of its payload).
[[nodiscard]] std::uint32_t event_fingerprint(const std::string& payload);
void log_foreign_snapshot(const persistence_id& pid, std::uint64_t seq);

}  // namespace detail

// What an entity needs from whoever runs it, shared by every entity of that host: the
// actor whose context the entity runs in (its requests, timeouts and hooks use it), the
// dependencies and settings, the writer id stamped on the events (one per host
// incarnation: Pekko's writerUuid, per shard here when a shard hosts many entities), and
// what to do when an entity stops by itself after a failure (recovery or persist failed:
// the host forgets it; its next command starts a fresh incarnation that recovers).
template <class Model>
class eventsourced_entity;

template <class Model>
struct eventsourced_host {
  caf::event_based_actor* self = nullptr;
  eventsourced_deps deps;
  eventsourced_config cfg;
  std::string writer_id = detail::new_writer_id();
  std::function<void(eventsourced_entity<Model>&, const error&)> on_stopped;
};

// Where a command's reply goes: a response promise (a request), a callback
// (eventsourced_call), or nowhere (a message sent without either).
template <class Reply>
struct eventsourced_responder {
  caf::response_promise promise;
  std::function<void(result<Reply>)> callback;

  [[nodiscard]] bool waited_on() const { return callback != nullptr || promise.pending(); }

  void answer(result<Reply> r) {
    if (callback) {
      callback(std::move(r));
    } else if (promise.pending()) {
      promise.deliver(std::move(r));
    }
  }
};

// One event-sourced entity, run inside a host actor (a shard runs many; the
// eventsourced_actor below runs one). Not an actor itself: the host hands it its
// messages (command, notice, try_passivate) and it uses the host's context for its
// requests. Held by shared_ptr: every pending asynchronous answer keeps it alive, so a
// host may forget it (passivation, failure) at any time.
template <class Model>
class eventsourced_entity : public std::enable_shared_from_this<eventsourced_entity<Model>> {
 public:
  using state_type = typename Model::state_type;
  using command_type = typename Model::command_type;
  using event_type = typename Model::event_type;
  using reply_type = typename Model::reply_type;
  using reply_result = result<reply_type>;
  using responder = eventsourced_responder<reply_type>;
  using host_type = eventsourced_host<Model>;

  eventsourced_entity(const host_type* host, Model model, persistence_id pid)
      : host_(host),
        model_(std::move(model)),
        pid_(std::move(pid)),
        state_(model_.initial_state(pid_)) {}

  eventsourced_entity(const eventsourced_entity&) = delete;
  eventsourced_entity& operator=(const eventsourced_entity&) = delete;

  // Once, right after construction: a model without optimistic_first recovers now; one
  // with it waits for its first command.
  void start() {
    if constexpr (has_optimistic_first) {
      lazy_ = true;
    } else {
      start_recovery();
    }
  }

  [[nodiscard]] const persistence_id& pid() const { return pid_; }
  [[nodiscard]] bool stopped() const { return stopped_; }
  // The state as of the last persisted (or recovered) event.
  [[nodiscard]] const state_type& state() const { return state_; }

  void command(command_type cmd, responder r) {
    if (stopped_) {
      r.answer(reply_result(fail(errc::unavailable, pid_.describe() + " has stopped")));
      return;
    }
    auto p = std::make_shared<pending>(pending{std::move(r), std::move(cmd)});
    if constexpr (has_optimistic_first) {
      if (lazy_) {
        lazy_ = false;
        if (try_optimistic(p)) return;
        start_recovery();
      }
    }
    if (!recovering_ && !persisting_ && stash_.empty()) {
      handle(std::move(p));
      return;
    }
    if (stash_.size() >= host_->cfg.max_stash) {
      p->reply.answer(reply_result(
          fail(errc::unavailable, "command stash of " + pid_.describe() + " is full (" +
                                      std::to_string(host_->cfg.max_stash) + " commands)")));
      return;
    }
    stash_.push_back(std::move(p));
  }

  // A message that reads the state (Model::notice_type); dropped while recovering or
  // before the first command (on_recovered covers it then).
  template <class Notice>
  void notice(const Notice& n) {
    if (!stopped_ && !recovering_ && !lazy_) model_.on_notice(host_->self, state_, n);
  }

  // True when idle (recovered or never asked anything, nothing in flight or stashed, not
  // keep_alive): the entity counts as stopped and the host forgets it. False: busy.
  bool try_passivate() {
    if (stopped_) return true;
    if (!lazy_) {
      if (recovering_ || persisting_ || !stash_.empty()) return false;
      if constexpr (requires(const Model& m, const state_type& st) {
                      { m.keep_alive(st) } -> std::convertible_to<bool>;
                    }) {
        if (model_.keep_alive(state_)) return false;
      }
    }
    stopped_ = true;
    return true;
  }

 private:
  struct pending {
    responder reply;
    command_type command;
  };
  using clock = std::chrono::steady_clock;

  static constexpr bool has_optimistic_first = requires(const Model& m, const command_type& c) {
    { m.optimistic_first(c) } -> std::convertible_to<bool>;
  };

  caf::event_based_actor* self() const { return host_->self; }
  const eventsourced_deps& deps() const { return host_->deps; }
  const eventsourced_config& cfg() const { return host_->cfg; }

  void apply_event(const event_type& e) {
    if constexpr (requires(const Model& m, state_type& st) { m.apply_in_place(st, e); }) {
      model_.apply_in_place(state_, e);
    } else {
      state_ = model_.apply(std::move(state_), e);
    }
  }

  void handle(std::shared_ptr<pending> p) {
    auto decided = model_.decide(state_, p->command);
    if (!decided) {
      p->reply.answer(reply_result(std::move(decided).error()));
      return;
    }
    if (decided->empty()) {
      p->reply.answer(reply_result(model_.reply(state_, p->command)));
      return;
    }
    persist(std::move(p), std::move(*decided));
  }

  // The first command of a lazily started entity: persisted without recovery when it
  // can only succeed on a new id. False: recover first.
  bool try_optimistic(const std::shared_ptr<pending>& p) {
    if constexpr (has_optimistic_first) {
      if (!model_.optimistic_first(p->command)) return false;
      auto decided = model_.decide(state_, p->command);
      if (!decided || decided->empty()) return false;
      recovering_ = false;
      optimistic_ = true;
      persist(p, std::move(*decided));
      return true;
    } else {
      return false;
    }
  }

  // The optimistic write found events of this id: recover, then handle `p` again.
  void fall_back_to_recovery(const std::shared_ptr<pending>& p) {
    optimistic_ = false;
    persisting_ = false;
    recovering_ = true;
    state_ = model_.initial_state(pid_);
    seq_ = 0;
    stash_.insert(stash_.begin(), p);
    start_recovery();
  }

  void persist(std::shared_ptr<pending> p, std::vector<event_type> events) {
    write_request request{pid_, {}};
    request.events.reserve(events.size());
    const auto ts = detail::now_ms();
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto enc = model_.encode_event(events[i]);
      request.events.push_back(event{seq_ + 1 + i, std::move(enc.manifest),
                                     std::move(enc.payload), host_->writer_id, ts});
    }
    // The fingerprint of the last event, for the next snapshot (persist never gets none);
    // not computed when this entity takes no snapshots.
    std::optional<std::uint32_t> last_crc;
    if (deps().snapshots && cfg().snapshot_every > 0) {
      last_crc = detail::event_fingerprint(request.events.back().payload);
    }
    if (deps().store) deps().store->prepare(request);
    persisting_ = true;
    // Nobody waits on the reply (a task update, a timer): the journal may let the write
    // linger for a client's write to share its sync (journal_actor.hpp).
    const bool background = !p->reply.waited_on();
    request_write(
        self(), deps().journal, cfg().request_timeout, std::move(request),
        [me = this->shared_from_this(), p, evs = std::move(events), last_crc](
            result<std::uint64_t> r) mutable { me->on_persisted(p, evs, std::move(r), last_crc); },
        background);
  }

  void on_persisted(const std::shared_ptr<pending>& p, std::vector<event_type>& events,
                    result<std::uint64_t> r, std::optional<std::uint32_t> last_crc) {
    if (stopped_) return;
    if (!r && optimistic_ && r.error().code == errc::sequence_conflict) {
      fall_back_to_recovery(p);
      return;
    }
    optimistic_ = false;
    if (!r) {
      detail::log_persist_failed(pid_, r.error());
      p->reply.answer(reply_result(core::unexpected<error>{r.error()}));
      stop_with(r.error());
      return;
    }
    for (auto& e : events) apply_event(e);
    seq_ += events.size();
    last_event_crc_ = last_crc;
    if constexpr (requires(const Model& m, const std::vector<event_type>& evs) {
                    m.on_persisted(this->self(), state_, evs, seq_);
                  }) {
      model_.on_persisted(self(), state_, events, seq_);
    }
    p->reply.answer(reply_result(model_.reply(state_, p->command)));
    persisting_ = false;
    maybe_snapshot();
    drain_stash();
  }

  void drain_stash() {
    while (!stopped_ && !recovering_ && !persisting_ && !stash_.empty()) {
      auto p = std::move(stash_.front());
      stash_.erase(stash_.begin());  // bounded by max_stash, and usually a few entries
      handle(std::move(p));
    }
  }

  // Answers every stashed command with `e`, stops and tells the host.
  void stop_with(const error& e) {
    stopped_ = true;
    auto stash = std::move(stash_);
    stash_.clear();
    for (auto& p : stash) p->reply.answer(reply_result(core::unexpected<error>{e}));
    if (host_->on_stopped) host_->on_stopped(*this, e);
  }

  // -- snapshots -------------------------------------------------------------

  void maybe_snapshot() {
    if (!deps().snapshots || cfg().snapshot_every == 0) return;
    if (seq_ - last_snapshot_seq_ < cfg().snapshot_every) return;
    // Saves queue in the snapshot store actor in order; a store far behind skips
    // snapshots (the next one is due snapshot_every events later) instead of queueing.
    if (snapshots_in_flight_ >= k_max_snapshots_in_flight) return;
    auto enc = model_.encode_state(state_);
    snapshot s{seq_, detail::now_ms(), std::move(enc.manifest), std::move(enc.payload),
               last_event_crc_};
    ++snapshots_in_flight_;
    last_snapshot_seq_ = seq_;
    const auto seq = seq_;
    request_snapshot_save(self(), deps().snapshots, cfg().request_timeout, pid_, std::move(s),
                          [me = this->shared_from_this(), seq](result<std::uint64_t> oldest_kept) {
                            --me->snapshots_in_flight_;
                            if (!oldest_kept) {
                              detail::log_snapshot_failed(me->pid_, seq, oldest_kept.error());
                              return;
                            }
                            if (me->cfg().delete_events_on_snapshot) {
                              me->delete_events_to(*oldest_kept);
                            }
                          });
  }

  void delete_events_to(std::uint64_t seq) {
    request_delete(self(), deps().journal, cfg().request_timeout, pid_, seq,
                   [pid = pid_, seq](result<persistence::done> r) {
                     if (!r) detail::log_snapshot_failed(pid, seq, r.error());
                   });
  }

  // -- recovery --------------------------------------------------------------

  void start_recovery() {
    acquire_recovery_permit(self(), deps().recovery_permits, [me = this->shared_from_this()] {
      if (me->stopped_) {  // forgotten while waiting: hand the permit back
        release_recovery_permit(me->self(), me->deps().recovery_permits);
        return;
      }
      me->recovery_started_ = clock::now();
      me->read_highest();
    });
  }

  // The journal's highest first, then the newest snapshot at or below it: a snapshot
  // above it is of a journal that was replaced by an older one (restored from a backup
  // without its snapshots), and the store deletes those (load_for_recovery).
  void read_highest() {
    request_highest(self(), deps().journal, cfg().request_timeout, pid_,
                    [me = this->shared_from_this()](result<std::uint64_t> r) {
                      if (!r) return me->fail_recovery(r.error());
                      me->highest_ = *r;
                      if (!me->deps().snapshots || *r == 0) return me->replay_next();
                      me->load_snapshot(*r, true);
                    });
  }

  // `for_recovery`: the first load, which also drops the snapshots above `max`; later
  // ones (after a snapshot this model cannot read) only look further back.
  void load_snapshot(std::uint64_t max, bool for_recovery = false) {
    if (max == 0) {
      replay_next();
      return;
    }
    auto on_done = [me = this->shared_from_this()](result<std::optional<snapshot>> r) {
      me->on_snapshot(std::move(r));
    };
    if (for_recovery) {
      request_snapshot_for_recovery(self(), deps().snapshots, cfg().request_timeout, pid_, max,
                                    on_done);
    } else {
      request_snapshot_load(self(), deps().snapshots, cfg().request_timeout, pid_, max, on_done);
    }
  }

  void on_snapshot(result<std::optional<snapshot>> r) {
    if (!r) {  // the store itself failed: replay everything rather than fail
      detail::log_snapshot_skipped(pid_, 0, r.error().describe());
      replay_next();
      return;
    }
    if (!*r) {
      replay_next();
      return;
    }
    const auto& snap = **r;
    auto decoded = model_.decode_state(snap);
    if (!decoded) {  // stored intact but this model cannot read it: try an older one
      if (deps().metrics) deps().metrics->snapshot_load_failure();
      detail::log_snapshot_skipped(pid_, snap.sequence_nr, decoded.error().describe());
      load_snapshot(snap.sequence_nr - 1);
      return;
    }
    state_ = std::move(*decoded);
    seq_ = snap.sequence_nr;
    snapshot_seq_ = last_snapshot_seq_ = snap.sequence_nr;
    verify_crc_ = snap.event_crc;
    last_event_crc_ = snap.event_crc;
    replay_next();
  }

  // The snapshot's event is not the journal's: the snapshot belongs to another journal of
  // this id (see proto/snapshot.proto). It and the older ones go; recovery starts over
  // from the first event.
  void drop_foreign_snapshot() {
    detail::log_foreign_snapshot(pid_, snapshot_seq_);
    if (deps().metrics) deps().metrics->snapshot_load_failure();
    request_snapshot_delete(self(), deps().snapshots, cfg().request_timeout, pid_, snapshot_seq_,
                            [](result<persistence::done>) {});
    state_ = model_.initial_state(pid_);
    seq_ = snapshot_seq_ = last_snapshot_seq_ = 0;
    last_event_crc_.reset();
    replay_next();
  }

  void replay_next() {
    // After a snapshot with a fingerprint, the replay starts at the snapshot's own event,
    // to check it (on_replayed).
    const bool verify = verify_crc_.has_value();
    if (!verify && seq_ >= highest_) {
      finish_recovery();
      return;
    }
    request_replay(self(), deps().journal, cfg().request_timeout, pid_, verify ? seq_ : seq_ + 1,
                   highest_,
                   cfg().replay_batch_size,
                   [me = this->shared_from_this()](result<std::vector<event>> r) {
                     me->on_replayed(std::move(r));
                   });
  }

  void on_replayed(result<std::vector<event>> r) {
    if (!r) return fail_recovery(r.error());
    std::size_t first = 0;
    if (verify_crc_) {
      const auto want = *verify_crc_;
      verify_crc_.reset();
      // The snapshot's event may be deleted (delete-events-on-snapshot): then nothing to
      // check, and the replay goes on after it as without a fingerprint.
      if (!r->empty() && r->front().sequence_nr == seq_) {
        if (detail::event_fingerprint(r->front().payload) != want) return drop_foreign_snapshot();
        first = 1;
      }
      if (r->size() == first) {
        replay_next();
        return;
      }
    }
    if (r->empty()) {
      return fail_recovery(error{errc::corruption, "events " + std::to_string(seq_ + 1) + ".." +
                                                       std::to_string(highest_) +
                                                       " are missing (deleted?)"});
    }
    for (std::size_t i = first; i < r->size(); ++i) {
      const auto& e = (*r)[i];
      if (e.sequence_nr != seq_ + 1) {
        return fail_recovery(
            error{errc::corruption, "expected sequence nr " + std::to_string(seq_ + 1) +
                                        ", the journal replayed " + std::to_string(e.sequence_nr)});
      }
      auto decoded = model_.decode_event(e);
      if (!decoded) return fail_recovery(decoded.error());
      apply_event(*decoded);
      seq_ = e.sequence_nr;
    }
    if (r->size() > first) last_event_crc_ = detail::event_fingerprint(r->back().payload);
    replay_next();
  }

  void finish_recovery() {
    release_recovery_permit(self(), deps().recovery_permits);
    const double took = std::chrono::duration<double>(clock::now() - recovery_started_).count();
    if (deps().metrics) deps().metrics->recovery_seconds(took);
    detail::log_recovered(pid_, seq_, snapshot_seq_, took);
    recovering_ = false;
    if constexpr (requires(const Model& m) { m.on_recovered(this->self(), state_, seq_); }) {
      model_.on_recovered(self(), state_, seq_);
    }
    drain_stash();
  }

  void fail_recovery(const error& e) {
    release_recovery_permit(self(), deps().recovery_permits);
    detail::log_recovery_failed(pid_, e);
    stop_with(error{e.code, "recovery of " + pid_.describe() + " failed: " + e.message});
  }

  const host_type* host_;
  Model model_;
  persistence_id pid_;
  state_type state_;
  std::uint64_t seq_ = 0;                // last event applied to state_
  std::uint64_t highest_ = 0;            // the journal's highest at recovery
  std::uint64_t snapshot_seq_ = 0;       // snapshot recovery started from (0: none)
  std::uint64_t last_snapshot_seq_ = 0;  // newest snapshot saved or loaded
  // Fingerprint of the event at seq_ (unknown after a snapshot without one): saved with
  // the next snapshot. verify_crc_: the loaded snapshot's, checked by the next replay.
  std::optional<std::uint32_t> last_event_crc_;
  std::optional<std::uint32_t> verify_crc_;
  bool recovering_ = true;
  bool persisting_ = false;
  bool lazy_ = false;        // optimistic_first: not recovered, no command yet
  bool optimistic_ = false;  // the optimistic first write is in flight
  bool stopped_ = false;     // passivated or failed: the host forgot it
  static constexpr std::uint8_t k_max_snapshots_in_flight = 4;
  std::uint8_t snapshots_in_flight_ = 0;
  // A vector, not a deque: an empty std::deque allocates ~600 bytes, on every entity.
  std::vector<std::shared_ptr<pending>> stash_;
  clock::time_point recovery_started_{};
};

// One entity as a CAF actor of its own (the definition registry, tests, tools; workflows
// are hosted many to a shard actor instead: engine/workflow/runtime/workflow_region.cpp).
// A failure stops the actor with an exit reason naming the id.
template <class Model>
class eventsourced_actor : public caf::event_based_actor {
 public:
  using command_type = typename Model::command_type;
  using reply_type = typename Model::reply_type;
  using entity_type = eventsourced_entity<Model>;

  eventsourced_actor(caf::actor_config& cfg, Model model, persistence_id pid,
                     eventsourced_deps deps, eventsourced_config es_cfg)
      : caf::event_based_actor(cfg) {
    host_.self = this;
    host_.deps = std::move(deps);
    host_.cfg = es_cfg;
    host_.on_stopped = [this](entity_type& e, const error& err) {
      quit(detail::recovery_failure(e.pid(), err));
    };
    entity_ = std::make_shared<entity_type>(&host_, std::move(model), std::move(pid));
  }

  caf::behavior make_behavior() override {
    entity_->start();
    auto on_cmd = [this](command_type& cmd) {
      entity_->command(std::move(cmd), {make_response_promise(), {}});
    };
    auto on_call = [this](eventsourced_call<command_type, reply_type>& c) {
      entity_->command(std::move(c.cmd), {{}, std::move(c.reply)});
    };
    auto on_passivate = [this](passivate_atom) {
      if (!entity_->try_passivate()) return false;
      quit(caf::exit_reason::normal);
      return true;
    };
    if constexpr (requires { typename Model::notice_type; }) {
      return {on_cmd, on_call, on_passivate,
              [this](const typename Model::notice_type& n) { entity_->notice(n); }};
    } else {
      return {on_cmd, on_call, on_passivate};
    }
  }

  void on_exit() override { entity_.reset(); }

 private:
  eventsourced_host<Model> host_;
  std::shared_ptr<entity_type> entity_;
};

// Spawns an entity; it starts recovering at once. Entities are started through the
// shard/region seam (REPLICATION.md), which calls this.
template <class Model>
caf::actor spawn_eventsourced(caf::actor_system& sys, Model model, persistence_id pid,
                              eventsourced_deps deps, eventsourced_config cfg) {
  return sys.spawn<eventsourced_actor<Model>>(std::move(model), std::move(pid), std::move(deps),
                                              cfg);
}

// Sends `cmd` and calls `on_reply` in `self`'s context exactly once.
template <class Model>
void ask_entity(caf::event_based_actor* self, const caf::actor& entity, timeout_ms timeout,
                typename Model::command_type cmd,
                std::function<void(eventsourced_reply<Model>)> on_reply) {
  self->request(entity, timeout, std::move(cmd))
      .then([on_reply](eventsourced_reply<Model>& r) { on_reply(std::move(r)); },
            [on_reply](caf::error& e) {
              on_reply(fail(errc::unavailable, "entity did not answer: " + caf::to_string(e)));
            });
}

// Blocking variant for tests and tools (never inside an actor).
template <class Model>
eventsourced_reply<Model> ask_entity_blocking(caf::actor_system& sys, const caf::actor& entity,
                                              timeout_ms timeout,
                                              typename Model::command_type cmd) {
  caf::scoped_actor self{sys};
  eventsourced_reply<Model> out = fail(errc::unavailable, "no answer");
  self->request(entity, timeout, std::move(cmd))
      .receive([&](eventsourced_reply<Model>& r) { out = std::move(r); },
               [&](caf::error& e) {
                 out = fail(errc::unavailable, "entity did not answer: " + caf::to_string(e));
               });
  return out;
}

}  // namespace wfe::persistence
