#pragma once
// Runs chosen event-based CAF actors on a foreign event loop — the HTTP server's io
// threads — instead of CAF's scheduler threads (Pekko's `use-dispatcher`, with the io
// threads as the dispatcher).
//
// Why: a workflow start crosses io thread -> shard actor -> journal thread -> shard ->
// io thread. With the shards on CAF's scheduler each arrow is a wake-up of another
// thread; with the shards on the io thread, the request reaches its shard and the
// shard's answer reaches the connection without one (bench/README.md, "Thirty-second
// pass"). The actors stay actors: their state is touched only by their own message
// handlers, one message at a time; only the thread that runs those handlers changes.
//
// How: an actor that wants this (see `loop_hosted`) hands every schedule of itself to
// `schedule()`. While a loop is attached the actor is queued here and one drain handler
// is posted to the loop; the drain resumes every queued actor for at most `throughput`
// messages each (more are queued again behind the others), so the loop's own handlers
// (HTTP reads and writes) interleave. Before the loop stops, `detach()` hands every
// queued actor to CAF's scheduler, which runs them from then on (the node's shutdown
// still needs the shards after HTTP stopped).
//
// Lifetime: every hosted actor holds a shared_ptr to its dispatcher, which therefore
// lives until the last of them is gone — however late CAF still schedules one (a
// down or exit message while the actor system shuts down, a delayed tick) after its
// owner (the node) let go; detached by then, it hands such an actor to the scheduler.
//
// Handlers of a hosted actor must never block: they hold up the HTTP requests of the
// io thread. The shards qualify (journal and snapshot I/O are other actors'); an
// actor doing blocking I/O must stay on the scheduler or be detached.

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/execution_unit.hpp>
#include <caf/fwd.hpp>
#include <caf/mailbox_element.hpp>

namespace wfe::core {

class loop_dispatcher {
 public:
  // Runs `fn` on the loop later (never inline). Must be thread-safe.
  using post_fn = std::function<void(std::function<void()> fn)>;

  loop_dispatcher(caf::actor_system& sys, std::size_t throughput);
  ~loop_dispatcher();
  loop_dispatcher(const loop_dispatcher&) = delete;
  loop_dispatcher& operator=(const loop_dispatcher&) = delete;

  // From now on hosted actors run on the loop `post` feeds. Detach when the loop stops
  // for good (a drain posted to it then never runs): until then, an actor scheduled
  // waits for it — its owner's job, as the dispatcher lives on with its actors.
  void attach(post_fn post);
  // Back to CAF's scheduler: every actor queued for the loop and every later schedule.
  // Call it while the loop still runs or after it stopped for good (its posted drain
  // handlers then never run); a drain running meanwhile finishes its actors.
  void detach();

  // The execution unit a hosted actor passes to CAF when it is (re)scheduled.
  [[nodiscard]] caf::execution_unit* home() { return &home_; }

  // While one lives on a thread, the loop wake-ups that thread causes (hosted actors it
  // sends to, which the dispatcher would post a drain for) are held, and posted when the
  // outermost scope ends: one post per dispatcher for the whole scope. For a thread that
  // answers many hosted actors in a row — the journal actor answering a batch of writes —
  // this is one wake-up of the loop instead of one per answer (the loop, quick to wake,
  // otherwise drains each answer alone, and each post then costs the sender a futex or
  // epoll_ctl; bench/README.md "Thirty-eighth pass"). Only for code that does not wait
  // on the actors it sends to within the scope.
  class deferred_wakeups {
   public:
    deferred_wakeups();
    ~deferred_wakeups();
    deferred_wakeups(const deferred_wakeups&) = delete;
    deferred_wakeups& operator=(const deferred_wakeups&) = delete;

   private:
    friend class loop_dispatcher;
    struct held {
      loop_dispatcher* dispatcher;
      std::shared_ptr<const post_fn> post;
    };
    bool outermost_;
    std::vector<held> held_;
  };

 private:
  // Schedules on the dispatcher (a hosted actor's own enqueue and launch).
  class home_unit final : public caf::execution_unit {
   public:
    home_unit(caf::actor_system& sys, loop_dispatcher& d) : caf::execution_unit(&sys), d_(d) {}
    void exec_later(caf::resumable* r) override { d_.schedule(r); }

   private:
    loop_dispatcher& d_;
  };
  // The context a hosted actor runs in: actors it sends to that are not hosted (their
  // enqueue passes this unit on) go to CAF's scheduler, not onto the loop.
  class guest_unit final : public caf::execution_unit {
   public:
    explicit guest_unit(caf::actor_system& sys) : caf::execution_unit(&sys) {}
    void exec_later(caf::resumable* r) override;
  };

  // Resumes a hosted actor later (takes over the reference CAF added for scheduling it).
  void schedule(caf::resumable* r);
  // Posts one drain through `post` (a drain runs every actor queued by then).
  void post_drain(const post_fn& post);
  void drain();
  void run(caf::resumable* r);

  caf::actor_system& sys_;
  std::size_t throughput_;
  home_unit home_;
  guest_unit guest_;
  std::mutex mu_;
  std::shared_ptr<const post_fn> post_;  // guarded by mu_; null = CAF's scheduler
  std::vector<caf::resumable*> queue_;  // guarded by mu_
  bool drain_posted_ = false;           // guarded by mu_
};

// An actor type hosted by a loop_dispatcher when given one (else scheduled by CAF as
// usual). `Base` is an event-based actor class. The actor keeps its dispatcher alive.
template <class Base>
class loop_hosted : public Base {
 public:
  template <class... Ts>
  explicit loop_hosted(caf::actor_config& cfg, std::shared_ptr<loop_dispatcher> d, Ts&&... xs)
      : Base(cfg, std::forward<Ts>(xs)...),
        dispatcher_(std::move(d)),
        home_(dispatcher_ ? dispatcher_->home() : nullptr) {}

  using Base::enqueue;
  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) override {
    Base::enqueue(std::move(ptr), home_ ? home_ : eu);
  }
  void launch(caf::execution_unit* eu, bool lazy, bool hide) override {
    Base::launch(home_ ? home_ : eu, lazy, hide);
  }

 private:
  std::shared_ptr<loop_dispatcher> dispatcher_;
  caf::execution_unit* home_;
};

}  // namespace wfe::core
