#pragma once
// Test fixture of the task tests: a real actor system, a task dispatcher whose sink is
// a scoped actor the test reads task_updates from, and helpers to submit requests.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <prometheus/registry.h>
#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "api/http/http_server.hpp"
#include "engine/workflow/tasks/task_dispatcher.hpp"
#include "engine/workflow/tasks/task_messages.hpp"
#include "tests/support/eventually.hpp"

namespace wfe::workflow::test {

using namespace std::chrono_literals;
using kind = task_update::kind;

// Generous: reached only when something is broken.
inline constexpr auto k_wait = std::chrono::seconds(10);

// Waits (bounded by k_wait) until `pred` holds; no timing assertion, only a liveness bound.
inline bool eventually(const std::function<bool()>& pred) {
  return wfe::test::eventually(pred, k_wait, std::chrono::milliseconds(5));
}

// The value of metric `name` (a gauge or a counter; the series whose first label has
// `label_value`, when given) in `registry`; -1 when there is none.
inline double metric(prometheus::Registry& registry, const std::string& name,
                     const std::string& label_value = "") {
  for (const auto& fam : registry.Collect()) {
    if (fam.name != name) continue;
    for (const auto& m : fam.metric) {
      if (!label_value.empty() && (m.label.empty() || m.label[0].value != label_value)) continue;
      return fam.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
    }
  }
  return -1;
}

// What the stand-in for the workflows does with a worker's result that waits to be
// recorded (task_update::on_recorded): records it at once (the default), refuses it, or
// holds it until release().
struct recording {
  enum class mode { record, refuse, hold };
  std::mutex m;
  mode how = mode::record;
  std::vector<std::function<void(bool, std::string)>> held;

  void set(mode to) {
    std::lock_guard lock(m);
    how = to;
  }
  void on_result(const std::function<void(bool, std::string)>& done) {
    std::unique_lock lock(m);
    switch (how) {
      case mode::record:
        lock.unlock();
        return done(true, {});
      case mode::refuse:
        lock.unlock();
        return done(false, "test: the journal refused");
      case mode::hold:
        held.push_back(done);
        return;
    }
  }
  // Records the held results; the number released.
  std::size_t release() {
    std::vector<std::function<void(bool, std::string)>> out;
    {
      std::lock_guard lock(m);
      out.swap(held);
    }
    for (auto& done : out) done(true, {});
    return out.size();
  }
};

// Stands in for the workflows: answers results as `rec` says, then hands every update
// to `sink` (the test reads them there).
inline caf::behavior workflows_standin(caf::event_based_actor*, caf::actor sink,
                                       std::shared_ptr<recording> rec) {
  return {[sink, rec](task_update& u) {
    if (u.on_recorded) rec->on_result(u.on_recorded);
    caf::anon_send(sink, std::move(u));
  }};
}

class task_fixture {
 public:
  task_fixture() : sys_(cfg_), sink_(sys_) {
    standin_ = sys_.spawn(workflows_standin, caf::actor_cast<caf::actor>(sink_), results);
  }
  ~task_fixture() {
    if (dispatcher) caf::anon_send_exit(dispatcher, caf::exit_reason::user_shutdown);
    dispatcher = nullptr;  // no handle outlives the actor system
    caf::anon_send_exit(standin_, caf::exit_reason::user_shutdown);
    standin_ = nullptr;
  }

  void start(task_settings s) {
    settings = s;
    dispatcher = spawn_task_dispatcher(sys_, s, standin_, &registry, handlers, load);
  }

  void submit(std::string workflow_id, std::string task, boost::json::value input = {},
              task_priority p = task_priority::normal, std::uint32_t attempt = 1,
              std::int64_t timeout_ms = 0) {
    task_request r;
    r.workflow_id = std::move(workflow_id);
    r.step = "s";
    r.attempt = attempt;
    r.task = std::move(task);
    r.input = std::move(input);
    r.priority = p;
    r.timeout_ms = timeout_ms;
    caf::anon_send(dispatcher, std::move(r));
  }

  // The next update the dispatcher sent to the sink.
  task_update next() {
    task_update u;
    bool got = false;
    sink_->receive([&](task_update& x) { u = std::move(x), got = true; },
                   caf::after(k_wait) >> [] {});
    REQUIRE_MESSAGE(got, "no task_update within the wait");
    return u;
  }

  // The next update if one arrives within `wait`.
  std::optional<task_update> try_next(std::chrono::milliseconds wait) {
    std::optional<task_update> u;
    sink_->receive([&](task_update& x) { u = std::move(x); }, caf::after(wait) >> [] {});
    return u;
  }

  // A poll of external queue `queue` (no wait) straight to the dispatcher.
  poll_reply poll(const std::string& queue) {
    caf::scoped_actor self{sys_};
    poll_reply reply;
    bool got = false;
    self->request(dispatcher, k_wait, task_poll_atom::value, external_poll{queue, "test", 0})
        .receive([&](poll_reply& r) { reply = std::move(r), got = true; }, [](caf::error&) {});
    REQUIRE_MESSAGE(got, "no poll reply");
    return reply;
  }

  // A worker's heartbeat / complete / fail (`atom`, then its body) for `token`, straight
  // to the dispatcher: the reply's status (not_found when none came).
  template <class Atom, class... Body>
  token_reply::status answer(Atom atom, const std::string& token, Body... body) {
    caf::scoped_actor self{sys_};
    auto out = token_reply::status::not_found;
    self->request(dispatcher, k_wait, atom, token, std::move(body)...)
        .receive([&](token_reply& r) { out = r.what; }, [](caf::error&) {});
    return out;
  }

  // Completes an external task's lease.
  void complete(const std::string& token) {
    caf::scoped_actor self{sys_};
    bool got = false;
    self->request(dispatcher, k_wait, task_complete_atom::value, token,
                  external_completion{boost::json::object{}})
        .receive([&](token_reply& r) { got = r.what == token_reply::status::ok; },
                 [](caf::error&) {});
    REQUIRE_MESSAGE(got, "complete was not accepted");
  }

  // The next update that is not `started`.
  task_update next_result() {
    for (;;) {
      auto u = next();
      if (u.what != kind::started) return u;
    }
  }

  caf::actor_system& system() { return sys_; }

  task_settings settings;
  prometheus::Registry registry;
  std::shared_ptr<task_handlers> handlers = std::make_shared<task_handlers>();
  std::shared_ptr<task_load> load = std::make_shared<task_load>();
  std::shared_ptr<recording> results = std::make_shared<recording>();
  caf::actor dispatcher;

 private:
  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  caf::scoped_actor sink_;
  caf::actor standin_;
};

// The node's Beast server on 127.0.0.1, a free port, serving `routes`.
inline std::unique_ptr<api::http_server> start_local_server(api::router routes,
                                                            prometheus::Registry& registry,
                                                            api::http_limits limits = {}) {
  api::http_server_config cfg;
  cfg.interface = "127.0.0.1";
  cfg.port = 0;
  cfg.limits = limits;
  auto server = api::http_server::start(cfg, std::move(routes), registry);
  REQUIRE_MESSAGE(server, (server ? std::string() : server.error()));
  return std::move(*server);
}

// A gate a handler blocks on until the test opens it.
class gate {
 public:
  void wait() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [this] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock(m_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Registers handler `name`: blocks on `g` until the test opens it, then succeeds.
inline void register_gate(task_handlers& handlers, gate& g, const std::string& name = "gate") {
  handlers.register_handler(name, [&g](const boost::json::value&, const task_context&) {
    g.wait();
    return task_result::success();
  });
}

}  // namespace wfe::workflow::test
