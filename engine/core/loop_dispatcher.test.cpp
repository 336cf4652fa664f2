// Actors hosted by a loop_dispatcher: on the loop's thread while attached, in turns of
// `throughput` messages, and back on CAF's scheduler (queued ones included) once detached.
#include "engine/core/loop_dispatcher.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "tests/support/eventually.hpp"
#include "tests/support/test_loop.hpp"

namespace wfe::core {
namespace {

using namespace std::chrono_literals;
using wfe::test::loop_gate;
using wfe::test::test_loop;

// What the actors saw: which actor handled which message on which thread.
struct journal_of_handling {
  std::mutex mu;
  std::vector<std::string> order;
  std::vector<std::thread::id> threads;
  void add(std::string what) {
    const std::lock_guard lock(mu);
    order.push_back(std::move(what));
    threads.push_back(std::this_thread::get_id());
  }
};

// Records each int it gets; a string is answered with the thread it runs on; a pair
// (int, actor) is forwarded as a string to that actor and its answer passed back.
class recorder : public caf::event_based_actor {
 public:
  recorder(caf::actor_config& cfg, std::string name, journal_of_handling* seen)
      : caf::event_based_actor(cfg), name_(std::move(name)), seen_(seen) {}

  caf::behavior make_behavior() override {
    return {
        [this](int n) { seen_->add(name_ + std::to_string(n)); },
        [this](const std::string&) {
          std::ostringstream out;
          out << std::this_thread::get_id();
          return out.str();
        },
        [this](const caf::actor& other) {
          auto rp = make_response_promise<std::string>();
          request(other, caf::infinite, std::string("where")).then([rp](std::string where) mutable {
            rp.deliver(std::move(where));
          });
          return rp;
        },
    };
  }

 private:
  std::string name_;
  journal_of_handling* seen_;
};

loop_dispatcher::post_fn poster(test_loop& loop) {
  return [&loop](std::function<void()> fn) { loop.post(std::move(fn)); };
}

std::string thread_name(std::thread::id id) {
  std::ostringstream out;
  out << id;
  return out.str();
}

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  journal_of_handling seen;
  fixture() {
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  std::string where(const caf::actor& a) {
    caf::scoped_actor self{*sys};
    std::string out;
    self->request(a, 5s, std::string("where"))
        .receive([&](std::string& w) { out = std::move(w); },
                 [](caf::error& e) { FAIL("no answer: " << caf::to_string(e)); });
    return out;
  }
  // Waits until `n` ints were handled.
  bool wait_handled(std::size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        const std::lock_guard lock(seen.mu);
        if (seen.order.size() >= n) return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
};

}  // namespace

TEST_CASE("a hosted actor runs on the attached loop and on the scheduler otherwise") {
  fixture f;
  auto d = std::make_shared<loop_dispatcher>(*f.sys, 64);
  test_loop loop;
  auto hosted = f.sys->spawn<loop_hosted<recorder>>(d, "h", &f.seen);
  CHECK(f.where(hosted) != thread_name(loop.id()));  // not attached yet

  d->attach(poster(loop));
  // The actor may still be finishing its last turn on a scheduler thread (our answer can
  // arrive before it returns), which then takes the next message too; once idle, every
  // message reaches it on the loop.
  CHECK(wfe::test::eventually([&] { return f.where(hosted) == thread_name(loop.id()); }, 5s, 10ms));
  CHECK(f.where(hosted) == thread_name(loop.id()));
  CHECK(f.where(hosted) == thread_name(loop.id()));

  // What it sends to an actor that is not hosted does not pull that one onto the loop.
  auto plain = f.sys->spawn<recorder>("p", &f.seen);
  for (int i = 0; i < 5; ++i) {
    caf::scoped_actor self{*f.sys};
    self->request(hosted, 5s, plain)
        .receive([&](std::string& w) { CHECK(w != thread_name(loop.id())); },
                 [](caf::error& e) { FAIL(caf::to_string(e)); });
  }

  d->detach();  // likewise: a turn still running on the loop may take one more message
  CHECK(wfe::test::eventually([&] { return f.where(hosted) != thread_name(loop.id()); }, 5s, 10ms));
  CHECK(f.where(hosted) != thread_name(loop.id()));
  caf::anon_send_exit(hosted, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(plain, caf::exit_reason::user_shutdown);
}

TEST_CASE("hosted actors take turns of at most `throughput` messages on the loop") {
  fixture f;
  auto d = std::make_shared<loop_dispatcher>(*f.sys, 10);
  test_loop loop;
  d->attach(poster(loop));
  auto a = f.sys->spawn<loop_hosted<recorder>>(d, "a", &f.seen);
  auto b = f.sys->spawn<loop_hosted<recorder>>(d, "b", &f.seen);
  f.where(a);  // both launched and idle
  f.where(b);

  loop_gate gate;
  gate.hold(loop);  // everything below is queued before the loop drains any of it
  for (int i = 0; i < 25; ++i) caf::anon_send(a, i);
  for (int i = 0; i < 25; ++i) caf::anon_send(b, i);
  gate.release.set_value();
  REQUIRE(f.wait_handled(50));

  std::vector<std::string> expected;
  auto turn = [&](const char* who, int from, int to) {
    for (int i = from; i < to; ++i) expected.push_back(who + std::to_string(i));
  };
  turn("a", 0, 10);
  turn("b", 0, 10);
  turn("a", 10, 20);
  turn("b", 10, 20);
  turn("a", 20, 25);
  turn("b", 20, 25);
  const std::lock_guard lock(f.seen.mu);
  CHECK(f.seen.order == expected);
  for (const auto& t : f.seen.threads) CHECK(t == loop.id());
  d->detach();  // before the loop stops: the actors keep `d`, so it outlives this scope
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
}

TEST_CASE("detach hands the actors queued for a held or stopped loop to the scheduler") {
  fixture f;
  auto loop = std::make_unique<test_loop>();
  const auto loop_id = loop->id();
  auto d = std::make_shared<loop_dispatcher>(*f.sys, 64);
  d->attach(poster(*loop));
  auto a = f.sys->spawn<loop_hosted<recorder>>(d, "a", &f.seen);
  CHECK(f.where(a) == thread_name(loop_id));

  loop_gate gate;
  gate.hold(*loop);
  for (int i = 0; i < 3; ++i) caf::anon_send(a, i);
  std::this_thread::sleep_for(50ms);
  {
    const std::lock_guard lock(f.seen.mu);
    CHECK(f.seen.order.empty());  // queued for the loop, which is held
  }
  loop->stop();  // its queued drain will never run
  d->detach();
  REQUIRE(f.wait_handled(3));
  {
    const std::lock_guard lock(f.seen.mu);
    CHECK(f.seen.order == std::vector<std::string>{"a0", "a1", "a2"});
    for (const auto& t : f.seen.threads) CHECK(t != loop_id);
  }
  gate.release.set_value();
  loop.reset();
  CHECK(f.where(a) != thread_name(loop_id));  // and so from now on
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

// The journal actor answers a batch of writes inside a deferred_wakeups scope: the
// answers queue their shards without waking the loop, and the scope's end posts one drain
// that runs them all (one wake-up of the io thread per batch instead of one per answer).
TEST_CASE("a deferred_wakeups scope posts one drain for everything it scheduled") {
  fixture f;
  auto d = std::make_shared<loop_dispatcher>(*f.sys, 64);
  test_loop loop;
  std::atomic<int> posts{0};
  d->attach([&](std::function<void()> fn) {
    ++posts;
    loop.post(std::move(fn));
  });
  std::vector<caf::actor> actors;
  for (const char* name : {"a", "b", "c"}) {
    actors.push_back(f.sys->spawn<loop_hosted<recorder>>(d, name, &f.seen));
    CHECK(f.where(actors.back()) == thread_name(loop.id()));  // launched, on the loop
  }
  // An actor may still be in the turn that answered `where` (it would take a message sent
  // now in that turn, without a schedule): a handler posted now runs after those turns.
  std::promise<void> turns_over;
  loop.post([&turns_over] { turns_over.set_value(); });
  turns_over.get_future().wait();
  posts = 0;
  {
    const loop_dispatcher::deferred_wakeups outer;
    caf::anon_send(actors[0], 1);
    {
      const loop_dispatcher::deferred_wakeups inner;  // nested: only the outermost posts
      caf::anon_send(actors[1], 1);
    }
    caf::anon_send(actors[2], 1);
    caf::anon_send(actors[0], 2);
    std::this_thread::sleep_for(50ms);
    CHECK(posts == 0);  // nothing woke the loop yet...
    const std::lock_guard lock(f.seen.mu);
    CHECK(f.seen.order.empty());  // ...so nothing ran
  }
  REQUIRE(f.wait_handled(4));
  CHECK(posts == 1);
  {
    const std::lock_guard lock(f.seen.mu);
    CHECK(f.seen.order == std::vector<std::string>{"a1", "a2", "b1", "c1"});  // a: one turn
    for (const auto& t : f.seen.threads) CHECK(t == loop.id());
  }
  // Without a scope every schedule may post again (here: the loop drained in between).
  caf::anon_send(actors[1], 2);
  REQUIRE(f.wait_handled(5));
  CHECK(posts == 2);
  d->detach();
  for (auto& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

// The node lets go of its dispatcher before the actor system has finished with the
// hosted actors (a down or exit message, a delayed tick can still schedule one then):
// the actors keep it alive, detached, so such a late schedule reaches the scheduler
// instead of a destroyed dispatcher (seen by AddressSanitizer in the region tests).
TEST_CASE("hosted actors keep their dispatcher alive after its owner let go") {
  fixture f;
  auto d = std::make_shared<loop_dispatcher>(*f.sys, 64);
  std::weak_ptr<loop_dispatcher> alive = d;
  auto loop = std::make_unique<test_loop>();
  const auto loop_id = loop->id();
  d->attach(poster(*loop));
  auto a = f.sys->spawn<loop_hosted<recorder>>(d, "a", &f.seen);
  CHECK(f.where(a) == thread_name(loop_id));
  loop.reset();  // the node: its HTTP API stopped...
  d->detach();   // ...the dispatcher detached...
  d.reset();     // ...and released
  CHECK_FALSE(alive.expired());
  CHECK(f.where(a) != thread_name(loop_id));  // still scheduled, by CAF now
  {
    caf::scoped_actor self{*f.sys};
    self->monitor(a);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  }
  a = nullptr;  // the last handle: the actor goes, and its dispatcher with it
  CHECK(wfe::test::eventually([&] { return alive.expired(); }, 5s, 10ms));
}

}  // namespace wfe::core
